//! A 256 MiB chunked upload generated on the fly: stored byte-exact, hashed right, and without buffering in memory.

use assetd_tests::{Assetd, Engine, Options};
use bytes::{Bytes, BytesMut};
use reqwest::{Client, StatusCode};
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;
const TOTAL_MIB: usize = 256;

/// Chunk `i` of the generated file: an MP4 `ftyp` box first, then a pseudo-random block tagged with `i`.
fn chunk(block: &Bytes, i: usize) -> Bytes {
    let mut chunk = BytesMut::from(&block[..]);
    chunk[..8].copy_from_slice(&(i as u64).to_le_bytes());
    if i == 0 {
        chunk[..24].copy_from_slice(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom");
    }
    chunk.freeze()
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn a_256_mib_stream_is_stored_exactly() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let block: Bytes = (0..MIB)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect::<Vec<u8>>()
        .into();
    let mut expected = Sha256::new();
    for i in 0..TOTAL_MIB {
        expected.update(chunk(&block, i));
    }
    let expected = hex::encode(expected.finalize());

    let stream_block = block.clone();
    let body = futures::stream::iter(
        (0..TOTAL_MIB).map(move |i| Ok::<_, std::io::Error>(chunk(&stream_block, i))),
    );
    let response = Client::new()
        .post(app.url("/v1/uploads"))
        .header("x-api-key", &key)
        .header("x-file-name", "big.mp4")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::CREATED);
    let asset: serde_json::Value = response.json().await.expect("json");
    assert_eq!(asset["data"]["type"], "VIDEO");
    assert_eq!(
        asset["data"]["size"].as_u64(),
        Some((TOTAL_MIB * MIB) as u64)
    );
    assert_eq!(asset["data"]["sha256"], expected);

    let file_key = asset["data"]["fileKey"].as_str().expect("fileKey");
    let assetd_tests::TestStorage::Fs { dir } = &app.storage else {
        unreachable!("fs storage")
    };
    let stored = std::fs::metadata(dir.join(file_key)).expect("stored object");
    assert_eq!(stored.len(), (TOTAL_MIB * MIB) as u64);

    // Peak memory of the whole process stays far below the file size: the body was never buffered.
    let peak_mib = vm_hwm_kib(app.pid()).expect("VmHWM") / 1024;
    assert!(
        peak_mib < 160,
        "assetd peaked at {peak_mib} MiB while storing a {TOTAL_MIB} MiB upload"
    );
}
