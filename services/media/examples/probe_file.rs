//! Probes one file the way the prober does (range reads through the budgeted reader) and prints
//! what it found, how many bytes it read and how long it took; for the probe benchmark.
//!
//! Usage: probe_file KIND PATH [REPEAT]   (KIND: image | gif | video | audio | caption)

use std::time::Instant;

use assetd_media::{Budget, FileSource, Kind, probe_with_stats};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let kind = args
        .next()
        .and_then(|name| Kind::parse(&name.to_uppercase()))
        .ok_or("usage: probe_file KIND PATH [REPEAT]")?;
    let path = args.next().ok_or("usage: probe_file KIND PATH [REPEAT]")?;
    let repeat: u32 = args
        .next()
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(1)
        .max(1);
    let source = FileSource::open(&path)?;
    let budget = Budget::default();
    let mut best = f64::MAX;
    let mut total = 0.0;
    let mut last = None;
    for _ in 0..repeat {
        let started = Instant::now();
        let (result, stats) = probe_with_stats(&source, kind, &budget);
        let micros = started.elapsed().as_secs_f64() * 1e6;
        best = best.min(micros);
        total += micros;
        last = Some((result, stats));
    }
    let (result, stats) = last.ok_or("no run")?;
    let probed = result?;
    println!(
        "{{\"format\":\"{}\",\"width\":{},\"height\":{},\"duration\":{},\"bytes_read\":{},\"reads\":{},\"best_us\":{:.1},\"mean_us\":{:.1}}}",
        probed.format,
        probed.width.map_or("null".into(), |w| w.to_string()),
        probed.height.map_or("null".into(), |h| h.to_string()),
        probed.duration.map_or("null".into(), |d| format!("{d:.3}")),
        stats.bytes_read,
        stats.reads,
        best,
        total / f64::from(repeat)
    );
    Ok(())
}
