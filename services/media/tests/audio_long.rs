//! Ten-minute FLAC, WAV and Ogg Vorbis files (probed through symphonia) and the formats kept on our
//! own parsers: durations, bounded reads, and budget, storage and panic errors mapped as ours.
//!
//! The long files are virtual: the real head (and for Ogg the last page) of a corpus fixture,
//! patched to ten minutes, with zeros in between, so nothing large is stored or allocated.

use std::io;
use std::time::Duration;

use assetd_media::{Budget, Kind, MemSource, ProbeError, Source, probe, probe_with_stats};

const TEN_MINUTES: f64 = 600.0;
const RATE: u64 = 44_100;

mod common;
use common::fixture;

/// `head`, then zeros, then `tail` at the very end; reads past `fail_after` fail as storage errors.
struct Padded {
    head: Vec<u8>,
    tail: Vec<u8>,
    len: u64,
    fail_after: u64,
}

impl Padded {
    fn new(head: Vec<u8>, tail: Vec<u8>, len: u64) -> Self {
        Self {
            head,
            tail,
            len,
            fail_after: u64::MAX,
        }
    }
}

impl Source for Padded {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.fail_after {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "storage hiccup",
            ));
        }
        let tail_at = self.len - self.tail.len() as u64;
        let n = buf.len().min((self.len.saturating_sub(offset)) as usize);
        for (i, byte) in buf[..n].iter_mut().enumerate() {
            let at = offset + i as u64;
            *byte = if at < self.head.len() as u64 {
                self.head[at as usize]
            } else if at >= tail_at {
                self.tail[(at - tail_at) as usize]
            } else {
                0
            };
        }
        Ok(n)
    }
}

/// flac.flac (2 s, 8 kHz, 576-sample blocks) stretched to ten minutes of 50 MB: STREAMINFO's
/// total samples set to ten minutes, the fixture, zeros, and at the very end the fixture's last
/// frame renumbered as the ten minutes' last (frame 8333, 192 samples: 8333 * 576 + 192 = 4.8 M
/// samples) with both CRCs redone, so the completeness check finds a whole last frame there.
fn long_flac() -> Padded {
    let mut head = fixture("flac.flac");
    assert_eq!(&head[..4], b"fLaC");
    let info = &head[8..];
    let rate = u32::from_be_bytes([0, info[10], info[11], info[12]]) >> 4;
    let block = u64::from(u16::from_be_bytes([info[2], info[3]]));
    let total = (TEN_MINUTES as u64) * u64::from(rate);
    // STREAMINFO body at 8: total samples are the low 4 bits of byte 13 and bytes 14..18.
    head[8 + 13] = (head[8 + 13] & 0xF0) | ((total >> 32) as u8 & 0x0F);
    head[8 + 14..8 + 18].copy_from_slice(&(total as u32).to_be_bytes());

    // The last frame: sync, block size code 7 (16-bit size - 1), rate, layout, a one-byte frame
    // number, the size, CRC-8; then the subframes and CRC-16.
    let last = head
        .windows(2)
        .rposition(|w| w == [0xFF, 0xF8])
        .expect("a last frame");
    let frame = &head[last..];
    assert_eq!(
        frame[2] >> 4,
        7,
        "last frame of flac.flac has an explicit 16-bit size"
    );
    let number = (total - 1) / block;
    let samples = total - number * block;
    let mut tail = frame[..4].to_vec();
    tail.extend_from_slice(&utf8_number(number));
    tail.extend_from_slice(&((samples - 1) as u16).to_be_bytes());
    tail.push(flac_crc8(&tail));
    tail.extend_from_slice(&frame[8..frame.len() - 2]);
    let crc = flac_crc16(&tail);
    tail.extend_from_slice(&crc.to_be_bytes());
    Padded::new(head, tail, 50_000_000)
}

/// FLAC's UTF-8-style frame number (up to 31 bits).
fn utf8_number(n: u64) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let mut extra = 1;
    while n >> (6 * extra) >= 1 << (6 - extra) {
        extra += 1;
    }
    let lead = (0xFF00u16 >> (extra + 1)) as u8 | (n >> (6 * extra)) as u8;
    let mut out = vec![lead];
    for i in (0..extra).rev() {
        out.push(0x80 | ((n >> (6 * i)) & 0x3F) as u8);
    }
    out
}

