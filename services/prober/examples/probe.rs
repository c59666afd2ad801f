//! Probes local files and prints what was found and how much was read:
//! `cargo run -p assetd-prober --example probe -- KIND FILE...` (KIND: image, gif, video, audio,
//! caption).

use std::process::ExitCode;

use assetd_prober::{Budget, FileSource, Kind, probe_with_stats};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let kind = match args.next().as_deref() {
        Some("image") => Kind::Image,
        Some("gif") => Kind::Gif,
        Some("video") => Kind::Video,
        Some("audio") => Kind::Audio,
        Some("caption") => Kind::Caption,
        _ => {
            eprintln!("usage: probe image|gif|video|audio|caption FILE...");
            return ExitCode::FAILURE;
        }
    };
    let mut status = ExitCode::SUCCESS;
    for path in args {
        let source = match FileSource::open(&path) {
            Ok(source) => source,
            Err(err) => {
                eprintln!("{path}: {err}");
                status = ExitCode::FAILURE;
                continue;
            }
        };
        let (result, stats) = probe_with_stats(&source, kind, &Budget::default());
        println!(
            "{path}: {result:?} (read {} bytes in {} reads, {:?})",
            stats.bytes_read, stats.reads, stats.elapsed
        );
        if result.is_err() {
            status = ExitCode::FAILURE;
        }
    }
    status
}
