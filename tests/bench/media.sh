#!/usr/bin/env bash
# The image header benchmark: our image parsers (services/media/src/image) against the `image`
# crate's header-only `into_dimensions()`, on the media corpus's image fixtures and a few large
# synthetic files: median time per call (paired, alternating, per repetition), bytes read, the
# sizes both find, cut files, and the JPEG EXIF orientation from a bounded prefix. Runs
# services/media/examples/image_vs_ours.rs and writes tests/bench/media-RESULTS.md.
# Knobs: IMAGE_BENCH_REPS (201).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=tests/bench/media-RESULTS.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo run --release --locked -q -p assetd-media --example image_vs_ours -- --json > "$work/out.json"
image_version=$(sed -n '/^name = "image"$/{n;s/^version = "\(.*\)"$/\1/p}' Cargo.lock)

python3 - "$out" "$work/out.json" "$image_version" "$(git rev-parse --short HEAD)" "$(nproc)" "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import datetime, json, statistics, sys
out, path, version, commit, nproc, cpu, load = sys.argv[1:]
doc = json.load(open(path))
cases = doc["cases"]
order = ["png", "jpeg", "gif", "webp", "bmp", "tiff", "avif", "heic"]

def us(x):
    return "—" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.0f}")

def kib(n):
    return "—" if n is None else (f"{n}" if n < 10240 else f"{n / 1024:.0f} KiB")

def wh(v):
    return "—" if not v else f"{v[0]}×{v[1]}"

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None

def ratio_cell(r):
    if not r:
        return "—"
    return f"**{r['median']:.2f}** ({r['min']:.2f}–{r['max']:.2f})"

def verdict(group):
    """Whether `image` could take a format over, judged on all its files: faster through our
    reader, no more bytes through it, the displayed size, the duration, a cut file rejected."""
    if any(c["image"] is None for c in group):
        return "no header reader in `image`"
    reasons = []
    if any((c["ratio_via_reader"] or {}).get("median", 0) < 1 for c in group):
        reasons.append("slower through our reader")
    if any((c["image"]["budgeted_bytes"] or 0) > (c["ours"]["bytes"] or 0) for c in group):
        reasons.append("reads more")
    if any(c["image"]["size"] != c["image"]["displayed"] for c in group):
        reasons.append("stored size only")
    if any(c["ours"]["duration"] is not None for c in group):
        reasons.append("no duration")
    if any("size" in (c["first_half"]["image"] or {}) for c in group):
        reasons.append("accepts a cut file")
    return "no: " + ", ".join(reasons) if reasons else "**yes**"

def per_format(big):
    rows = []
    for fmt in order:
        group = [c for c in cases if c["format"] == fmt and bool(c["synthetic"]) == big]
        if not group:
            continue
        ours_b = [c["ours"]["bytes"] for c in group]
        img = [c["image"] for c in group if c["image"]]
        ratios = [c["ratio"] for c in group if c["ratio"]]
        rr = None
        if ratios:
            rr = {"median": med([r["median"] for r in ratios]),
                  "min": min(r["min"] for r in ratios), "max": max(r["max"] for r in ratios)}
        via = med([c["image_via_reader_us"] for c in group])
        via_ratio = med([(c["ratio_via_reader"] or {}).get("median") for c in group])
        rows.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            fmt, len(group), us(med([c["ours"]["us"] for c in group])),
            us(med([c["image_us"] for c in group])), ratio_cell(rr),
            "—" if via is None else f"{us(via)} ({via_ratio:.2f})",
            " / ".join(kib(b) for b in ours_b),
            " / ".join(kib(i["bytes"]) for i in img) or "—",
            " / ".join(kib(i["budgeted_bytes"]) for i in img) or "—",
            verdict([c for c in cases if c["format"] == fmt])))
    return "\n".join(rows)

header = ("| format | files | ours µs | image µs | ratio ours / image, median (min–max per rep) "
          "| image via our reader µs (ratio ours / it) | bytes ours | bytes image (stream) | bytes image via our reader | could `image` take it over? |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")

files = []
for c in cases:
    img = c["image"]
    files.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
        c["file"], kib(c["size"]), c["reps"], us(c["ours"]["us"]), us(c["image_us"]),
        ratio_cell(c["ratio"]), us(c["image_orientation_us"]), us(c["image_via_reader_us"]),
        kib(c["ours"]["bytes"]), kib(img["bytes"]) if img else "—",
        kib(img["budgeted_bytes"]) if img else "—",
        "{} / {}".format(wh(c["ours"]["size"]),
                         f"{wh(img['size'])} → {wh(img['displayed'])}" if img else "—")))

cut = []
for c in cases:
    def show(r):
        if r is None:
            return "—"
        return f"accepted, {wh(r['size'])}" if "size" in r else "rejected: " + r["error"].strip().replace("|", "/")[:90]
    cut.append(f"| {c['file']} | {show(c['first_half']['ours'])} | {show(c['first_half']['image'])} |")

