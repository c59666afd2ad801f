//! Truncated media ends `failed`: every fixture of tests/fixtures/media cut at several points
//! (half, 90 %, 16 bytes and 1 byte short, just after its header) is `Malformed`, with a reason
//! saying `truncated` wherever the header itself was whole; the whole fixture, zero-padded or
//! with an ID3v1 tag where real files have one, still probes to the same result. Fragmented MP4
//! and live WebM (unknown sizes) are covered by synthetic variants.

use assetd_media::{Budget, Kind, MemSource, ProbeError, Probed, probe};

mod common;
use common::{fixture, media_dir};

/// Every media fixture of expected.json (captions are text: nothing to cut) with its kind.
fn media() -> Vec<(String, Kind)> {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(media_dir().join("expected.json")).expect("expected.json"),
    )
    .expect("valid json");
    expected
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|entry| {
            let kind = Kind::parse(entry["kind"].as_str().expect("kind"))
                .filter(|kind| *kind != Kind::Caption)?;
            Some((entry["file"].as_str().expect("file").to_owned(), kind))
        })
        .collect()
}

fn run(data: &[u8], kind: Kind) -> Result<Probed, ProbeError> {
    probe(&MemSource::new(data.to_vec()), kind, &Budget::default())
}

/// The top-level ISO-BMFF boxes: `(type, start, end)`.
fn boxes(data: &[u8]) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= data.len() {
        let size = u32::from_be_bytes(data[at..at + 4].try_into().expect("4")) as usize;
        let size = match size {
            0 => data.len() - at,
            1 => u64::from_be_bytes(data[at + 8..at + 16].try_into().expect("8")) as usize,
            n => n,
        };
        out.push((data[at + 4..at + 8].try_into().expect("4"), at, at + size));
        at += size.max(8);
    }
    out
}

fn find(data: &[u8], pattern: &[u8]) -> usize {
    data.windows(pattern.len())
        .position(|w| w == pattern)
        .expect("pattern present")
}

/// Past an ID3v2 tag, if any.
fn after_id3(data: &[u8]) -> usize {
    if !data.starts_with(b"ID3") {
        return 0;
    }
    let size = data[6..10]
        .iter()
        .fold(0usize, |acc, b| (acc << 7) | usize::from(b & 0x7F));
    10 + size
}

/// Where the fixture's header ends and its media data begins (a cut here leaves the header
/// whole and no media).
fn header_end(name: &str, data: &[u8]) -> usize {
    let ext = name.rsplit('.').next().expect("an extension");
    match ext {
        "png" => find(data, b"IDAT") + 4,
        "jpg" => {
            let sos = find(data, &[0xFF, 0xDA]);
            sos + 2 + usize::from(u16::from_be_bytes([data[sos + 2], data[sos + 3]]))
        }
        "gif" => {
            13 + if data[10] & 0x80 != 0 {
                3 << ((data[10] & 7) + 1)
            } else {
                0
            }
        }
        "webp" => 30,
        "bmp" => 14 + u32::from_le_bytes(data[14..18].try_into().expect("4")) as usize,
        "tiff" => 8,
        "avif" | "heic" => {
            let (_, _, end) = *boxes(data)
                .iter()
                .find(|(k, _, _)| k == b"meta")
                .expect("meta");
            end
        }
        "mp4" | "mov" | "m4a" => {
            let (_, start, _) = *boxes(data)
                .iter()
                .find(|(k, _, _)| k == b"mdat")
                .expect("mdat");
            start + 16
        }
        "mkv" | "webm" => find(data, &[0x1F, 0x43, 0xB6, 0x75]) + 12,
        "wav" => find(data, b"data") + 8,
        "mp3" | "aac" => after_id3(data) + 8,
        "ogg" | "opus" => {
            // The end of the first page: the identification header.
            let segments = usize::from(data[26]);
            27 + segments
                + data[27..27 + segments]
                    .iter()
                    .map(|l| usize::from(*l))
                    .sum::<usize>()
        }
        "flac" => {
            let mut at = 4;
            loop {
                let len = u32::from_be_bytes([0, data[at + 1], data[at + 2], data[at + 3]]);
                let last = data[at] & 0x80 != 0;
                at += 4 + len as usize;
                if last {
                    break at;
                }
            }
        }
        other => panic!("no header rule for .{other}"),
    }
}

/// Where the media the header promises ends: the object's end, but for WebP the RIFF data's
/// (webp_anim.webp has 86 bytes after it, which ImageMagick 6 appends: trailing bytes are not
/// cut media).
fn media_end(name: &str, data: &[u8]) -> usize {
    if name.ends_with(".webp") {
        let riff = u32::from_le_bytes(data[4..8].try_into().expect("4")) as usize + 8;
        return riff.min(data.len());
    }
    data.len()
}

