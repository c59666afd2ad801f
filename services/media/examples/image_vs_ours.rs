//! Header-only image probing, our parsers against the `image` crate (a dev-dependency, used only
//! here): for every image fixture of the media corpus and a few large synthetic files, times our
//! parser through the budgeted reader (as the prober runs it) and `image`'s
//! `ImageReader::with_format(..).into_dimensions()` (never `decode()`), paired in each repetition
//! in alternating order; counts the bytes each reads; checks both find the same size; and checks
//! which of them reports the EXIF orientation, from the whole file and from a bounded prefix.
//! For tests/bench/media.sh, which turns the `--json` output into tests/bench/media-RESULTS.md.
//!
//! Usage: image_vs_ours [--json]   (IMAGE_BENCH_REPS: repetitions per file, default 201)
//!
//! What is compared, so the figures are read right:
//! - ours: the format's parser (`assetd_media::image::*::probe`) over a fresh [`Reader`] on the
//!   bytes in memory. It does more than `into_dimensions`: EXIF orientation, GIF and animated
//!   WebP durations, and the completeness check (JPEG's EOI and PNG's IEND in the tail, the
//!   pixel data a header promises fitting in the object). Its bytes are the reader's fetches,
//!   whole 64 KiB chunks, as from storage.
//! - image: `into_dimensions` over a plain `Cursor<&[u8]>` (its fastest input, no copy); untimed,
//!   the same over a counting `Read + Seek` behind an 8 KiB `BufReader` (the bytes it pulls from
//!   a stream).
//! - image+orientation: `into_decoder()`, `dimensions()` and `orientation()` over the cursor: what
//!   `image` needs to give the displayed size ours gives.
//! - image via reader: `into_dimensions` over an 8 KiB `BufReader` on our budgeted [`Reader`], as
//!   the prober would have to run it (objects are in storage, not in memory); its bytes are the
//!   reader's fetches, in the same 64 KiB chunks as ours.

use std::error::Error;
use std::hint::black_box;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Instant;

use assetd_media::format::sniff_prefix;
use assetd_media::image::{bmp, gif, heif, jpeg, png, tiff, webp};
use assetd_media::{Budget, ProbeError, Probed, ReadStats, Reader, Source};
use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageFormat, ImageReader, ImageResult, RgbImage,
};
use serde_json::{Value, json};

