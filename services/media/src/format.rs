//! The format table: every format assetd accepts, with the asset kind an upload of it becomes, its
//! media type, its storage key's extension and the parser that probes it; and the sniffer that
//! finds a file's row from its first bytes (after any ID3v2 tag). The gateway sniffs uploads with
//! it and the prober probes with it, so the two can never disagree about a file.

use crate::audio::{self, mp3};
use crate::bin::{be32, sub};
use crate::budget::Budget;
use crate::caption;
use crate::error::ProbeError;
use crate::kind::Kind;
use crate::probe::Probed;
use crate::reader::Reader;
use crate::source::Source;
use crate::{container, image};

/// How many leading bytes the sniffer needs at most: the gateway holds this much of an upload
/// back before it decides (fewer only when the whole file is shorter). Magic numbers sit in the
/// first 64 bytes; captions are recognised from their first lines of text, which need more.
pub const SNIFF_LEN: usize = 8 * 1024;

/// Bytes the magic-number matchers look at.
const MAGIC_LEN: u64 = 64;

/// Probes a file of this format as an asset of the given kind.
type Parser = fn(&mut Reader<'_>, Kind) -> Result<Probed, ProbeError>;

/// One accepted format.
#[derive(Clone, Copy)]
pub struct Format {
    /// Short name: the probe's metric label and the prefix of its error messages (`mp4: truncated: …`).
    pub name: &'static str,
    /// The kind an upload of this format becomes.
    pub kind: Kind,
    /// The media type the file is stored and served with.
    pub mime: &'static str,
    /// The extension of its storage key (unique per row: it labels objects served back).
    pub ext: &'static str,
    /// The asset kinds a file of this format may be probed as (a container holds video or audio).
    fits: &'static [Kind],
    parser: Parser,
}

impl Format {
    /// Whether an asset of `kind` may hold this format.
    pub fn fits(&self, kind: Kind) -> bool {
        self.fits.contains(&kind)
    }

    /// Runs this format's parser.
    pub(crate) fn parse(&self, reader: &mut Reader<'_>, kind: Kind) -> Result<Probed, ProbeError> {
        (self.parser)(reader, kind)
    }
}

impl std::fmt::Debug for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Format")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("mime", &self.mime)
            .field("ext", &self.ext)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Format {
    fn eq(&self, other: &Self) -> bool {
        self.ext == other.ext
    }
}

impl Eq for Format {}

const STILL: &[Kind] = &[Kind::Image, Kind::Gif];
const MOVING: &[Kind] = &[Kind::Video, Kind::Audio];
const AUDIO: &[Kind] = &[Kind::Audio];
const CAPTION: &[Kind] = &[Kind::Caption];

const fn row(
    name: &'static str,
    kind: Kind,
    mime: &'static str,
    ext: &'static str,
    fits: &'static [Kind],
    parser: Parser,
) -> Format {
    Format {
        name,
        kind,
        mime,
        ext,
        fits,
        parser,
    }
}

pub const PNG: Format = row("png", Kind::Image, "image/png", "png", STILL, |r, _| {
    image::png::probe(r)
});
pub const JPEG: Format = row("jpeg", Kind::Image, "image/jpeg", "jpg", STILL, |r, _| {
    image::jpeg::probe(r)
});
pub const GIF: Format = row("gif", Kind::Gif, "image/gif", "gif", STILL, |r, _| {
    image::gif::probe(r)
});
pub const WEBP: Format = row("webp", Kind::Image, "image/webp", "webp", STILL, |r, _| {
    image::webp::probe(r)
});
pub const BMP: Format = row("bmp", Kind::Image, "image/bmp", "bmp", STILL, |r, _| {
    image::bmp::probe(r)
});
pub const TIFF: Format = row("tiff", Kind::Image, "image/tiff", "tiff", STILL, |r, _| {
    image::tiff::probe(r)
});
pub const AVIF: Format = row("avif", Kind::Image, "image/avif", "avif", STILL, |r, _| {
    image::heif::probe(r, "avif")
});
pub const HEIC: Format = row("heic", Kind::Image, "image/heif", "heic", STILL, |r, _| {
    image::heif::probe(r, "heic")
});
pub const MP4: Format = row("mp4", Kind::Video, "video/mp4", "mp4", MOVING, |r, k| {
    container::mp4::probe(r, "mp4", k == Kind::Video)
});
pub const M4V: Format = row("m4v", Kind::Video, "video/x-m4v", "m4v", MOVING, |r, k| {
    container::mp4::probe(r, "m4v", k == Kind::Video)
});
pub const MOV: Format = row(
    "mov",
    Kind::Video,
    "video/quicktime",
    "mov",
    MOVING,
    |r, k| container::mp4::probe(r, "mov", k == Kind::Video),
);
pub const M4A: Format = row("m4a", Kind::Audio, "audio/mp4", "m4a", MOVING, |r, k| {
    container::mp4::probe(r, "m4a", k == Kind::Video)
});
pub const MKV: Format = row(
    "matroska",
    Kind::Video,
    "video/x-matroska",
    "mkv",
    MOVING,
    |r, k| container::matroska::probe(r, k == Kind::Video),
);
pub const WEBM: Format = row("webm", Kind::Video, "video/webm", "webm", MOVING, |r, k| {
    container::matroska::probe(r, k == Kind::Video)
});
pub const MP3: Format = row("mp3", Kind::Audio, "audio/mpeg", "mp3", AUDIO, |r, _| {
    audio::mp3::probe(r)
});
pub const AAC: Format = row("aac", Kind::Audio, "audio/aac", "aac", AUDIO, |r, _| {
    audio::adts::probe(r)
});
pub const FLAC: Format = row("flac", Kind::Audio, "audio/flac", "flac", AUDIO, |r, _| {
    audio::probe_flac(r)
});
pub const OGG: Format = row("ogg", Kind::Audio, "audio/ogg", "ogg", AUDIO, |r, _| {
    audio::probe_ogg(r)
});
pub const OPUS: Format = row("opus", Kind::Audio, "audio/ogg", "opus", AUDIO, |r, _| {
    audio::probe_ogg(r)
});
pub const WAV: Format = row("wav", Kind::Audio, "audio/wav", "wav", AUDIO, |r, _| {
    audio::probe_wav(r)
});
pub const SRT: Format = row(
    "srt",
    Kind::Caption,
    "application/x-subrip",
    "srt",
    CAPTION,
    |_, _| Ok(Probed::audio("srt", None)),
);
pub const ASS: Format = row(
    "ass",
    Kind::Caption,
    "text/x-ssa",
    "ass",
    CAPTION,
    |_, _| Ok(Probed::audio("ass", None)),
);
pub const LRC: Format = row(
    "lrc",
    Kind::Caption,
    "text/x-lrc",
    "lrc",
    CAPTION,
    |_, _| Ok(Probed::audio("lrc", None)),
);

/// Every accepted format.
pub const FORMATS: &[Format] = &[
    PNG, JPEG, GIF, WEBP, BMP, TIFF, AVIF, HEIC, MP4, M4V, MOV, M4A, MKV, WEBM, MP3, AAC, FLAC,
    OGG, OPUS, WAV, SRT, ASS, LRC,
];

/// The format a storage key's extension stands for, to label objects served back.
pub fn by_ext(ext: &str) -> Option<&'static Format> {
    FORMATS.iter().find(|format| format.ext == ext)
}

