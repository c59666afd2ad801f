//! `assetd upload PATH...`: the command line client of the HTTP API's uploads: its flags, the
//! run over every file (a few at once) and the exit status.

mod api;
mod files;
mod report;
mod retry;

use std::{path::Path, process::ExitCode, str::FromStr, time::Duration};

use assetd_platform::secret::Secret;
use assetd_proto::ids::ProjectId;
use futures::StreamExt as _;
use reqwest::Url;

use api::{Api, Job};
use report::{Failure, Outcome, ProgressMode, Reporter};

/// Every file was uploaded (and, with `--wait`, probed).
const EXIT_OK: u8 = 0;
/// At least one file failed; the others were uploaded.
const EXIT_SOME_FAILED: u8 = 1;
/// Bad flags, no file matched, no key or URL: nothing was sent.
const EXIT_USAGE: u8 = 2;

const AFTER_HELP: &str = "\
Progress goes to standard error: a bar per file and a total bar on a terminal, else a line per
file at each quarter (\"hero.png 50% 1.20 MiB/2.40 MiB\"). Results go to standard output: one
line per file (\"ok hero.png 3.77 KiB asset=<id>\", \"failed doc.pdf <errorCode> (422): <detail>\"),
or with --json one JSON object per file.

429 and 5xx answers and lost connections are retried after Retry-After (else 1 s, doubling),
up to --max-attempts. Files of --resumable-threshold or more go through the server's tus 1.0
endpoint in --chunk-size PATCH requests, resumed from the server's offset after a cut.

Exit status: 0 every file uploaded; 1 some file failed; 2 usage error (bad flags, no file
matched, no API key or URL), nothing sent.

Examples:
  export ASSETD_URL=http://127.0.0.1:8080 ASSETD_API_KEY=...
  assetd upload hero.png 'shots/**/*.jpg' --project 6f9619ff-8b86-d011-b42d-00c04fc964ff
  assetd upload --wait --json clips/*.mp4 | jq -r '.assetId'";

/// Uploads files through the HTTP API (`POST /v1/uploads`, tus 1.0 for large ones).
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct UploadArgs {
    /// Files to upload. Glob patterns (`*`, `?`, `[..]`, `**`) are expanded here too, so quoted
    /// patterns work; a path or pattern that names no file is a usage error.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<String>,
    /// The API key (sent as `x-api-key`).
    #[arg(long, env = "ASSETD_API_KEY", hide_env_values = true)]
    api_key: Option<Secret>,
    /// The HTTP API's base URL, e.g. `http://127.0.0.1:8080`.
    #[arg(long, env = "ASSETD_URL")]
    url: Option<String>,
    /// Binds every uploaded asset to this project (its id).
    #[arg(long, value_name = "PROJECT_ID")]
    project: Option<String>,
    /// Files uploaded at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// One JSON object per file on standard output instead of a line.
    #[arg(long)]
    json: bool,
    /// After each upload, wait until the asset is probed and show width, height, duration; a
    /// failed probe fails the file.
    #[arg(long)]
    wait: bool,
    /// With --wait, how long to wait for one file's probe.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    wait_timeout_secs: u64,
    /// Files of this size or more are sent as resumable (tus 1.0) uploads (bytes; KiB, MiB,
    /// GiB suffixes allowed).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    resumable_threshold: u64,
    /// Bytes per PATCH of a resumable upload.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = parse_size)]
    chunk_size: u64,
    /// Attempts of one request (and of a resumable upload without progress) before the file fails.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    max_attempts: u32,
    /// No progress on standard error (results still go to standard output).
    #[arg(long, short)]
    quiet: bool,
}

/// `1048576`, `64MiB`, `512 KiB`, `2GiB` (binary units; `K`, `M`, `G`, `KB`, `MB`, `GB` alike).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 65536, 64MiB)"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} (KiB, MiB, GiB)")),
    };
    let size = number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if size == 0 {
        return Err("must be more than 0".into());
    }
    Ok(size)
}

fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}\n\nFor more information, try 'assetd upload --help'.");
    ExitCode::from(EXIT_USAGE)
}

/// The base URL, with a trailing `/` so that joining `v1/uploads` keeps any path prefix.
fn base_url(text: &str) -> Result<Url, String> {
    let mut url = Url::parse(text.trim()).map_err(|err| format!("--url {text:?}: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("--url {text:?}: not an http or https URL"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

pub async fn run(args: UploadArgs) -> ExitCode {
    let Some(key) = args
        .api_key
        .as_ref()
        .filter(|k| !k.expose().trim().is_empty())
    else {
        return usage("no API key: pass --api-key or set ASSETD_API_KEY");
    };
    let Some(url) = args.url.as_deref().filter(|u| !u.trim().is_empty()) else {
        return usage("no server: pass --url or set ASSETD_URL (e.g. http://127.0.0.1:8080)");
    };
    let base = match base_url(url) {
        Ok(base) => base,
        Err(err) => return usage(&err),
    };
    let project = match args.project.as_deref().map(ProjectId::from_str) {
        None => None,
        Some(Ok(project)) => Some(project.to_string()),
        Some(Err(_)) => return usage("--project: not a project id (a UUID)"),
    };
    let listed = match files::list(&args.paths) {
        Ok(listed) => listed,
        Err(err) => return usage(&err.to_string()),
    };
    let api = match Api::new(
        base,
        key.expose().trim(),
        project,
        args.max_attempts,
        args.chunk_size,
    ) {
        Ok(api) => api,
        Err(err) => return usage(&format!("--api-key: {err}")),
    };
    let total_bytes = listed.iter().map(|f| f.size).sum();
    let reporter = Reporter::new(
        ProgressMode::detect(args.quiet),
        args.json,
        listed.len(),
        total_bytes,
    );
    let outcomes: Vec<Outcome> = futures::stream::iter(listed)
        .map(|file| upload_one(&api, &reporter, &args, file))
        .buffer_unordered(usize::from(args.concurrency))
        .collect()
        .await;
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Failed(_)))
        .count();
    let bytes = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Uploaded { asset, .. } => asset["size"].as_u64(),
            Outcome::Failed(_) => None,
        })
        .sum();
    reporter.done(outcomes.len() - failed, failed, bytes);
    ExitCode::from(if failed == 0 {
        EXIT_OK
    } else {
        EXIT_SOME_FAILED
    })
}

/// The name the asset gets: the file's own name, without its directories.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

async fn upload_one(
    api: &Api,
    reporter: &Reporter,
    args: &UploadArgs,
    file: files::Listed,
) -> Outcome {
    let display = file.path.display().to_string();
    let name = file_name(&file.path);
    // The size now, not when listed: the file may have changed since.
    let size = match tokio::fs::metadata(&file.path).await {
        Ok(meta) => meta.len(),
        Err(err) => {
            let progress = reporter.start(&display, file.size);
            let outcome = Outcome::Failed(Failure::client(
                api::codes::FILE_UNREADABLE,
                format!("cannot read {display}: {err}"),
            ));
            reporter.finish(progress, &outcome);
            return outcome;
        }
    };
    let progress = reporter.start(&display, size);
    let job = Job {
        path: &file.path,
        display: &display,
        file_name: &name,
        size,
        progress: &progress,
        reporter,
    };
    let resumable = size >= args.resumable_threshold;
    let uploaded = if resumable {
        api.upload_resumable(&job).await
    } else {
        api.upload_single(&job).await
    };
    let result = match uploaded {
        Ok(asset) if args.wait => {
            progress.set_message("probing");
            api.wait_probed(&job, asset, Duration::from_secs(args.wait_timeout_secs))
                .await
        }
        other => other,
    };
    let outcome = match result {
        Ok(asset) => Outcome::Uploaded { asset, resumable },
        Err(failure) => Outcome::Failed(failure),
    };
    reporter.finish(progress, &outcome);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }

    #[test]
    fn base_urls_keep_their_prefix() {
        let base = base_url("http://h:8080").expect("url");
        assert_eq!(
            base.join("v1/uploads").expect("join").as_str(),
            "http://h:8080/v1/uploads"
        );
        let base = base_url("https://h/api").expect("url");
        assert_eq!(
            base.join("v1/uploads").expect("join").as_str(),
            "https://h/api/v1/uploads"
        );
        assert!(base_url("ftp://h").is_err());
        assert!(base_url("not a url").is_err());
    }
}