type Parser = fn(&mut Reader<'_>) -> Result<Probed, ProbeError>;

/// The `BufReader` capacity in front of the counting stream (std's default).
const IMAGE_BUFFER: usize = 8 * 1024;
/// A timed batch lasts about this long, so the clock's cost does not count.
const BATCH_NS: f64 = 100_000.0;
/// Repetitions of one file stop early past this many seconds (the large synthetic files).
const MAX_SECS_PER_FILE: f64 = 4.0;
/// The synthetic files' stored size.
const BIG_W: u32 = 2000;
const BIG_H: u32 = 1500;

struct Case {
    name: String,
    format: &'static str,
    bytes: Vec<u8>,
    /// Width and height as displayed: from expected.json, or as the synthetic file was made.
    expected: (u32, u32),
    synthetic: Option<&'static str>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let as_json = std::env::args().any(|a| a == "--json");
    let reps: usize = std::env::var("IMAGE_BENCH_REPS")
        .ok()
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(201)
        .max(3);
    let budget = Budget::default();
    let mut cases = fixtures()?;
    cases.extend(synthetic()?);

    let mut results = Vec::new();
    let mut mismatches = Vec::new();
    let mut stored = Vec::new();
    for case in &cases {
        let result = measure(case, reps, &budget);
        if let Some(problem) = mismatch(case, &result) {
            eprintln!("MISMATCH {}: {problem}", case.name);
            mismatches.push(json!({"file": case.name, "problem": problem}));
        }
        if let Some(note) = stored_not_displayed(&result) {
            eprintln!("note {}: {note}", case.name);
            stored.push(json!({"file": case.name, "note": note}));
        }
        if !as_json {
            print_row(&result);
        }
        results.push(result);
    }
    let orientation: Vec<Value> = cases
        .iter()
        .filter(|c| c.format == "jpeg")
        .map(|c| orientation_from_prefix(c, &budget))
        .collect();
    if as_json {
        let doc = json!({
            "reps": reps,
            "image_buffer": IMAGE_BUFFER,
            "cases": results,
            "mismatches": mismatches,
            "stored_not_displayed": stored,
            "jpeg_orientation": orientation,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for row in &orientation {
            println!("{row}");
        }
        println!("{} mismatches", mismatches.len());
    }
    Ok(())
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/media")
}

/// The still and animated image fixtures listed in expected.json.
fn fixtures() -> Result<Vec<Case>, Box<dyn Error>> {
    let dir = corpus_dir();
    let expected: Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json"))?)?;
    let mut cases = Vec::new();
    for entry in expected.as_array().ok_or("expected.json: not an array")? {
        let kind = entry["kind"].as_str().unwrap_or_default();
        if kind != "IMAGE" && kind != "GIF" {
            continue;
        }
        let name = entry["file"].as_str().ok_or("expected.json: no file")?;
        let dim = |key: &str| entry[key].as_u64().and_then(|v| u32::try_from(v).ok());
        let (Some(width), Some(height)) = (dim("width"), dim("height")) else {
            return Err(format!("{name}: no width or height in expected.json").into());
        };
        let bytes = std::fs::read(dir.join(name))?;
        cases.push(Case {
            format: format_of(&bytes).ok_or_else(|| format!("{name}: not sniffed"))?,
            name: name.to_owned(),
            bytes,
            expected: (width, height),
            synthetic: None,
        });
    }
    Ok(cases)
}

fn format_of(bytes: &[u8]) -> Option<&'static str> {
    let prefix = bytes
        .get(..assetd_media::format::SNIFF_LEN)
        .unwrap_or(bytes);
    sniff_prefix(prefix).map(|f| f.name)
}

/// Large files, one per format `image` reads, made here from noise (so they do not compress):
/// 2000 × 1500 pixels, a few MiB each, so that a parser reading the whole file shows.
fn synthetic() -> Result<Vec<Case>, Box<dyn Error>> {
    let (w, h) = (BIG_W, BIG_H);
    let rgb = RgbImage::from_raw(w, h, noise(w as usize * h as usize * 3, 0x5eed))
        .ok_or("noise buffer size")?;
    let mut cases = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>, expected, what| -> Result<(), Box<dyn Error>> {
        cases.push(Case {
            format: format_of(&bytes).ok_or_else(|| format!("{name}: not sniffed"))?,
            name: name.to_owned(),
            bytes,
            expected,
            synthetic: Some(what),
        });
        Ok(())
    };

    let mut scan = Vec::new();
    JpegEncoder::new_with_quality(&mut scan, 90).encode(
        rgb.as_raw(),
        w,
        h,
        ExtendedColorType::Rgb8,
    )?;
    // A photo: a small EXIF (orientation 6, a quarter turn) and a large entropy-coded scan.
    let photo = splice_after_soi(&scan, &[exif_app1(6, 0)]);
    add(
        "large-photo.jpg",
        photo,
        (h, w),
        "EXIF orientation 6 in a small APP1, then a multi-MiB scan",
    )?;
    // The same with a 64 KiB EXIF segment and a 15-segment ICC profile (about 1 MiB of APP data
    // before the frame header), as some cameras and editors write.
    let mut segments = vec![exif_app1(6, 65_533)];
    for seq in 1..=15u8 {
        let mut body = b"ICC_PROFILE\0".to_vec();
        body.extend_from_slice(&[seq, 15]);
        body.resize(65_533, 0);
        segments.push(segment(0xE2, &body));
    }
    add(
        "large-app-segments.jpg",
        splice_after_soi(&scan, &segments),
        (h, w),
        "a 64 KiB EXIF APP1 (orientation 6) and 15 × 64 KiB ICC APP2 segments before the frame",
    )?;

    let image = DynamicImage::ImageRgb8(rgb.clone());
    for (name, format) in [
        ("large.png", ImageFormat::Png),
        ("large.bmp", ImageFormat::Bmp),
        ("large.tiff", ImageFormat::Tiff),
        ("large.webp", ImageFormat::WebP),
    ] {
        let mut bytes = Cursor::new(Vec::new());
        image.write_to(&mut bytes, format)?;
        add(name, bytes.into_inner(), (w, h), "noise, one still image")?;
    }
    // GIF from a smaller image: quantising 3 megapixels of noise is slow and proves nothing more.
    let (gw, gh) = (w / 2, h / 2);
    let small = image::imageops::thumbnail(&rgb, gw, gh);
    let mut bytes = Vec::new();
    GifEncoder::new_with_speed(&mut bytes, 30).encode(
        small.as_raw(),
        gw,
        gh,
        ExtendedColorType::Rgb8,
    )?;
    add("large.gif", bytes, (gw, gh), "noise, one frame")?;
    Ok(cases)
}

/// xorshift64* bytes: deterministic, incompressible.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(body.len() + 2).unwrap_or(u16::MAX);
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// An APP1 EXIF segment whose IFD0 holds only the orientation, padded to `pad_to` body bytes.
fn exif_app1(orientation: u16, pad_to: usize) -> Vec<u8> {
    let mut body = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    body.extend_from_slice(&1u16.to_be_bytes()); // one entry
    body.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    body.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    body.extend_from_slice(&1u32.to_be_bytes()); // one value
    body.extend_from_slice(&orientation.to_be_bytes());
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    body.resize(pad_to.max(body.len()), 0);
    segment(0xE1, &body)
}

fn splice_after_soi(jpeg: &[u8], segments: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    for s in segments {
        out.extend_from_slice(s);
    }
    out.extend_from_slice(jpeg.get(2..).unwrap_or_default());
    out
}

// ---- the two sides ----

fn our_parser(format: &str) -> Option<Parser> {
    let parser: Parser = match format {
        "png" => png::probe,
        "jpeg" => jpeg::probe,
        "gif" => gif::probe,
        "webp" => webp::probe,
        "bmp" => bmp::probe,
        "tiff" => tiff::probe,
        "avif" => |r| heif::probe(r, "avif"),
        "heic" => |r| heif::probe(r, "heic"),
        _ => return None,
    };
    Some(parser)
}

/// The `image` format for ours; `None` where `image` has no header reader (AVIF needs its
/// `avif-native` feature, a dav1d binding; HEIC it does not read at all).
fn image_format(format: &str) -> Option<ImageFormat> {
    Some(match format {
        "png" => ImageFormat::Png,
        "jpeg" => ImageFormat::Jpeg,
        "gif" => ImageFormat::Gif,
        "webp" => ImageFormat::WebP,
        "bmp" => ImageFormat::Bmp,
        "tiff" => ImageFormat::Tiff,
        _ => return None,
    })
}

fn ours(parser: Parser, bytes: &[u8], budget: &Budget) -> (Result<Probed, ProbeError>, ReadStats) {
    let source: &dyn Source = &bytes;
    let mut reader = Reader::new(source, budget);
    let result = parser(&mut reader);
    (result, reader.stats())
}

fn image_dims<R: BufRead + Seek>(format: ImageFormat, input: R) -> ImageResult<(u32, u32)> {
    ImageReader::with_format(input, format).into_dimensions()
}

fn image_oriented<R: BufRead + Seek>(
    format: ImageFormat,
    input: R,
) -> ImageResult<((u32, u32), Orientation)> {
    let mut decoder = ImageReader::with_format(input, format).into_decoder()?;
    let size = decoder.dimensions();
    Ok((size, decoder.orientation()?))
}

/// The size as displayed once `orientation` is applied.
fn displayed((w, h): (u32, u32), orientation: Orientation) -> (u32, u32) {
    match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (h, w),
        _ => (w, h),
    }
}

/// A `Read + Seek` over bytes in memory that counts what is read from it.
struct Counting<'a> {
    inner: Cursor<&'a [u8]>,
    bytes: u64,
    reads: u64,
    seeks: u64,
}

