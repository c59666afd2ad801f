//! The gateway's settings: its HTTP address, its public URL and the per-kind upload limits.

use std::net::SocketAddr;

use assetd_proto::catalog::v1::AssetKind;

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
    pub fn for_kind(&self, kind: AssetKind) -> (u64, &'static str) {
        match kind {
            AssetKind::Image | AssetKind::Gif => (self.image_max_bytes, "images"),
            AssetKind::Video => (self.video_max_bytes, "videos"),
            AssetKind::Audio => (self.audio_max_bytes, "audio files"),
            AssetKind::Caption => (self.caption_max_bytes, "captions"),
            AssetKind::Unspecified => (self.largest(), "any upload"),
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
