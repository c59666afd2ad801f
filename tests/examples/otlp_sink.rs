//! An OTLP/gRPC trace sink for benchmarks: prints `endpoint http://127.0.0.1:PORT` on standard
//! output, accepts every export, and on SIGTERM or SIGINT prints `spans N` and exits.

use assetd_tests::otlp::Collector;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let (collector, args) = Collector::start();
    println!("endpoint {}", args[1]);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    println!("spans {}", collector.len());
    Ok(())
}
