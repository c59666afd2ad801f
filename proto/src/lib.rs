//! The generated gRPC types and clients of assetd's internal services, one module per package and
//! version, plus what travels with every call: the request id and trace context, the typed ids,
//! and the wire enums' bridge to the shared asset kinds.

pub mod events;
pub mod ids;

pub mod catalog {
    pub mod v1 {
        tonic::include_proto!("assetd.catalog.v1");
    }

    use std::{convert::Infallible, time::Duration};

    use tonic::{
        body::Body,
        service::interceptor::InterceptedService,
        transport::{Channel, Endpoint},
    };
    use tower::{BoxError, ServiceExt, util::BoxCloneSyncService};

    /// How a catalog client reaches the catalog: a gRPC connection, or the catalog's own service
    /// in the same process (`assetd serve`), which skips the loopback socket and HTTP/2 framing
    /// but still runs the same encoding, interceptors and layers.
    pub type CatalogChannel =
        BoxCloneSyncService<http::Request<Body>, http::Response<Body>, ChannelError>;

    /// A transport failure of a [`CatalogChannel`] (a concrete type: a boxed error here trips
    /// the compiler's `Send` checks of the client's futures).
    #[derive(Debug)]
    pub struct ChannelError(BoxError);

    impl std::fmt::Display for ChannelError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.fmt(f)
        }
    }

    impl std::error::Error for ChannelError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            // The transport error itself, so tonic finds it when it picks the call's status
            // (a refused connection is UNAVAILABLE).
            Some(self.0.as_ref())
        }
    }

    pub type CatalogClient = v1::catalog_service_client::CatalogServiceClient<
        InterceptedService<CatalogChannel, crate::context::ForwardContext>,
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
        let channel: Channel = endpoint.connect_lazy();
        Ok(client(
            BoxCloneSyncService::new(channel.map_err(|err| ChannelError(err.into()))),
            service_token,
        ))
    }

    /// A client of a catalog service running in this process (see [`CatalogChannel`]).
    pub fn in_process<S, B>(service: S, service_token: Option<String>) -> CatalogClient
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<B>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let service = service
            .map_response(|response: http::Response<B>| response.map(Body::new))
            .map_err(|never: Infallible| match never {});
        client(BoxCloneSyncService::new(service), service_token)
    }

    fn client(channel: CatalogChannel, service_token: Option<String>) -> CatalogClient {
        v1::catalog_service_client::CatalogServiceClient::with_interceptor(
            channel,
            crate::context::ForwardContext::with_service_token(service_token),
        )
    }
}

/// The wire enums' names: asset kinds as [`assetd_media::Kind`] (the one definition of them) and
/// probe statuses as the API and the rows spell them.
mod kinds {
    use assetd_media::Kind;

    use crate::catalog::v1::AssetKind;

    impl From<Kind> for AssetKind {
        fn from(kind: Kind) -> Self {
            match kind {
                Kind::Image => AssetKind::Image,
                Kind::Gif => AssetKind::Gif,
                Kind::Video => AssetKind::Video,
                Kind::Audio => AssetKind::Audio,
                Kind::Caption => AssetKind::Caption,
            }
        }
    }

    impl crate::catalog::v1::ProbeStatus {
        /// The status as the HTTP API (`probeStatus`) and the catalog's rows spell it; an
        /// unspecified status reads as `pending` (nothing has been recorded yet).
        pub const fn name(self) -> &'static str {
            use crate::catalog::v1::ProbeStatus;
            match self {
                ProbeStatus::Pending | ProbeStatus::Unspecified => "pending",
                ProbeStatus::Ready => "ready",
                ProbeStatus::Failed => "failed",
            }
        }

        /// The status spelt `name` ([`Self::name`]), unspecified for anything else.
        pub fn from_name(name: &str) -> Self {
            use crate::catalog::v1::ProbeStatus;
            [
                ProbeStatus::Pending,
                ProbeStatus::Ready,
                ProbeStatus::Failed,
            ]
            .into_iter()
            .find(|status| status.name() == name)
            .unwrap_or(ProbeStatus::Unspecified)
        }
    }

    impl AssetKind {
        /// The kind, or `None` when unspecified.
        pub fn media_kind(self) -> Option<Kind> {
            Kind::ALL
                .into_iter()
                .find(|kind| AssetKind::from(*kind) == self)
        }
    }
}

pub mod gateway {
    pub mod v1 {
        tonic::include_proto!("assetd.gateway.v1");
    }
}

/// The encoded file descriptor set of every package here, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("assetd_descriptor");

