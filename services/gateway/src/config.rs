//! The gateway's settings: its HTTP address, its public URL, the per-kind upload limits and the
//! edge's defences (timeouts, connection, upload and request-rate caps).

use std::{net::SocketAddr, time::Duration};

use assetd_media::Kind;

const MIB: u64 = 1024 * 1024;

#[derive(clap::Args, Clone, Debug)]
pub struct GatewayConfig {
    /// Address of the HTTP API; port 0 picks a free port.
    #[arg(long, env = "ASSETD_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// Address of the gateway's gRPC server (streaming uploads for internal callers); port 0
    /// picks a free port.
    #[arg(
        long,
        env = "ASSETD_GATEWAY_GRPC_ADDR",
        default_value = "127.0.0.1:50052"
    )]
    pub gateway_grpc_addr: SocketAddr,
    /// Base URL clients reach this gateway at, used in `fileUrl` when the gateway serves objects
    /// (filesystem storage). Defaults to `http://` plus the bound HTTP address.
    #[arg(long, env = "ASSETD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// After SIGTERM, how long in-flight uploads may keep streaming before they are cut (and
    /// cleaned up), in seconds.
    #[arg(long, env = "ASSETD_SHUTDOWN_GRACE_SECS", default_value_t = 60)]
    pub shutdown_grace_secs: u64,
    #[command(flatten)]
    pub limits: UploadLimits,
    #[command(flatten)]
    pub edge: EdgeLimits,
    #[command(flatten)]
    pub admission: Admission,
    #[command(flatten)]
    pub resumable: crate::resumable::ResumableConfig,
}

fn secs(text: &str) -> Result<Duration, String> {
    let secs: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of seconds"))?;
    if secs == 0 {
        return Err("must be at least 1 second".to_owned());
    }
    Ok(Duration::from_secs(secs))
}

/// What one HTTP connection may cost: the timeouts before and between requests, how many
/// connections are open at once, and HTTP/1 and HTTP/2 header and stream limits.
#[derive(clap::Args, Clone, Debug)]
pub struct EdgeLimits {
    /// Seconds a client has to send a request's headers, counted from the connection's opening
    /// or from the first byte of a request on a kept-alive connection; then it is closed.
    #[arg(long = "http-header-timeout-secs", env = "ASSETD_HTTP_HEADER_TIMEOUT_SECS", default_value = "20", value_parser = secs)]
    pub header_timeout: Duration,
    /// Seconds a kept-alive connection may wait for its next request; then it is closed. Longer
    /// than the usual load balancer idle timeout (60 s), so the balancer closes first.
    #[arg(long = "http-idle-timeout-secs", env = "ASSETD_HTTP_IDLE_TIMEOUT_SECS", default_value = "75", value_parser = secs)]
    pub idle_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog until one closes.
    #[arg(
        long = "http-max-connections",
        env = "ASSETD_HTTP_MAX_CONNECTIONS",
        default_value_t = 4096
    )]
    pub max_connections: usize,
    /// Most header fields in one HTTP/1 request (431 beyond).
    #[arg(
        long = "http-max-headers",
        env = "ASSETD_HTTP_MAX_HEADERS",
        default_value_t = 100
    )]
    pub max_headers: usize,
    /// Largest HTTP/2 header list, in bytes.
    #[arg(long = "http2-max-header-bytes", env = "ASSETD_HTTP2_MAX_HEADER_BYTES", default_value_t = 32 * 1024)]
    pub max_header_bytes: u32,
    /// Concurrent streams one HTTP/2 connection may open.
    #[arg(
        long = "http2-max-streams",
        env = "ASSETD_HTTP2_MAX_STREAMS",
        default_value_t = 100
    )]
    pub http2_max_streams: u32,
}

impl Default for EdgeLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(75),
            max_connections: 4096,
            max_headers: 100,
            max_header_bytes: 32 * 1024,
            http2_max_streams: 100,
        }
    }
}

/// Which requests and uploads are let in: per-key request rates, uploads at once per process
/// and per account, and how long an upload body may go without a byte.
#[derive(clap::Args, Clone, Debug)]
pub struct Admission {
    /// Requests per second one API key may make, sustained (429 `OPEN_API_REQUEST_LIMIT_EXCEEDED`
    /// beyond). Counted per gateway process.
    #[arg(
        long = "rate-limit-per-second",
        env = "ASSETD_RATE_LIMIT_PER_SECOND",
        default_value_t = 50
    )]
    pub rate_per_second: u32,
    /// Requests one API key may make at once above the sustained rate.
    #[arg(
        long = "rate-limit-burst",
        env = "ASSETD_RATE_LIMIT_BURST",
        default_value_t = 100
    )]
    pub rate_burst: u32,
    /// Uploads this process streams at once (503 with `Retry-After` beyond, before the body is read).
    #[arg(
        long = "max-concurrent-uploads",
        env = "ASSETD_MAX_CONCURRENT_UPLOADS",
        default_value_t = 256
    )]
    pub max_uploads: usize,
    /// Uploads one account streams at once through this process (429 with `Retry-After` beyond).
    #[arg(
        long = "max-concurrent-uploads-per-account",
        env = "ASSETD_MAX_CONCURRENT_UPLOADS_PER_ACCOUNT",
        default_value_t = 32
    )]
    pub max_uploads_per_account: usize,
    /// Seconds an upload body may go without a byte before it is cut (408 `UPLOAD_STALLED`) and
    /// discarded. A slow client that keeps sending is never cut.
    #[arg(long = "upload-idle-timeout-secs", env = "ASSETD_UPLOAD_IDLE_TIMEOUT_SECS", default_value = "60", value_parser = secs)]
    pub upload_idle_timeout: Duration,
}

/// Largest accepted upload per kind, in bytes.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct UploadLimits {
    /// Largest image (including GIF) upload, in bytes.
    #[arg(long, env = "ASSETD_LIMIT_IMAGE_BYTES", default_value_t = 50 * MIB)]
    pub image_max_bytes: u64,
    /// Largest video upload, in bytes.
    #[arg(long, env = "ASSETD_LIMIT_VIDEO_BYTES", default_value_t = 800 * MIB)]
    pub video_max_bytes: u64,
    /// Largest audio upload, in bytes.
    #[arg(long, env = "ASSETD_LIMIT_AUDIO_BYTES", default_value_t = 25 * MIB)]
    pub audio_max_bytes: u64,
    /// Largest caption upload, in bytes.
    #[arg(long, env = "ASSETD_LIMIT_CAPTION_BYTES", default_value_t = 10 * MIB)]
    pub caption_max_bytes: u64,
}

impl UploadLimits {
    /// The limit for a kind, with the words the error message uses for it.
    pub fn for_kind(&self, kind: Kind) -> (u64, &'static str) {
        match kind {
            Kind::Image | Kind::Gif => (self.image_max_bytes, "images"),
            Kind::Video => (self.video_max_bytes, "videos"),
            Kind::Audio => (self.audio_max_bytes, "audio files"),
            Kind::Caption => (self.caption_max_bytes, "captions"),
        }
    }

    /// The largest limit of any kind: a declared length above it is refused before reading.
    pub fn largest(&self) -> u64 {
        self.image_max_bytes
            .max(self.video_max_bytes)
            .max(self.audio_max_bytes)
            .max(self.caption_max_bytes)
    }
}
