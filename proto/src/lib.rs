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
    /// up, and their calls fail with UNAVAILABLE until it is reachable. With a service token,
    /// every call carries `authorization: Bearer <token>`.
    pub fn connect(
        url: &str,
        service_token: Option<String>,
    ) -> Result<CatalogClient, tonic::transport::Error> {
        let endpoint = Endpoint::from_shared(url.to_owned())?
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(15))
            .tcp_nodelay(true);
        Ok(
            v1::catalog_service_client::CatalogServiceClient::with_interceptor(
                endpoint.connect_lazy(),
                crate::context::ForwardRequestId::with_service_token(service_token),
            ),
        )
    }
}

pub mod gateway {
    pub mod v1 {
        tonic::include_proto!("assetd.gateway.v1");
    }
}

/// The encoded file descriptor set of every package here, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("assetd_descriptor");

/// The request id of the work in progress, carried from an HTTP request or a queue message into
/// every gRPC call made on its behalf (as `x-request-id` metadata).
pub mod context {
    use tonic::{
        Request, Status,
        metadata::{Ascii, MetadataValue},
        service::Interceptor,
    };

    tokio::task_local! {
        /// Set with `REQUEST_ID.scope(id, future)` around the work of one request or job.
        pub static REQUEST_ID: String;
    }

    /// The current request id, if the running task has one.
    pub fn request_id() -> Option<String> {
        REQUEST_ID.try_with(Clone::clone).ok()
    }

    /// Adds the current request id to outgoing calls, and the service token when one is configured.
    #[derive(Clone, Default)]
    pub struct ForwardRequestId {
        authorization: Option<MetadataValue<Ascii>>,
    }

    impl ForwardRequestId {
        /// Also sends `authorization: Bearer <token>` on every call. A token that cannot be a
        /// metadata value (control characters) is sent as an empty one and refused by the server.
        pub fn with_service_token(token: Option<String>) -> Self {
            let authorization = token.map(|token| {
                let mut value = format!("Bearer {token}")
                    .parse::<MetadataValue<Ascii>>()
                    .unwrap_or_else(|_| MetadataValue::from_static("Bearer"));
                value.set_sensitive(true);
                value
            });
            Self { authorization }
        }
    }

    impl std::fmt::Debug for ForwardRequestId {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("ForwardRequestId")
                .field("service_token", &self.authorization.as_ref().map(|_| "***"))
                .finish()
        }
    }

    impl Interceptor for ForwardRequestId {
        fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
            if let Some(value) = request_id().and_then(|id| id.parse().ok()) {
                request.metadata_mut().insert("x-request-id", value);
            }
            if let Some(value) = &self.authorization {
                request
                    .metadata_mut()
                    .insert("authorization", value.clone());
            }
            Ok(request)
        }
    }
}
