//! Compiles the .proto tree into OUT_DIR with a vendored `protoc`, so no system install is needed.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "assetd/catalog/v1/catalog.proto",
    "assetd/gateway/v1/gateway.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("assetd_descriptor.bin"))
        .compile_with_config(config, PROTOS, &["."])?;

    // tonic-prost-build no longer prints these itself.
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    Ok(())
}
