//! Fuzzes `probe` with Kind::Video over in-memory bytes, put behind an EBML magic unless it has one, so the Matroska walker is what gets fuzzed.
#![no_main]

use assetd_media::{Budget, Kind, MemSource, probe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = if data.get(0..4) == Some(&[0x1A, 0x45, 0xDF, 0xA3]) {
        data.to_vec()
    } else {
        let mut bytes = vec![0x1A, 0x45, 0xDF, 0xA3];
        bytes.extend_from_slice(data);
        bytes
    };
    let _ = probe(&MemSource::new(bytes), Kind::Video, &Budget::default());
});
