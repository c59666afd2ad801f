//! Fuzzes `probe` with Kind::Video over in-memory bytes, put behind an ftyp box unless it has one, so the ISO-BMFF walker is what gets fuzzed.
#![no_main]

use assetd_media::{Budget, Kind, MemSource, probe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = if data.get(4..8) == Some(b"ftyp") {
        data.to_vec()
    } else {
        let mut bytes = b"\0\0\0\x10ftypisom\0\0\0\0".to_vec();
        bytes.extend_from_slice(data);
        bytes
    };
    let _ = probe(&MemSource::new(bytes), Kind::Video, &Budget::default());
});
