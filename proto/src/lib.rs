//! The generated gRPC types and clients/servers of assetd's internal services, one module per package and version.

pub mod catalog {
    pub mod v1 {
        tonic::include_proto!("assetd.catalog.v1");
    }

    use std::time::Duration;

    use tonic::transport::{Channel, Endpoint};

    pub type CatalogClient = v1::catalog_service_client::CatalogServiceClient<Channel>;

    /// A lazily connecting catalog client: callers start even while the catalog is still coming
    /// up, and their calls fail with UNAVAILABLE until it is reachable.
    pub fn connect(url: &str) -> Result<CatalogClient, tonic::transport::Error> {
        let endpoint = Endpoint::from_shared(url.to_owned())?
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(15))
            .tcp_nodelay(true);
        Ok(CatalogClient::new(endpoint.connect_lazy()))
    }
}

/// The encoded file descriptor set of every package here, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("assetd_descriptor");
