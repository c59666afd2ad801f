//! Logging set-up, done once in `main`: JSON lines for machines, a pretty format for terminals.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Pretty when standard error is a terminal, JSON otherwise.
    Auto,
    Json,
    Pretty,
}

#[derive(clap::Args, Clone, Debug)]
pub struct TelemetryConfig {
    /// Log line format.
    #[arg(
        long,
        env = "ASSETD_LOG_FORMAT",
        value_enum,
        default_value = "auto",
        global = true
    )]
    pub log_format: LogFormat,
    /// Log filter in `RUST_LOG` syntax, e.g. `info,assetd_gateway=debug`.
    #[arg(long, env = "ASSETD_LOG", default_value = "info", global = true)]
    pub log: String,
}

/// Installs the global subscriber; logs go to standard error so standard output stays for command results.
pub fn init(config: &TelemetryConfig) {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|err| {
        eprintln!(
            "invalid log filter {:?} ({err}); using \"info\"",
            config.log
        );
        EnvFilter::new("info")
    });
    let json = match config.log_format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .init();
    } else {
        registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .init();
    }
}