orient = []
for o in doc["jpeg_orientation"]:
    for p in o["prefixes"]:
        def side(r):
            if "error" in r:
                return "error: " + r["error"].strip().replace("|", "/")[:80]
            return f"{wh(r['displayed'])}" + (f", {r['orientation']}" if "orientation" in r else "")
        orient.append(f"| {o['file']} | {p['cut']} ({kib(p['len'])}) | {side(p['image'])} | {side(p['ours'])} |")
    b = o["image_through_our_reader_256k"]
    orient.append(f"| {o['file']} | `image` through our reader, 256 KiB budget | {side(b)} (fetched {kib(b['bytes'])}) | |")

mismatches = "\n".join(f"- {m['file']}: {m['problem']}" for m in doc["mismatches"]) or "None: every size `image` finds, once its orientation is applied, is ours, and ours is the expected one."
stored = "\n".join(f"- {m['file']}: {m['note']}" for m in doc["stored_not_displayed"]) or "None."

text = f"""# assetd image header benchmark — results

Produced by `tests/bench/media.sh` (overwritten by each run): `bash tests/bench/media.sh`
(`IMAGE_BENCH_REPS`, default 201). Release build, one run, a machine shared with other work: read
the ratios and their spread, not the last digit.

| fact | value |
| --- | --- |
| date | {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC |
| git commit | {commit} |
| machine | {nproc} cores, {cpu}; load average at the end {load} |
| `image` | {version}, `default-features = false`, features png, jpeg, gif, webp, bmp, tiff (a dev-dependency of assetd-media only) |
| repetitions | up to {doc['reps']} per file (fewer past 4 s for one file), each side a batch of about 100 µs |

What runs (services/media/examples/image_vs_ours.rs): **ours** is the format's parser
(`assetd_media::image::*::probe`) over a fresh budgeted `Reader` on the bytes in memory: size,
EXIF orientation, GIF / animated WebP duration and the completeness check (JPEG's EOI and PNG's IEND
in the tail, every byte a header promises inside the object); its bytes are the reader's 64 KiB
chunk fetches, as from storage. **image** is `ImageReader::with_format(..).into_dimensions()` over
a `Cursor<&[u8]>` (its fastest input; never `decode()`); its stream bytes are what it pulls through
an 8 KiB `BufReader` from a counting `Read + Seek`. **image + orientation** adds `into_decoder()` and
`orientation()`, needed for the displayed size. **image via our reader** is `into_dimensions()` over
a `BufReader` on our budgeted `Reader`: how the prober would have to run it, with its fetches counted
in the same chunks as ours. In each repetition every side times one batch, in an order that turns
from one repetition to the next; the ratio is ours / image per repetition.

## 1. Per format: the corpus fixtures (tests/fixtures/media, a few hundred bytes each)

Times are the median over the format's files of each file's median per call; bytes are per file.
The last column is judged on all the format's files (this table and the next): `image` could take
a format over only if, through our reader, it is faster and reads no more, and it gives what the
probe gives (the displayed size, the duration) and rejects a cut file (section 4).

{header}
{per_format(False)}

## 2. Per format: large synthetic files (2000 × 1500 noise, made by the example with `image`'s encoders)

`large-photo.jpg`: EXIF orientation 6, then a multi-MiB scan; `large-app-segments.jpg`: the same
behind a 64 KiB EXIF APP1 and 15 × 64 KiB ICC APP2 segments (about 1 MiB before the frame header);
PNG, BMP, TIFF, WebP (lossless): one still; GIF: 1000 × 750, one frame.

{header}
{per_format(True)}

## 3. Every file

Sizes: ours (displayed) / `image`'s `into_dimensions()` → with its `orientation()` applied.

| file | size | reps | ours µs | image µs | ratio ours / image (min–max) | image + orientation µs | image via our reader µs | bytes ours | bytes image (stream) | bytes image via our reader | sizes |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
{chr(10).join(files)}

Size mismatches:
{mismatches}

Where `into_dimensions()` alone differs from the displayed size (it ignores orientation):
{stored}

## 4. The first half of each file (a cut upload, which the probe must reject)

| file | ours | image `into_dimensions()` |
| --- | --- | --- |
{chr(10).join(cut)}

## 5. JPEG EXIF orientation from a bounded prefix

`image` (`into_decoder()` + `orientation()`) and ours (`jpeg::probe`) on the whole file and on
prefixes of it; then `image` through our budgeted reader with a 256 KiB budget. `image`'s JPEG
decoder reads its whole input (`read_to_end`) before parsing the headers, so it is bounded only by
handing it a prefix; ours reads ranges (the headers, then the tail for EOI) and rejects a prefix as
truncated by design.

| file | input | image | ours |
| --- | --- | --- | --- |
{chr(10).join(orient)}
"""
open(out, "w").write(text)
print(text)
PY
