//! The generated gRPC types and clients/servers of assetd's internal services, one module per package and version.

pub mod catalog {
    pub mod v1 {
        tonic::include_proto!("assetd.catalog.v1");
    }
}

/// The encoded file descriptor set of every package here, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("assetd_descriptor");