/// The request id and the W3C trace context of the work in progress, carried from an HTTP request
/// or a queue message into every gRPC call made on its behalf (as `x-request-id`, `traceparent` and
/// `tracestate` metadata).
pub mod context {
    use opentelemetry::{
        global,
        propagation::{Extractor, Injector},
        trace::TraceContextExt,
    };
    use tonic::{
        Request, Status,
        metadata::{Ascii, MetadataValue},
        service::Interceptor,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    tokio::task_local! {
        /// Set with `REQUEST_ID.scope(id, future)` around the work of one request or job.
        pub static REQUEST_ID: String;
    }

    /// Longest client-supplied request id kept; longer ones are replaced.
    pub const MAX_REQUEST_ID_LEN: usize = 128;

    /// The caller's request id (trimmed) when usable: not empty, at most [`MAX_REQUEST_ID_LEN`]
    /// bytes; else a new one.
    pub fn request_id_or_new(given: Option<&str>) -> String {
        given
            .map(str::trim)
            .filter(|id| !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN)
            .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned)
    }

    /// The current request id, if the running task has one.
    pub fn request_id() -> Option<String> {
        REQUEST_ID.try_with(Clone::clone).ok()
    }

    /// A W3C trace context as it travels between processes: the `traceparent` and `tracestate`
    /// values (empty when absent). Stored with a probe job, sent as AMQP headers and gRPC metadata.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct TraceContext {
        pub traceparent: String,
        pub tracestate: String,
    }

    impl TraceContext {
        /// The context of the current span, to hand to the next hop. Empty outside any span or
        /// when no W3C propagator is installed (`assetd_platform::telemetry::init` installs it).
        pub fn current() -> Self {
            let cx = tracing::Span::current().context();
            let mut carried = Self::default();
            global::get_text_map_propagator(|propagator| {
                propagator.inject_context(&cx, &mut carried)
            });
            carried
        }

        /// The context an HTTP request or gRPC call arrived with.
        pub fn from_headers(headers: &http::HeaderMap) -> Self {
            Self::read(|name| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })
        }

        /// Reads both values with `header`, a lookup in any carrier (absent: empty).
        pub fn read(header: impl Fn(&str) -> Option<String>) -> Self {
            Self {
                traceparent: header("traceparent").unwrap_or_default(),
                tracestate: header("tracestate").unwrap_or_default(),
            }
        }

        /// The values under their header names, to write into any carrier.
        pub fn entries(&self) -> [(&'static str, &str); 2] {
            [
                ("traceparent", &self.traceparent),
                ("tracestate", &self.tracestate),
            ]
        }
    }

    impl crate::catalog::v1::ProbeJob {
        /// The trace context the job was queued in.
        pub fn trace_context(&self) -> TraceContext {
            TraceContext {
                traceparent: self.traceparent.clone(),
                tracestate: self.tracestate.clone(),
            }
        }
    }

    impl Injector for TraceContext {
        fn set(&mut self, key: &str, value: String) {
            match key {
                "traceparent" => self.traceparent = value,
                "tracestate" => self.tracestate = value,
                _ => {}
            }
        }
    }

    impl Extractor for TraceContext {
        fn get(&self, key: &str) -> Option<&str> {
            self.entries()
                .into_iter()
                .find(|(name, value)| *name == key && !value.is_empty())
                .map(|(_, value)| value)
        }

        fn keys(&self) -> Vec<&str> {
            vec!["traceparent", "tracestate"]
        }
    }

    /// Makes `span` continue the trace `parent` came from (a new trace when `parent` is empty or
    /// malformed) and records the trace id in the span's `trace_id` field, so every log line
    /// inside the span carries it. Call it before the span is first entered.
    pub fn continue_trace(span: &tracing::Span, parent: &TraceContext) {
        let parent = global::get_text_map_propagator(|propagator| propagator.extract(parent));
        // Fails only when tracing is not set up with OpenTelemetry (e.g. in unit tests).
        let _ = span.set_parent(parent);
        let cx = span.context();
        let span_context = cx.span().span_context().clone();
        if span_context.is_valid() {
            span.record("trace_id", tracing::field::display(span_context.trace_id()));
        }
    }

    /// Adds the current request id and trace context to outgoing calls, and the service token
    /// when one is configured.
    #[derive(Clone, Default)]
    pub struct ForwardContext {
        authorization: Option<MetadataValue<Ascii>>,
    }

    impl ForwardContext {
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

    impl std::fmt::Debug for ForwardContext {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("ForwardContext")
                .field("service_token", &self.authorization.as_ref().map(|_| "***"))
                .finish()
        }
    }

    impl Interceptor for ForwardContext {
        fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
            if let Some(value) = request_id().and_then(|id| id.parse().ok()) {
                request.metadata_mut().insert("x-request-id", value);
            }
            for (name, value) in TraceContext::current().entries() {
                if let Ok(value) = value.parse::<MetadataValue<Ascii>>()
                    && !value.is_empty()
                {
                    request.metadata_mut().insert(name, value);
                }
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
