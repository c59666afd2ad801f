//! The generated gRPC types and clients/servers of assetd's internal services, one module per package and version.

pub mod catalog {
    pub mod v1 {
        tonic::include_proto!("assetd.catalog.v1");
    }

    use std::time::Duration;

    use tonic::{
        service::interceptor::InterceptedService,
        transport::{Channel, Endpoint},
    };

    pub type CatalogClient = v1::catalog_service_client::CatalogServiceClient<
        InterceptedService<Channel, crate::context::ForwardRequestId>,
    >;

    /// A lazily connecting catalog client: callers start even while the catalog is still coming
    /// up, and their calls fail with UNAVAILABLE until it is reachable.
    pub fn connect(url: &str) -> Result<CatalogClient, tonic::transport::Error> {
        let endpoint = Endpoint::from_shared(url.to_owned())?
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(15))
            .tcp_nodelay(true);
        Ok(
            v1::catalog_service_client::CatalogServiceClient::with_interceptor(
                endpoint.connect_lazy(),
                crate::context::ForwardRequestId,
            ),
        )
    }
}

/// The encoded file descriptor set of every package here, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("assetd_descriptor");

/// The request id of the work in progress, carried from an HTTP request or a queue message into
/// every gRPC call made on its behalf (as `x-request-id` metadata).
pub mod context {
    use tonic::{Request, Status, service::Interceptor};

    tokio::task_local! {
        /// Set with `REQUEST_ID.scope(id, future)` around the work of one request or job.
        pub static REQUEST_ID: String;
    }

    /// The current request id, if the running task has one.
    pub fn request_id() -> Option<String> {
        REQUEST_ID.try_with(Clone::clone).ok()
    }

    /// Adds the current request id to outgoing calls.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct ForwardRequestId;

    impl Interceptor for ForwardRequestId {
        fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
            if let Some(value) = request_id().and_then(|id| id.parse().ok()) {
                request.metadata_mut().insert("x-request-id", value);
            }
            Ok(request)
        }
    }
}