/// FLAC's frame header CRC-8 (polynomial 0x07) and frame CRC-16 (0x8005), zero start.
fn flac_crc8(data: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &byte in data {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn flac_crc16(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x8005
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// A 16-bit mono 44.1 kHz WAV header for ten minutes of (virtual, silent) PCM.
fn long_wav(data_size: u32) -> Padded {
    let pcm = (TEN_MINUTES as u64) * RATE * 2;
    let mut head = b"RIFF".to_vec();
    head.extend_from_slice(&data_size.saturating_add(36).to_le_bytes());
    head.extend_from_slice(b"WAVEfmt ");
    head.extend_from_slice(&16u32.to_le_bytes());
    head.extend_from_slice(&1u16.to_le_bytes()); // PCM
    head.extend_from_slice(&1u16.to_le_bytes()); // mono
    head.extend_from_slice(&(RATE as u32).to_le_bytes());
    head.extend_from_slice(&(RATE as u32 * 2).to_le_bytes()); // byte rate
    head.extend_from_slice(&2u16.to_le_bytes()); // block align
    head.extend_from_slice(&16u16.to_le_bytes());
    head.extend_from_slice(b"data");
    head.extend_from_slice(&data_size.to_le_bytes());
    let len = head.len() as u64 + pcm;
    Padded::new(head, Vec::new(), len)
}

/// The Ogg page CRC: CRC-32, polynomial 0x04C11DB7, no reflection, zero start, no final xor.
fn ogg_crc(page: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in page {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// vorbis.ogg (2 s) stretched to ten minutes of 20 MB: all pages but the last, zeros, then the
/// last page with its granule position moved on by 598 s (and its CRC redone).
fn long_ogg() -> Padded {
    let data = fixture("vorbis.ogg");
    let last = data
        .windows(4)
        .rposition(|w| w == b"OggS")
        .expect("a last page");
    let mut page = data[last..].to_vec();
    let granule = u64::from_le_bytes(page[6..14].try_into().expect("8 bytes"));
    let granule = granule + (TEN_MINUTES as u64 - 2) * RATE;
    page[6..14].copy_from_slice(&granule.to_le_bytes());
    page[22..26].fill(0);
    let crc = ogg_crc(&page);
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    Padded::new(data[..last].to_vec(), page, 20_000_000)
}

fn assert_ten_minutes(name: &str, source: &dyn Source, max_read: u64) {
    let (result, stats) = probe_with_stats(source, Kind::Audio, &Budget::default());
    let got = result.unwrap_or_else(|err| panic!("{name}: {err}"));
    let duration = got.duration.expect("a duration");
    eprintln!(
        "{name}: {} {duration}s from {} bytes, read {} bytes in {} reads",
        got.format,
        source.len(),
        stats.bytes_read,
        stats.reads
    );
    assert!((duration - TEN_MINUTES).abs() < 0.05, "{name}: {duration}");
    assert!(
        stats.bytes_read <= max_read,
        "{name}: read {} bytes",
        stats.bytes_read
    );
}

#[test]
fn ten_minute_files_read_little() {
    // One 64 KiB chunk for the FLAC and WAV headers, and for FLAC the last 64 KiB (two chunks)
    // searched for the last frame; for Ogg the head chunk plus the ~64 KiB of pages symphonia and
    // the completeness check look at in the end (two or three chunks there).
    assert_ten_minutes("flac", &long_flac(), 3 * 64 * 1024);
    let pcm = (TEN_MINUTES as u32) * RATE as u32 * 2;
    assert_ten_minutes("wav", &long_wav(pcm), 64 * 1024);
    assert_ten_minutes("ogg", &long_ogg(), 4 * 64 * 1024);
}

#[test]
fn streamed_wav_falls_back_to_the_file_size() {
    // ffmpeg writing to a pipe leaves both sizes at 0xFFFFFFFF; symphonia then has no length, our
    // byte-rate division over the rest of the file does.
    assert_ten_minutes("streamed wav", &long_wav(u32::MAX), 64 * 1024);
}

#[test]
fn opus_keeps_the_pre_skip_out() {
    // Symphonia would say 2.0065 s (the 312-sample pre-skip counted); the playable length is 2.0.
    let got = probe(
        &MemSource::new(fixture("opus.opus")),
        Kind::Audio,
        &Budget::default(),
    )
    .expect("probes");
    assert_eq!(got.format, "opus");
    let duration = got.duration.expect("a duration");
    assert!((duration - 2.0).abs() < 0.001, "{duration}");
}

#[test]
fn symphonia_reads_obey_the_budget() {
    let tiny = Budget {
        max_bytes_read: 100 * 1024,
        max_time: Duration::from_secs(5),
    };
    // The Ogg head fits the budget, the tail scan does not: the budget error comes back as such,
    // however symphonia reports (or swallows) the failed read.
    let err = probe(&long_ogg(), Kind::Audio, &tiny).expect_err("over budget");
    assert!(matches!(err, ProbeError::BudgetExceeded(_)), "{err}");

    // A storage failure past the first chunk is a transient I/O error, not a malformed file.
    let mut failing = long_ogg();
    failing.fail_after = 64 * 1024;
    let err = probe(&failing, Kind::Audio, &Budget::default()).expect_err("storage fails");
    assert!(err.is_transient(), "{err}");

    // No time left: the first fetch fails.
    let err = probe(
        &long_flac(),
        Kind::Audio,
        &Budget {
            max_bytes_read: u64::MAX,
            max_time: Duration::ZERO,
        },
    )
    .expect_err("out of time");
    assert!(matches!(err, ProbeError::BudgetExceeded(_)), "{err}");
}

#[test]
fn hostile_wav_headers_are_malformed() {
    // 65535 channels of 32-bit PCM overflows symphonia's block-align product (a panic where
    // overflow checks are on): either way it must come back as a malformed file.
    let mut wav = long_wav(1000).head;
    wav[22..24].copy_from_slice(&u16::MAX.to_le_bytes());
    wav[34..36].copy_from_slice(&32u16.to_le_bytes());
    wav.resize(wav.len() + 1000, 0);
    let err = probe(&MemSource::new(wav), Kind::Audio, &Budget::default()).expect_err("hostile");
    assert!(matches!(err, ProbeError::Malformed(_)), "{err}");
}