#[test]
fn cut_fixtures_are_truncated() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, kind) in media() {
        let data = fixture(&name);
        if let Err(err) = run(&data, kind) {
            failures.push(format!("{name}: whole file failed: {err}"));
            continue;
        }
        let len = media_end(&name, &data);
        let header = header_end(&name, &data);
        // (cut, must the reason say truncated)
        let cuts = [
            (len / 2, true),
            (len * 9 / 10, true),
            (len - 16, true),
            (len - 1, true),
            (header, false),
        ];
        for (cut, says_truncated) in cuts {
            checked += 1;
            match run(&data[..cut], kind) {
                Err(ProbeError::Malformed(reason))
                    if !says_truncated || reason.contains("truncated") =>
                {
                    eprintln!("{name} cut at {cut} of {len}: {reason}");
                }
                other => failures.push(format!("{name} cut at {cut} of {len}: {other:?}")),
            }
        }
    }
    assert!(checked >= 150, "only {checked} cuts");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn truncation_reasons_name_the_format_and_the_sizes() {
    let data = fixture("png.png");
    let cut = &data[..data.len() / 2];
    match run(cut, Kind::Image) {
        Err(ProbeError::Malformed(reason)) => assert_eq!(
            reason,
            format!(
                "png: truncated: IDAT chunk ends at byte {} but the object has {} bytes",
                data.len() - 12,
                cut.len()
            )
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn padding_and_trailing_tags_are_tolerated() {
    let mut failures = Vec::new();
    for (name, kind) in media() {
        let data = fixture(&name);
        let want = run(&data, kind).expect("whole fixture probes");
        let mut padded = data.clone();
        padded.resize(data.len() + 4096, 0);
        let mut variants = vec![("4 KiB of zeros", padded)];
        if name.ends_with(".mp3") || name.ends_with(".aac") || name.ends_with(".flac") {
            let mut tagged = data.clone();
            let mut tag = b"TAG".to_vec();
            tag.resize(128, b' ');
            tagged.extend_from_slice(&tag);
            variants.push(("an ID3v1 tag", tagged));
        }
        for (what, variant) in variants {
            match run(&variant, kind) {
                Ok(got) if got == want => {}
                other => failures.push(format!("{name} with {what}: {other:?}, want {want:?}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// h264_faststart.mp4 made fragmented: `mvex` added to its `moov`, then `fragments` fragments
/// (`moof` with an `mfhd`, and an `mdat` of 1000 bytes) after its own `mdat`.
fn fragmented(fragments: u32) -> Vec<u8> {
    let data = fixture("h264_faststart.mp4");
    let mut out = Vec::new();
    for (kind, start, end) in boxes(&data) {
        let whole = &data[start..end];
        if &kind != b"moov" {
            out.extend_from_slice(whole);
            continue;
        }
        let mut trex = 32u32.to_be_bytes().to_vec();
        trex.extend_from_slice(b"trex");
        trex.extend_from_slice(&[0; 4]);
        trex.extend_from_slice(&1u32.to_be_bytes());
        trex.extend_from_slice(&[0; 12]);
        let mut mvex = ((8 + trex.len()) as u32).to_be_bytes().to_vec();
        mvex.extend_from_slice(b"mvex");
        mvex.extend_from_slice(&trex);
        out.extend_from_slice(&((whole.len() + mvex.len()) as u32).to_be_bytes());
        out.extend_from_slice(&whole[4..]);
        out.extend_from_slice(&mvex);
    }
    for n in 1..=fragments {
        out.extend_from_slice(&24u32.to_be_bytes());
        out.extend_from_slice(b"moof");
        out.extend_from_slice(&16u32.to_be_bytes());
        out.extend_from_slice(b"mfhd");
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&1008u32.to_be_bytes());
        out.extend_from_slice(b"mdat");
        out.extend_from_slice(&[0x55; 1000]);
    }
    out
}

#[test]
fn fragmented_mp4_is_checked_to_its_last_fragment() {
    // 10 fragments are walked box by box; 200 are more than the walk takes, so the last
    // fragment is found in the tail.
    for fragments in [10, 200] {
        let data = fragmented(fragments);
        let got = run(&data, Kind::Video).expect("whole fragmented movie probes");
        assert_eq!((got.width, got.height), (Some(64), Some(36)));
        for cut in [data.len() - 16, data.len() - 1016 - 500] {
            match run(&data[..cut], Kind::Video) {
                Err(ProbeError::Malformed(reason)) if reason.contains("truncated") => {
                    eprintln!("{fragments} fragments cut at {cut}: {reason}");
                }
                other => panic!("{fragments} fragments cut at {cut}: {other:?}"),
            }
        }
    }
}

#[test]
fn live_webm_with_unknown_sizes_cut_in_its_last_cluster() {
    // Every cluster's size unknown too: only the last cluster's blocks tell where it should end.
    let (data, _) = common::live_webm_with_unknown_cluster_sizes();
    run(&data, Kind::Video).expect("whole live stream probes");
    for cut in [data.len() - 16, data.len() - 1] {
        match run(&data[..cut], Kind::Video) {
            Err(ProbeError::Malformed(reason)) if reason.contains("truncated") => {
                eprintln!("live cut at {cut}: {reason}");
            }
            other => panic!("live cut at {cut}: {other:?}"),
        }
    }
}

/// `Malformed` with `want` in its reason.
fn assert_truncated(data: &[u8], kind: Kind, want: &str) {
    match run(data, kind) {
        Err(ProbeError::Malformed(reason)) if reason.contains(want) => eprintln!("{reason}"),
        other => panic!("want a reason with {want:?}, got {other:?}"),
    }
}

// The cuts above mostly trip the first check on the way (a box, the Segment, the RIFF size).
// Each case below hides that one, as a writer that got the outer size right would, so the check
// behind it must catch the cut.

#[test]
fn mp4_sample_data_past_the_end() {
    // h264_faststart.mp4 (moov, then mdat last) cut at 90 % with mdat's size fitted to the cut.
    let data = fixture("h264_faststart.mp4");
    let (_, mdat, _) = *boxes(&data)
        .iter()
        .find(|(k, _, _)| k == b"mdat")
        .expect("mdat");
    let mut cut = data[..data.len() * 9 / 10].to_vec();
    let size = (cut.len() - mdat) as u32;
    cut[mdat..mdat + 4].copy_from_slice(&size.to_be_bytes());
    assert_truncated(
        &cut,
        Kind::Video,
        "truncated: sample data of track 1 ends at byte",
    );
}

#[test]
fn matroska_cues_past_the_end() {
    // mkv.mkv with its Segment size made unknown, cut before the Cues its SeekHead points at.
    let mut data = fixture("mkv.mkv");
    let segment = find(&data, &[0x18, 0x53, 0x80, 0x67]) + 4;
    let width = data[segment].leading_zeros() as usize + 1;
    data[segment] = 0xFF >> (width - 1);
    data[segment + 1..segment + width].fill(0xFF);
    run(&data, Kind::Video).expect("whole file with an unknown Segment size probes");
    assert_truncated(
        &data[..data.len() * 9 / 10],
        Kind::Video,
        "truncated: Cues at byte",
    );
}

#[test]
fn matroska_cut_before_the_first_cluster() {
    let data = fixture("webm_live.webm");
    let cluster = find(&data, &[0x1F, 0x43, 0xB6, 0x75]);
    assert_truncated(&data[..cluster], Kind::Video, "truncated: no Cluster");
}

#[test]
fn webp_chunk_past_the_riff_data() {
    // webp_anim.webp cut inside its last frame, with the RIFF size fitted to the cut.
    let data = fixture("webp_anim.webp");
    let mut cut = data[..300].to_vec();
    cut[4..8].copy_from_slice(&(300u32 - 8).to_le_bytes());
    assert_truncated(
        &cut,
        Kind::Image,
        "truncated: chunk 'ANMF' ends at byte 324",
    );
}

#[test]
fn flac_cut_at_a_frame_boundary_misses_samples() {
    // Every frame left is whole (CRC-16 fine): only STREAMINFO's total says the last is missing.
    let data = fixture("flac.flac");
    let last = data
        .windows(2)
        .rposition(|w| w == [0xFF, 0xF8])
        .expect("a last frame");
    assert_truncated(
        &data[..last],
        Kind::Audio,
        "truncated: the last frame ends at sample",
    );
}

#[test]
fn flac_last_frame_with_a_bad_crc() {
    // The same length, one byte of the last frame changed: its CRC-16 no longer ends the stream.
    let mut data = fixture("flac.flac");
    let at = data.len() - 10;
    data[at] ^= 0x01;
    assert_truncated(&data, Kind::Audio, "truncated: no whole frame");
}

#[test]
fn jpeg_with_data_appended_after_its_image() {
    // A motion photo: the JPEG, then 2 MiB of another file (here an MP4 and noise with no `FF D9`
    // in it), whose bytes are not JPEG data: no EOI in the tail, but nothing says the image was cut.
    let mut data = fixture("jpeg.jpg");
    let want = run(&data, Kind::Image).expect("probes");
    data.extend_from_slice(&fixture("h264.mp4"));
    let noise = (0u32..2 << 20).map(|i| match (i.wrapping_mul(2_654_435_761) >> 13) as u8 {
        0xD9 => 0xD8,
        byte => byte,
    });
    data.extend(noise);
    assert_eq!(run(&data, Kind::Image).expect("probes"), want);
}
