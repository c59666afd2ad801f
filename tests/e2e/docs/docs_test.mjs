// Drives the interactive API docs (GET /docs) in headless Chromium: authorize with an API key,
// upload tests/fixtures/hero.png through "Try it out" on POST /v1/uploads, expect 201.
//
//   node tests/e2e/docs/docs_test.mjs BASE_URL API_KEY [SCREENSHOT]
//
// Needs playwright-core (`npm install --prefix target/docs-test playwright-core@1`; found via
// NODE_PATH or that directory) and a Chromium (CHROMIUM, default /usr/bin/chromium).
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");
const [base, key, screenshot = path.join(root, "target/docs-test/docs.png")] = process.argv.slice(2);
if (!base || !key) {
  console.error("usage: docs_test.mjs BASE_URL API_KEY [SCREENSHOT]");
  process.exit(2);
}

function loadPlaywright() {
  for (const from of [path.join(root, "target/docs-test/"), here + "/"]) {
    try {
      return createRequire(from)("playwright-core");
    } catch {}
  }
  return createRequire(import.meta.url)("playwright-core");
}
const { chromium } = loadPlaywright();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  // Everything must come from assetd itself: no CDN, no validator.
  const origin = new URL(base).origin;
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:") && !url.startsWith("blob:")) {
      failures.push(`request to another origin: ${url}`);
    }
  });
  page.on("pageerror", (err) => failures.push(`page error: ${err.message}`));

  await page.goto(`${base}/docs`, { waitUntil: "networkidle" });
  await page.locator("button.authorize").first().click();

  // The modal lists both schemes; fill the x-api-key one.
  const apiKeyBox = page.locator(".auth-container").filter({ hasText: "x-api-key" });
  await apiKeyBox.locator("input").first().fill(key);
  await apiKeyBox.locator("button.authorize").click();
  await page.locator(".auth-btn-wrapper button.btn-done, button.close-modal").first().click();
  if (await page.evaluate(() => Object.keys(localStorage).some((k) => /auth/i.test(k)))) {
    failures.push("the key was persisted to localStorage");
  }

  const op = page.locator("#operations-uploads-createUpload");
  await op.locator(".opblock-summary").first().click();
  const tryOut = op.locator("button.try-out__btn");
  if ((await tryOut.count()) > 0 && /try it out/i.test(await tryOut.innerText())) {
    await tryOut.click();
  }
  await op.locator('tr[data-param-name="x-file-name"] input').fill("hero.png");
  await op.locator('input[type="file"]').setInputFiles(path.join(root, "tests/fixtures/hero.png"));
  await op.locator("button.execute").click();

  const status = op.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 20000 });
  const statusText = (await status.innerText()).trim();
  const body = await op.locator(".live-responses-table .response-col_description pre").first().innerText();
  // The request as sent and the live 201 response, in one view.
  await op.locator(".request-url").first().evaluate((el) => el.scrollIntoView({ block: "start" }));
  await page.screenshot({ path: screenshot });
  if (!statusText.startsWith("201")) failures.push(`status ${statusText}, body ${body}`);
  if (!body.includes('"probeStatus"') || !body.includes('"IMAGE"')) {
    failures.push(`unexpected body: ${body}`);
  }
  console.log(`upload from /docs: ${statusText}; screenshot: ${screenshot}`);
} catch (err) {
  failures.push(String(err && err.stack || err));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