impl<'a> Counting<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            inner: Cursor::new(bytes),
            bytes: 0,
            reads: 0,
            seeks: 0,
        }
    }
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        self.reads += 1;
        Ok(n)
    }
}

impl Seek for Counting<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.seeks += 1;
        self.inner.seek(to)
    }
}

// ---- measuring ----

fn size_json(size: Option<(u32, u32)>) -> Value {
    size.map_or(Value::Null, |(w, h)| json!([w, h]))
}

fn measure(case: &Case, reps: usize, budget: &Budget) -> Value {
    let bytes = case.bytes.as_slice();
    let parser = our_parser(case.format);
    let format = image_format(case.format);

    // Results and bytes, untimed.
    let (our_size, our_duration, our_stats, our_error) =
        match parser.map(|p| ours(p, bytes, budget)) {
            Some((Ok(p), stats)) => (p.width.zip(p.height), p.duration, Some(stats), None),
            Some((Err(e), stats)) => (None, None, Some(stats), Some(e.to_string())),
            None => (None, None, None, Some("no parser".to_owned())),
        };
    let mut image = json!(null);
    if let Some(format) = format {
        let plain = image_dims(format, Cursor::new(bytes));
        let mut counting = Counting::new(bytes);
        let counted = image_dims(
            format,
            BufReader::with_capacity(IMAGE_BUFFER, &mut counting),
        );
        let source: &dyn Source = &bytes;
        let mut reader = Reader::new(source, budget);
        let budgeted = image_dims(format, BufReader::with_capacity(IMAGE_BUFFER, &mut reader));
        let oriented = image_oriented(format, Cursor::new(bytes));
        image = json!({
            "size": size_json(plain.as_ref().ok().copied()),
            "error": plain.as_ref().err().map(ToString::to_string),
            "counted_ok": counted.is_ok(),
            "bytes": counting.bytes,
            "reads": counting.reads,
            "seeks": counting.seeks,
            "budgeted_bytes": reader.stats().bytes_read,
            "budgeted_reads": reader.stats().reads,
            "budgeted_error": budgeted.err().map(|e| e.to_string()),
            "orientation": oriented.as_ref().ok().map(|(_, o)| format!("{o:?}")),
            "displayed": size_json(oriented.as_ref().ok().map(|&(s, o)| displayed(s, o))),
            "orientation_error": oriented.err().map(|e| e.to_string()),
        });
    }

    // The first half of the file: a cut upload, which the probe must reject.
    let half = bytes.get(..bytes.len() / 2).unwrap_or(bytes);
    let cut = json!({
        "ours": parser.map(|p| match ours(p, half, budget).0 {
            Ok(p) => json!({"size": size_json(p.width.zip(p.height))}),
            Err(e) => json!({"error": e.to_string()}),
        }),
        "image": format.map(|f| match image_dims(f, Cursor::new(half)) {
            Ok(size) => json!({"size": size_json(Some(size))}),
            Err(e) => json!({"error": e.to_string()}),
        }),
    });

    // Timing: per repetition, each side times a batch of calls; the order of the sides turns
    // (rotated by one each repetition, reversed every other round) so none always runs first.
    let mut sides: Vec<Box<dyn FnMut() + '_>> = Vec::new();
    if let Some(parser) = parser {
        sides.push(Box::new(move || {
            let _ = black_box(ours(parser, black_box(bytes), budget));
        }));
    }
    if let Some(format) = format {
        sides.push(Box::new(move || {
            let _ = black_box(image_dims(format, Cursor::new(black_box(bytes))));
        }));
        sides.push(Box::new(move || {
            let _ = black_box(image_oriented(format, Cursor::new(black_box(bytes))));
        }));
        sides.push(Box::new(move || {
            let source: &dyn Source = &bytes;
            let mut reader = Reader::new(source, budget);
            let input = BufReader::with_capacity(IMAGE_BUFFER, &mut reader);
            let _ = black_box(image_dims(format, black_box(input)));
        }));
    }
    let batches: Vec<u32> = sides.iter_mut().map(|f| batch_size(f.as_mut())).collect();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(reps); sides.len()];
    let started = Instant::now();
    let mut done = 0;
    for rep in 0..reps {
        for side in order(rep, sides.len()) {
            times[side].push(per_call(batches[side], sides[side].as_mut()));
        }
        done = rep + 1;
        if started.elapsed().as_secs_f64() > MAX_SECS_PER_FILE && done >= 21 {
            break;
        }
    }
    let us = |side: usize| times.get(side).map(|t| median(t.clone()) / 1000.0);
    // Per-repetition ratios of ours to each of image's ways.
    let ratios = |other: usize| -> Value {
        let (Some(a), Some(b)) = (times.first(), times.get(other)) else {
            return Value::Null;
        };
        if format.is_none() {
            return Value::Null;
        }
        let r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
        let min = r.iter().copied().fold(f64::INFINITY, f64::min);
        let max = r.iter().copied().fold(0.0, f64::max);
        json!({"median": median(r), "min": min, "max": max})
    };
    json!({
        "file": case.name,
        "format": case.format,
        "size": case.bytes.len(),
        "synthetic": case.synthetic,
        "expected": size_json(Some(case.expected)),
        "reps": done,
        "ours": {
            "size": size_json(our_size),
            "duration": our_duration,
            "error": our_error,
            "bytes": our_stats.map(|s| s.bytes_read),
            "reads": our_stats.map(|s| s.reads),
            "us": us(0),
            "batch": batches.first(),
        },
        "image": image,
        "first_half": cut,
        "image_us": us(1),
        "image_orientation_us": us(2),
        "image_via_reader_us": us(3),
        "ratio": ratios(1),
        "ratio_orientation": ratios(2),
        "ratio_via_reader": ratios(3),
    })
}

