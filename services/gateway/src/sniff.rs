//! Decides an upload's kind and real media type from its first bytes, before anything is stored.

use assetd_proto::catalog::v1::AssetKind;

/// How many leading bytes the sniffer wants; fewer only when the whole file is shorter.
pub const SNIFF_LEN: usize = 8 * 1024;

/// An accepted format: the kind it counts as, its media type and the extension of its storage key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub kind: AssetKind,
    pub mime: &'static str,
    pub ext: &'static str,
}

const fn format(kind: AssetKind, mime: &'static str, ext: &'static str) -> Format {
    Format { kind, mime, ext }
}

/// Every accepted format, keyed by the media type the magic-number matcher reports.
const ACCEPTED: &[(&str, Format)] = &[
    ("image/png", format(AssetKind::Image, "image/png", "png")),
    ("image/jpeg", format(AssetKind::Image, "image/jpeg", "jpg")),
    ("image/gif", format(AssetKind::Gif, "image/gif", "gif")),
    ("image/webp", format(AssetKind::Image, "image/webp", "webp")),
    ("image/bmp", format(AssetKind::Image, "image/bmp", "bmp")),
    ("image/tiff", format(AssetKind::Image, "image/tiff", "tiff")),
    ("image/avif", format(AssetKind::Image, "image/avif", "avif")),
    ("image/heif", format(AssetKind::Image, "image/heif", "heic")),
    ("video/mp4", format(AssetKind::Video, "video/mp4", "mp4")),
    (
        "video/x-m4v",
        format(AssetKind::Video, "video/x-m4v", "m4v"),
    ),
    (
        "video/quicktime",
        format(AssetKind::Video, "video/quicktime", "mov"),
    ),
    (
        "video/x-matroska",
        format(AssetKind::Video, "video/x-matroska", "mkv"),
    ),
    ("video/webm", format(AssetKind::Video, "video/webm", "webm")),
    ("audio/mpeg", format(AssetKind::Audio, "audio/mpeg", "mp3")),
    ("audio/m4a", format(AssetKind::Audio, "audio/mp4", "m4a")),
    ("audio/aac", format(AssetKind::Audio, "audio/aac", "aac")),
    (
        "audio/x-flac",
        format(AssetKind::Audio, "audio/flac", "flac"),
    ),
    ("audio/ogg", format(AssetKind::Audio, "audio/ogg", "ogg")),
    ("audio/opus", format(AssetKind::Audio, "audio/ogg", "opus")),
    ("audio/x-wav", format(AssetKind::Audio, "audio/wav", "wav")),
];

const SRT: Format = format(AssetKind::Caption, "application/x-subrip", "srt");
const ASS: Format = format(AssetKind::Caption, "text/x-ssa", "ass");
const LRC: Format = format(AssetKind::Caption, "text/x-lrc", "lrc");

/// What the first bytes say, or `None` for a format assetd does not accept.
pub fn sniff(prefix: &[u8]) -> Option<Format> {
    if let Some(found) = infer::get(prefix) {
        return ACCEPTED
            .iter()
            .find(|(mime, _)| *mime == found.mime_type())
            .map(|(_, format)| *format);
    }
    caption(prefix)
}

/// The format a storage key's extension stands for, to label objects served back.
pub fn format_for_ext(ext: &str) -> Option<Format> {
    ACCEPTED
        .iter()
        .map(|(_, format)| *format)
        .chain([SRT, ASS, LRC])
        .find(|format| format.ext == ext)
}

/// Captions have no magic number: they are UTF-8 text whose first lines follow SRT, ASS or LRC;
/// the prober's detector (the same one that later confirms them) decides.
fn caption(prefix: &[u8]) -> Option<Format> {
    match assetd_prober::caption::detect(prefix)? {
        "srt" => Some(SRT),
        "ass" => Some(ASS),
        "lrc" => Some(LRC),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_by_magic() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png).map(|f| f.kind), Some(AssetKind::Image));
        assert_eq!(
            sniff(b"GIF89a\x01\0\x01\0").map(|f| f.kind),
            Some(AssetKind::Gif)
        );
    }

    #[test]
    fn captions_by_shape() {
        let srt = "1\n00:00:01,000 --> 00:00:02,500\nHello\n";
        assert_eq!(sniff(srt.as_bytes()), Some(SRT));
        let srt_bom = "\u{feff}1\r\n00:00:01,000 --> 00:00:02,500 X1:0\r\nHello\r\n";
        assert_eq!(sniff(srt_bom.as_bytes()), Some(SRT));
        assert_eq!(sniff(b"[Script Info]\nTitle: x\n"), Some(ASS));
        assert_eq!(sniff(b"[ti:Song]\n[00:12.00]Line\n"), Some(LRC));
        assert_eq!(sniff(b"[00:12.00]Line\n"), Some(LRC));
    }

    #[test]
    fn refuses_json_documents_and_text() {
        assert_eq!(sniff(br#"{"v":"5.7.4","fr":30,"layers":[]}"#), None);
        assert_eq!(sniff(b"%PDF-1.7\n"), None);
        assert_eq!(sniff(b"glTF\x02\0\0\0"), None);
        assert_eq!(sniff(b"hello world"), None);
        assert_eq!(sniff(b"\xff\xfe\x00garbage"), None);
    }

    #[test]
    fn tolerates_a_cut_multibyte_character() {
        let mut srt = "1\n00:00:01,000 --> 00:00:02,500\nCaf\u{e9}"
            .as_bytes()
            .to_vec();
        srt.pop();
        assert_eq!(sniff(&srt), Some(SRT));
    }

    #[test]
    fn every_extension_maps_back() {
        for (_, format) in ACCEPTED {
            assert_eq!(format_for_ext(format.ext), Some(*format));
        }
    }
}
