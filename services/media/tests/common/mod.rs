//! What the media crate's test binaries share: the media fixtures and variants made from them.
// Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;

/// tests/fixtures/media of the repository.
pub fn media_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/media")
}

/// The bytes of one media fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(media_dir().join(name)).expect("fixture reads")
}

/// webm_live.webm (an unknown-size Segment, no Duration) with every cluster's 2-byte size
/// turned into the 2-byte "unknown" value too, as MediaRecorder streams have; and how many
/// clusters were patched.
pub fn live_webm_with_unknown_cluster_sizes() -> (Vec<u8>, usize) {
    let mut data = fixture("webm_live.webm");
    let mut patched = 0;
    let mut at = 0;
    while let Some(i) = data[at..]
        .windows(4)
        .position(|w| w == [0x1F, 0x43, 0xB6, 0x75])
    {
        let size = at + i + 4;
        if data[size] & 0xC0 == 0x40 {
            data[size] = 0x7F;
            data[size + 1] = 0xFF;
            patched += 1;
        }
        at = size;
    }
    (data, patched)
}