fn order(rep: usize, sides: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sides).map(|i| (i + rep) % sides).collect();
    if (rep / sides.max(1)) % 2 == 1 {
        order.reverse();
    }
    order
}

/// How many calls make a batch of about [`BATCH_NS`].
fn batch_size(f: &mut dyn FnMut()) -> u32 {
    for _ in 0..3 {
        f();
    }
    let once = per_call(5, f).max(1.0);
    ((BATCH_NS / once).ceil() as u32).clamp(1, 100_000)
}

/// Nanoseconds per call of `f`, over a batch of `calls`.
fn per_call(calls: u32, f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        f();
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(calls)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Where the sizes disagree: ours against the expected displayed size, and `image`'s (with its
/// orientation applied) against ours.
fn mismatch(case: &Case, result: &Value) -> Option<String> {
    let expected = size_json(Some(case.expected));
    let ours = &result["ours"]["size"];
    let image = &result["image"];
    let mut problems = Vec::new();
    if *ours != expected {
        problems.push(format!("ours {ours} but expected {expected}"));
    }
    if !image.is_null() && image["displayed"] != *ours {
        problems.push(format!(
            "image with orientation() {} (orientation {}) but ours {ours}",
            image["displayed"], image["orientation"]
        ));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// `into_dimensions()` gives the stored size: it differs from the displayed one where the EXIF
/// orientation turns the image a quarter (a difference of meaning, not a disagreement).
fn stored_not_displayed(result: &Value) -> Option<String> {
    let image = &result["image"];
    (!image.is_null() && image["size"] != image["displayed"]).then(|| {
        format!(
            "into_dimensions() {} is the stored size; displayed {} after orientation {}",
            image["size"], image["displayed"], image["orientation"]
        )
    })
}

fn print_row(r: &Value) {
    let f = |v: &Value| v.as_f64().map_or("-".to_owned(), |x| format!("{x:.2}"));
    println!(
        "{:<24} {:<5} ours {:>8} µs  image {:>8} µs  +orient {:>8} µs  via reader {:>8} µs  ratio {} [{}..{}]  bytes ours {} image {} (via our reader {})",
        r["file"].as_str().unwrap_or_default(),
        r["format"].as_str().unwrap_or_default(),
        f(&r["ours"]["us"]),
        f(&r["image_us"]),
        f(&r["image_orientation_us"]),
        f(&r["image_via_reader_us"]),
        f(&r["ratio"]["median"]),
        f(&r["ratio"]["min"]),
        f(&r["ratio"]["max"]),
        r["ours"]["bytes"],
        r["image"]["bytes"],
        r["image"]["budgeted_bytes"],
    );
}

// ---- orientation from a bounded prefix (JPEG) ----

/// Where a JPEG's headers end: the end of the SOS segment's header, walking marker segments.
fn jpeg_header_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 2usize;
    for _ in 0..4096 {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        if marker == 0xFF {
            at += 1;
            continue;
        }
        if matches!(marker, 0x01 | 0xD0..=0xD8) {
            at += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let end = at + 2 + len;
        if marker == 0xDA {
            return Some(end);
        }
        at = end;
    }
    None
}

/// For one JPEG: the orientation and displayed size each side finds from the whole file, from
/// the headers alone (cut right after the SOS header) and from the first 64 KiB; and `image`
/// through our reader with a 256 KiB budget.
fn orientation_from_prefix(case: &Case, budget: &Budget) -> Value {
    let bytes = case.bytes.as_slice();
    let header_end = jpeg_header_end(bytes).unwrap_or(bytes.len());
    let cuts = [
        ("whole file", bytes.len()),
        ("headers (to the end of the SOS header)", header_end),
        ("first 64 KiB", bytes.len().min(64 * 1024)),
    ];
    let try_image = |input: &[u8]| -> Value {
        match image_oriented(ImageFormat::Jpeg, Cursor::new(input)) {
            Ok((size, o)) => json!({
                "orientation": format!("{o:?}"),
                "displayed": size_json(Some(displayed(size, o))),
            }),
            Err(e) => json!({"error": e.to_string()}),
        }
    };
    let try_ours = |input: &[u8]| -> Value {
        match ours(jpeg::probe, input, budget) {
            (Ok(p), stats) => json!({
                "displayed": size_json(p.width.zip(p.height)),
                "bytes": stats.bytes_read,
            }),
            (Err(e), stats) => json!({"error": e.to_string(), "bytes": stats.bytes_read}),
        }
    };
    let prefixes: Vec<Value> = cuts
        .iter()
        .map(|&(what, len)| {
            let input = bytes.get(..len).unwrap_or(bytes);
            json!({"cut": what, "len": len, "image": try_image(input), "ours": try_ours(input)})
        })
        .collect();
    let small = Budget {
        max_bytes_read: 256 * 1024,
        ..*budget
    };
    let source: &dyn Source = &bytes;
    let mut reader = Reader::new(source, &small);
    let budgeted = image_oriented(
        ImageFormat::Jpeg,
        BufReader::with_capacity(IMAGE_BUFFER, &mut reader),
    );
    let stats = reader.stats();
    json!({
        "file": case.name,
        "size": bytes.len(),
        "expected": size_json(Some(case.expected)),
        "prefixes": prefixes,
        "image_through_our_reader_256k": match budgeted {
            Ok((size, o)) => json!({"displayed": size_json(Some(displayed(size, o))), "bytes": stats.bytes_read}),
            Err(e) => json!({"error": e.to_string(), "bytes": stats.bytes_read}),
        },
    })
}