/// The format of a file whose first bytes (up to [`SNIFF_LEN`]) are `prefix`, or `None` for one
/// assetd does not accept. A tag or header running past the prefix is judged by what is in it.
pub fn sniff_prefix(prefix: &[u8]) -> Option<&'static Format> {
    let source: &dyn Source = &prefix;
    let budget = Budget {
        max_bytes_read: (SNIFF_LEN as u64).saturating_mul(4),
        max_time: std::time::Duration::from_secs(1),
    };
    sniff(&mut Reader::new(source, &budget)).ok().flatten()
}

/// The format of the object `reader` reads, or `None` if nothing matches.
pub fn sniff(reader: &mut Reader<'_>) -> Result<Option<&'static Format>, ProbeError> {
    let head = reader.prefix_at(0, MAGIC_LEN)?;
    if let Some(format) = by_magic(reader, &head)? {
        return Ok(Some(format));
    }
    let text = reader.prefix_at(0, SNIFF_LEN as u64)?;
    Ok(caption::detect(&text).and_then(|name| {
        FORMATS
            .iter()
            .find(|f| f.kind == Kind::Caption && f.name == name)
    }))
}

fn by_magic(reader: &mut Reader<'_>, head: &[u8]) -> Result<Option<&'static Format>, ProbeError> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    let at = |offset: usize, magic: &[u8]| sub(head, offset, magic.len()) == Some(magic);
    let format = if starts(b"\x89PNG\r\n\x1a\n") {
        &PNG
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        &JPEG
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        &GIF
    } else if starts(b"RIFF") && at(8, b"WEBP") {
        &WEBP
    } else if starts(b"RIFF") && at(8, b"WAVE") {
        &WAV
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        &TIFF
    } else if starts(b"BM") && head.len() >= 26 && be32(head, 14).is_some() {
        &BMP
    } else if at(4, b"ftyp") {
        iso_brand(head)
    } else if [&b"moov"[..], b"mdat", b"wide", b"free", b"skip", b"pnot"]
        .iter()
        .any(|t| at(4, t))
    {
        &MOV
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        if is_webm(head) { &WEBM } else { &MKV }
    } else if starts(b"OggS") {
        // The first page's packet: a 27-byte header, one lacing value, then `OpusHead` for Opus.
        if at(28, b"OpusHead") { &OPUS } else { &OGG }
    } else if starts(b"fLaC") {
        &FLAC
    } else if starts(b"ID3") {
        // An ID3v2 tag can front MP3, AAC (ADTS) and, rarely, FLAC.
        let after = mp3::skip_id3v2(reader, 0)?;
        let mut next = [0u8; 4];
        let n = reader.read_at(after, &mut next)?;
        let next = next.get(..n).unwrap_or_default();
        if next.starts_with(b"fLaC") {
            &FLAC
        } else if is_adts(next) {
            &AAC
        } else {
            &MP3
        }
    } else if is_adts(head) {
        &AAC
    } else if mp3::FrameHeader::parse(head).is_some() {
        &MP3
    } else {
        return Ok(None);
    };
    Ok(Some(format))
}

/// An ADTS sync word: 12 one-bits and layer 0.
pub(crate) fn is_adts(head: &[u8]) -> bool {
    matches!(head, [0xFF, b, ..] if b & 0xF6 == 0xF0)
}

/// Whether an EBML header names the `webm` DocType (element 0x4282 with a one-byte size).
fn is_webm(head: &[u8]) -> bool {
    head.windows(7)
        .any(|w| w[..2] == [0x42, 0x82] && w[2] & 0x80 != 0 && &w[3..7] == b"webm")
}

/// The format an `ftyp` names, by major brand and then compatible brands.
fn iso_brand(head: &[u8]) -> &'static Format {
    let size = be32(head, 0).unwrap_or(0) as usize;
    let major = sub(head, 8, 4).unwrap_or_default();
    let end = size.min(head.len());
    let compatible: Vec<&[u8]> = head
        .get(16..end)
        .unwrap_or_default()
        .chunks_exact(4)
        .collect();
    let is = |brands: &[&[u8]]| brands.contains(&major);
    let has = |brands: &[&[u8]]| is(brands) || compatible.iter().any(|b| brands.contains(b));
    if is(&[b"avif", b"avis"]) {
        &AVIF
    } else if is(&[
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
    ]) {
        if has(&[b"avif"]) { &AVIF } else { &HEIC }
    } else if is(&[b"qt  "]) {
        &MOV
    } else if is(&[b"M4A ", b"M4B ", b"M4P "]) {
        &M4A
    } else if is(&[b"M4V ", b"M4VH", b"M4VP"]) {
        &M4V
    } else if has(&[b"avif"]) && !has(&[b"isom", b"mp41", b"mp42", b"iso2"]) {
        &AVIF
    } else {
        &MP4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_by_magic() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff_prefix(png).map(|f| f.kind), Some(Kind::Image));
        assert_eq!(
            sniff_prefix(b"GIF89a\x01\0\x01\0").map(|f| f.kind),
            Some(Kind::Gif)
        );
    }

    #[test]
    fn a_movie_whose_first_atom_is_free_or_wide_is_a_mov() {
        for atom in [&b"free"[..], b"wide", b"mdat", b"moov"] {
            let mut head = vec![0, 0, 0, 8];
            head.extend_from_slice(atom);
            head.extend_from_slice(&[0; 32]);
            assert_eq!(sniff_prefix(&head), Some(&MOV));
        }
    }

    #[test]
    fn webm_by_doc_type() {
        let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04";
        assert_eq!(sniff_prefix(webm), Some(&WEBM));
        let mkv = b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska";
        assert_eq!(sniff_prefix(mkv), Some(&MKV));
    }

    #[test]
    fn an_id3_tag_longer_than_the_prefix_counts_as_mp3() {
        let mut tag = b"ID3\x04\0\0\0\x01\0\0".to_vec();
        tag.resize(100, 0);
        assert_eq!(sniff_prefix(&tag), Some(&MP3));
    }

    #[test]
    fn captions_by_shape() {
        let srt = "1\n00:00:01,000 --> 00:00:02,500\nHello\n";
        assert_eq!(sniff_prefix(srt.as_bytes()), Some(&SRT));
        let srt_bom = "\u{feff}1\r\n00:00:01,000 --> 00:00:02,500 X1:0\r\nHello\r\n";
        assert_eq!(sniff_prefix(srt_bom.as_bytes()), Some(&SRT));
        assert_eq!(sniff_prefix(b"[Script Info]\nTitle: x\n"), Some(&ASS));
        assert_eq!(sniff_prefix(b"[ti:Song]\n[00:12.00]Line\n"), Some(&LRC));
        assert_eq!(sniff_prefix(b"[00:12.00]Line\n"), Some(&LRC));
    }

    #[test]
    fn refuses_json_documents_and_text() {
        assert_eq!(sniff_prefix(br#"{"v":"5.7.4","fr":30,"layers":[]}"#), None);
        assert_eq!(sniff_prefix(b"%PDF-1.7\n"), None);
        assert_eq!(sniff_prefix(b"glTF\x02\0\0\0"), None);
        assert_eq!(sniff_prefix(b"hello world"), None);
        assert_eq!(sniff_prefix(b"\xff\xfe\x00garbage"), None);
    }

    #[test]
    fn tolerates_a_cut_multibyte_character() {
        let mut srt = "1\n00:00:01,000 --> 00:00:02,500\nCaf\u{e9}"
            .as_bytes()
            .to_vec();
        srt.pop();
        assert_eq!(sniff_prefix(&srt), Some(&SRT));
    }

    #[test]
    fn every_extension_maps_back() {
        for format in FORMATS {
            assert_eq!(by_ext(format.ext), Some(format));
            assert!(format.fits(format.kind), "{}", format.name);
        }
    }
}
