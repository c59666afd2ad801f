//! The media probes against the real-encoder corpus in tests/fixtures/media (see make.sh there), plus
//! malformed input, a huge moov-at-end movie and budget exhaustion.

use std::io;
use std::time::Duration;

use assetd_media::{
    Budget, FileSource, Kind, MemSource, ProbeError, Reader, Source, format, probe,
    probe_with_stats,
};

mod common;
use common::media_dir;

fn kind(name: &str) -> Kind {
    Kind::parse(name).unwrap_or_else(|| panic!("unknown kind {name}"))
}

/// The gateway decides a format from an upload's first [`format::SNIFF_LEN`] bytes, the prober
/// from the whole stored object: both must land on the same row, of the fixture's kind, whose
/// extension is the fixture's own.
#[test]
fn the_prefix_and_the_whole_file_sniff_the_same() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(media_dir().join("expected.json")).expect("expected.json"),
    )
    .expect("valid json");
    for entry in expected.as_array().expect("an array") {
        let file = entry["file"].as_str().expect("file");
        let bytes = std::fs::read(media_dir().join(file)).expect("fixture reads");
        let prefix = &bytes[..bytes.len().min(format::SNIFF_LEN)];
        let from_prefix = format::sniff_prefix(prefix).unwrap_or_else(|| panic!("{file}: refused"));
        let source = MemSource::new(bytes.clone());
        let mut reader = Reader::new(&source, &Budget::default());
        let whole = format::sniff(&mut reader)
            .expect("sniffs")
            .expect("a format");
        assert_eq!(from_prefix, whole, "{file}");
        assert_eq!(
            whole.kind,
            kind(entry["kind"].as_str().expect("kind")),
            "{file}"
        );
        let ext = file.rsplit('.').next().expect("an extension");
        assert_eq!(whole.ext, ext, "{file}: sniffed as {}", whole.name);
    }
}

#[test]
fn corpus_matches_ffprobe_and_exiftool() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(media_dir().join("expected.json")).expect("expected.json"),
    )
    .expect("valid json");
    let entries = expected.as_array().expect("an array");
    assert!(entries.len() >= 30, "corpus too small: {}", entries.len());
    let mut failures = Vec::new();
    for entry in entries {
        let file = entry["file"].as_str().expect("file");
        let source = FileSource::open(media_dir().join(file)).expect("fixture opens");
        let (result, stats) = probe_with_stats(
            &source,
            kind(entry["kind"].as_str().expect("kind")),
            &Budget::default(),
        );
        let got = match result {
            Ok(got) => got,
            Err(err) => {
                failures.push(format!("{file}: {err}"));
                continue;
            }
        };
        let px = |v: &serde_json::Value, got: Option<u32>, what: &str| match (v.as_u64(), got) {
            (None, None) => None,
            (Some(want), Some(got)) if want.abs_diff(u64::from(got)) <= 1 => None,
            (want, got) => Some(format!("{file}: {what} want {want:?} got {got:?}")),
        };
        failures.extend(px(&entry["width"], got.width, "width"));
        failures.extend(px(&entry["height"], got.height, "height"));
        match (entry["duration"].as_f64(), got.duration) {
            (None, None) => {}
            (Some(want), Some(got)) if (want - got).abs() <= 0.05 => {}
            (want, got) => failures.push(format!("{file}: duration want {want:?} got {got:?}")),
        }
        eprintln!(
            "{file}: {} {:?}x{:?} {:?}s, read {} bytes in {:?}",
            got.format, got.width, got.height, got.duration, stats.bytes_read, stats.elapsed
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn malformed_files_are_malformed() {
    for (file, kind) in [
        ("truncated.mp4", Kind::Video),
        ("garbage.png", Kind::Image),
        ("truncated.jpg", Kind::Image),
        ("truncated.webp", Kind::Image),
        ("truncated.mkv", Kind::Video),
        ("id3_only.mp3", Kind::Audio),
        // Found by fuzz_audio: a WAV claiming 65535 channels overflows a multiplication inside
        // symphonia; the panic must end as Malformed, not take the prober down.
        ("fuzz_audio-wav-fmt-block-align-overflow.bin", Kind::Audio),
    ] {
        let source = FileSource::open(media_dir().join("malformed").join(file)).expect("opens");
        match probe(&source, kind, &Budget::default()) {
            Err(ProbeError::Malformed(reason)) => eprintln!("{file}: {reason}"),
            other => panic!("{file}: expected Malformed, got {other:?}"),
        }
    }
}

#[test]
fn every_prefix_of_every_fixture_is_handled() {
    // Truncation at every length must give an answer or an error, never a panic or a hang.
    for entry in std::fs::read_dir(media_dir()).expect("dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json" || e == "sh") || path.is_dir() {
            continue;
        }
        let data = std::fs::read(&path).expect("read");
        let step = (data.len() / 97).max(1);
        for cut in (0..data.len()).step_by(step) {
            for kind in [
                Kind::Image,
                Kind::Gif,
                Kind::Video,
                Kind::Audio,
                Kind::Caption,
            ] {
                let _ = probe(&MemSource::new(&data[..cut]), kind, &Budget::default());
            }
        }
    }
}

#[test]
fn mismatched_kind_is_unsupported() {
    let source = FileSource::open(media_dir().join("png.png")).expect("opens");
    assert!(matches!(
        probe(&source, Kind::Video, &Budget::default()),
        Err(ProbeError::Unsupported(_))
    ));
    let source = FileSource::open(media_dir().join("aac.m4a")).expect("opens");
    assert!(matches!(
        probe(&source, Kind::Video, &Budget::default()),
        Err(ProbeError::Malformed(reason)) if reason == "m4a: no video track"
    ));
}

/// A 1 GiB movie: `ftyp`, a 64-bit `mdat` of zeros filling the gigabyte, then a real `moov`.
struct HugeMovie {
    head: Vec<u8>,
    moov: Vec<u8>,
    len: u64,
}

impl Source for HugeMovie {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let moov_at = self.len - self.moov.len() as u64;
        let mut n = 0;
        while n < buf.len() {
            let at = offset + n as u64;
            if at >= self.len {
                break;
            }
            buf[n] = if at < self.head.len() as u64 {
                self.head[at as usize]
            } else if at >= moov_at {
                self.moov[(at - moov_at) as usize]
            } else {
                0
            };
            n += 1;
        }
        Ok(n)
    }
}

