//! Decides the container or image format from magic bytes at the start (after any ID3v2 tag).

use crate::audio::mp3;
use crate::bin::{be32, sub};
use crate::caption;
use crate::error::ProbeError;
use crate::reader::Reader;

/// A format family, each with its own parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Gif,
    WebP,
    Bmp,
    Tiff,
    /// HEIF still image: `avif` or `heic` by brand.
    Heif(&'static str),
    /// ISO-BMFF movie: `mp4`, `mov` or `m4a` by brand.
    IsoBmff(&'static str),
    Matroska,
    Mp3,
    Adts,
    Flac,
    Ogg,
    Wav,
    Caption(&'static str),
}

/// How many bytes the sniffer looks at.
const SNIFF_LEN: u64 = 64;

/// The format of the object, or `None` if nothing matches.
pub fn sniff(reader: &mut Reader<'_>) -> Result<Option<Format>, ProbeError> {
    let head = reader.prefix_at(0, SNIFF_LEN)?;
    if let Some(format) = by_magic(reader, &head)? {
        return Ok(Some(format));
    }
    let text = reader.prefix_at(0, caption::SNIFF_LEN)?;
    Ok(caption::detect(&text).map(Format::Caption))
}

fn by_magic(reader: &mut Reader<'_>, head: &[u8]) -> Result<Option<Format>, ProbeError> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    let at = |offset: usize, magic: &[u8]| sub(head, offset, magic.len()) == Some(magic);
    let format = if starts(b"\x89PNG\r\n\x1a\n") {
        Format::Png
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        Format::Jpeg
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Format::Gif
    } else if starts(b"RIFF") && at(8, b"WEBP") {
        Format::WebP
    } else if starts(b"RIFF") && at(8, b"WAVE") {
        Format::Wav
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Format::Tiff
    } else if starts(b"BM") && head.len() >= 26 && be32(head, 14).is_some() {
        Format::Bmp
    } else if at(4, b"ftyp") {
        iso_brand(head)
    } else if [&b"moov"[..], b"mdat", b"wide", b"free", b"skip", b"pnot"]
        .iter()
        .any(|t| at(4, t))
    {
        Format::IsoBmff("mov")
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Format::Matroska
    } else if starts(b"OggS") {
        Format::Ogg
    } else if starts(b"fLaC") {
        Format::Flac
    } else if starts(b"ID3") {
        // An ID3v2 tag can front MP3, AAC (ADTS) and, rarely, FLAC.
        let after = mp3::skip_id3v2(reader, 0)?;
        let mut next = [0u8; 4];
        let n = reader.read_at(after, &mut next)?;
        let next = next.get(..n).unwrap_or_default();
        if next.starts_with(b"fLaC") {
            Format::Flac
        } else if is_adts(next) {
            Format::Adts
        } else {
            Format::Mp3
        }
    } else if is_adts(head) {
        Format::Adts
    } else if mp3::FrameHeader::parse(head).is_some() {
        Format::Mp3
    } else {
        return Ok(None);
    };
    Ok(Some(format))
}

/// An ADTS sync word: 12 one-bits and layer 0.
pub(crate) fn is_adts(head: &[u8]) -> bool {
    matches!(head, [0xFF, b, ..] if b & 0xF6 == 0xF0)
}

/// The family an `ftyp` names, by major brand and then compatible brands.
fn iso_brand(head: &[u8]) -> Format {
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
        Format::Heif("avif")
    } else if is(&[
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
    ]) {
        if has(&[b"avif"]) {
            Format::Heif("avif")
        } else {
            Format::Heif("heic")
        }
    } else if is(&[b"qt  "]) {
        Format::IsoBmff("mov")
    } else if is(&[b"M4A ", b"M4B ", b"M4P "]) {
        Format::IsoBmff("m4a")
    } else if has(&[b"avif"]) && !has(&[b"isom", b"mp41", b"mp42", b"iso2"]) {
        Format::Heif("avif")
    } else {
        Format::IsoBmff("mp4")
    }
}
