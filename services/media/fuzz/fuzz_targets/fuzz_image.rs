//! Fuzzes `probe` with Kind::Image over in-memory bytes (any image format; the corpus seeds it with real files).
#![no_main]

use assetd_media::{Budget, Kind, MemSource, probe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = data.to_vec();
    let _ = probe(&MemSource::new(bytes), Kind::Image, &Budget::default());
});