fn top_boxes(data: &[u8]) -> Vec<(String, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= data.len() {
        let size = u32::from_be_bytes(data[at..at + 4].try_into().expect("4")) as usize;
        out.push((
            String::from_utf8_lossy(&data[at + 4..at + 8]).into_owned(),
            &data[at..at + size],
        ));
        at += size;
    }
    out
}

#[test]
fn huge_movie_with_moov_at_the_end_reads_little() {
    // faststart puts moov before mdat: we move it after a fake 1 GiB mdat. Its chunk offsets no
    // longer point at the samples, which the prober never reads anyway.
    let real = std::fs::read(media_dir().join("h264_faststart.mp4")).expect("read");
    let boxes = top_boxes(&real);
    let ftyp = boxes.iter().find(|(k, _)| k == "ftyp").expect("ftyp").1;
    let moov = boxes
        .iter()
        .find(|(k, _)| k == "moov")
        .expect("moov")
        .1
        .to_vec();
    let len: u64 = 1 << 30;
    let mdat_size = len - ftyp.len() as u64 - moov.len() as u64;
    let mut head = ftyp.to_vec();
    head.extend_from_slice(&1u32.to_be_bytes());
    head.extend_from_slice(b"mdat");
    head.extend_from_slice(&mdat_size.to_be_bytes());
    let source = HugeMovie { head, moov, len };
    let (result, stats) = probe_with_stats(&source, Kind::Video, &Budget::default());
    let got = result.expect("probes");
    assert_eq!((got.width, got.height), (Some(64), Some(36)));
    assert!((got.duration.expect("duration") - 2.0).abs() < 0.05);
    eprintln!(
        "1 GiB moov-at-end: read {} bytes in {} reads",
        stats.bytes_read, stats.reads
    );
    assert!(
        stats.bytes_read <= 1024 * 1024,
        "read {} bytes",
        stats.bytes_read
    );
}

