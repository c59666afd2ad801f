//! Fuzzes `probe` with Kind::Audio over in-memory bytes (MP3, ADTS, FLAC, Ogg, WAV, M4A).
#![no_main]

use assetd_media::{Budget, Kind, MemSource, probe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = data.to_vec();
    let _ = probe(&MemSource::new(bytes), Kind::Audio, &Budget::default());
});