#[test]
fn budget_exhaustion_is_budget_exceeded() {
    // An MP3 made of nothing but valid frames with no header: the scan must stop at the budget.
    let frame = {
        let mut f = vec![0u8; 417];
        f[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
        f
    };
    let data: Vec<u8> = frame.iter().copied().cycle().take(417 * 10_000).collect();
    let tiny = Budget {
        max_bytes_read: 64 * 1024,
        max_time: Duration::from_secs(5),
    };
    let source = MemSource::new(data.clone());
    // a budget smaller than the scan margin: the first frame search itself runs out
    let err = probe(
        &source,
        Kind::Audio,
        &Budget {
            max_bytes_read: 1000,
            ..tiny
        },
    );
    assert!(matches!(err, Err(ProbeError::BudgetExceeded(_))), "{err:?}");
    // within a roomy budget the full scan is exact: 10 000 frames of 1152 samples at 44.1 kHz
    let got = probe(&source, Kind::Audio, &Budget::default()).expect("probes");
    assert!((got.duration.expect("duration") - 10_000.0 * 1152.0 / 44_100.0).abs() < 0.01);

    // A GIF whose frames never end: the walk runs out of budget instead of looping.
    let mut gif = b"GIF89a\x10\x00\x10\x00\x00\x00\x00".to_vec();
    for _ in 0..200_000 {
        gif.extend_from_slice(b"\x21\xF9\x04\x00\x05\x00\x00\x00");
        gif.extend_from_slice(b"\x2C\0\0\0\0\x10\0\x10\0\0\x02\x01\x00\x00");
    }
    let err = probe(&MemSource::new(gif), Kind::Gif, &tiny);
    assert!(matches!(err, Err(ProbeError::BudgetExceeded(_))), "{err:?}");

    // A time budget of zero fails at the first fetch.
    let source = FileSource::open(media_dir().join("h264.mp4")).expect("opens");
    let err = probe(
        &source,
        Kind::Video,
        &Budget {
            max_bytes_read: u64::MAX,
            max_time: Duration::ZERO,
        },
    );
    assert!(matches!(err, Err(ProbeError::BudgetExceeded(_))), "{err:?}");
}

#[test]
fn big_jpeg_reads_two_chunks() {
    // A 10000x10000 (100 MP) JPEG header with EXIF orientation 6, a scan header, 40 MiB of "scan"
    // and the end-of-image marker.
    let mut jpeg = vec![0xFF, 0xD8];
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0\x01\0".to_vec();
    exif.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
    jpeg.extend_from_slice(&[0xFF, 0xE1]);
    jpeg.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    jpeg.extend_from_slice(&exif);
    jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08, 0x27, 0x10, 0x27, 0x10, 0x03]);
    jpeg.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    jpeg.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x0C, 0x03, 1, 0x00, 2, 0x11, 3, 0x11, 0, 0x3F, 0,
    ]);
    jpeg.resize((40 << 20) - 2, 0);
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    let source = MemSource::new(jpeg);
    let started = std::time::Instant::now();
    let (result, stats) = probe_with_stats(&source, Kind::Image, &Budget::default());
    let took = started.elapsed();
    let got = result.expect("probes");
    assert_eq!(
        (got.width, got.height, got.duration),
        (Some(10_000), Some(10_000), None)
    );
    eprintln!("100 MP JPEG: read {} bytes in {took:?}", stats.bytes_read);
    // The headers' chunk, and the last chunk where the completeness check finds EOI.
    assert!(stats.bytes_read <= 2 * 64 * 1024);
}

#[test]
fn frame_scan_past_the_budget_extrapolates() {
    // 10 000 CBR frames (4 MiB) under a 1 MiB budget: the scan stops early and extrapolates.
    let mut frame = vec![0u8; 417];
    frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
    let data: Vec<u8> = frame.iter().copied().cycle().take(417 * 10_000).collect();
    let budget = Budget {
        max_bytes_read: 1 << 20,
        max_time: Duration::from_secs(5),
    };
    let (result, stats) = probe_with_stats(&MemSource::new(data), Kind::Audio, &budget);
    let got = result.expect("probes");
    assert!((got.duration.expect("duration") - 10_000.0 * 1152.0 / 44_100.0).abs() < 0.5);
    assert!(stats.bytes_read <= 1 << 20);
}

#[test]
fn matroska_without_duration_finds_the_last_cluster() {
    // mkv.mkv with its Info Duration element renamed to an unknown ID: the end time must come from
    // the clusters (through Cues, which ffmpeg writes at the end).
    let mut data = std::fs::read(media_dir().join("mkv.mkv")).expect("read");
    let at = data
        .windows(3)
        .position(|w| w == [0x44, 0x89, 0x88])
        .expect("a Duration element");
    data[at] = 0x4F;
    let got = probe(&MemSource::new(data), Kind::Video, &Budget::default()).expect("probes");
    assert!(
        (got.duration.expect("duration") - 2.0).abs() < 0.06,
        "{got:?}"
    );
}

#[test]
fn live_webm_with_unknown_size_clusters() {
    let (data, patched) = common::live_webm_with_unknown_cluster_sizes();
    assert!(patched > 1, "clusters patched: {patched}");
    let got = probe(&MemSource::new(data), Kind::Video, &Budget::default()).expect("probes");
    assert_eq!((got.width, got.height), (Some(64), Some(36)));
    assert!(
        (got.duration.expect("duration") - 2.0).abs() < 0.05,
        "{got:?}"
    );
}
