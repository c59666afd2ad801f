//! The gateway's gRPC server for internal callers: the client-streaming `Upload`, on the same
//! upload core (validation, limits, cleanup) as `POST /v1/uploads`, plus standard health and
//! reflection. Internal callers are trusted by the service token and name the account.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use assetd_platform::{
    admin::Readiness, grpc_error, grpc_server::GrpcServer, reason::Reason,
    service_token::RequireServiceToken,
};
use assetd_proto::{
    gateway::v1::{
        self as pb,
        gateway_service_server::{GatewayService, GatewayServiceServer},
        upload_request::Part,
    },
    ids::AccountId,
};
use bytes::Bytes;
use futures::StreamExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use crate::{
    app::AppState,
    asset_body,
    problem::ApiError,
    upload::{self, UploadHeaders},
};

/// The gRPC status of an API error: the code and ErrorInfo reason of its `errorCode`.
pub fn status(err: &ApiError) -> Status {
    grpc_error::status(err.reason(), err.to_string())
}

#[derive(Clone, Debug)]
pub struct Gateway {
    state: AppState,
}

impl Gateway {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn metadata_required() -> Status {
    grpc_error::status(
        Reason::UploadMetadataRequired,
        "the first message of an upload must be its metadata",
    )
}

/// The metadata, checked like the HTTP headers are.
fn upload_headers(
    metadata: pb::UploadMetadata,
    header_request_id: Option<&str>,
) -> Result<(AccountId, UploadHeaders), ApiError> {
    let account_id = metadata
        .account_id
        .trim()
        .parse()
        .map_err(|_| ApiError::IdInvalid("account_id"))?;
    let headers = UploadHeaders {
        filename: upload::check_file_name(&metadata.filename)?,
        project_id: metadata
            .project_id
            .as_deref()
            .map(upload::check_project_id)
            .transpose()?,
        declared_len: metadata.size,
        request_id: assetd_proto::context::request_id_or_new(
            metadata.request_id.as_deref().or(header_request_id),
        ),
        digests: crate::digest::Wanted::default(),
    };
    Ok((account_id, headers))
}

#[tonic::async_trait]
impl GatewayService for Gateway {
    async fn upload(
        &self,
        request: Request<Streaming<pb::UploadRequest>>,
    ) -> Result<Response<pb::UploadResponse>, Status> {
        let header_request_id = request
            .metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut messages = request.into_inner();
        let metadata = match messages.message().await? {
            Some(pb::UploadRequest {
                part: Some(Part::Metadata(metadata)),
            }) => metadata,
            _ => return Err(metadata_required()),
        };
        let (account_id, headers) =
            upload_headers(metadata, header_request_id.as_deref()).map_err(|err| status(&err))?;

        // After the metadata, only chunks: anything else breaks the stream off (and is reported
        // as such instead of as an incomplete upload).
        let misplaced = Arc::new(AtomicBool::new(false));
        let chunks = {
            let misplaced = misplaced.clone();
            messages.map(move |message| match message {
                Ok(pb::UploadRequest {
                    part: Some(Part::Chunk(chunk)),
                }) => Ok(Bytes::from(chunk)),
                Ok(_) => {
                    misplaced.store(true, Ordering::SeqCst);
                    Err(())
                }
                Err(_) => Err(()),
            })
        };
        let stored = upload::accept(&self.state, account_id, headers, chunks).await;
        let asset = match stored {
            Ok(asset) => asset,
            Err(ApiError::Incomplete { .. }) if misplaced.load(Ordering::SeqCst) => {
                return Err(grpc_error::status(
                    Reason::UploadStreamInvalid,
                    "after the metadata, every message of an upload must be a chunk",
                ));
            }
            Err(err) => return Err(status(&err)),
        };
        let file_url = asset_body::file_url(&self.state, &asset.file_key)
            .await
            .map_err(|err| status(&err))?;
        Ok(Response::new(pb::UploadResponse {
            asset: Some(asset),
            file_url,
        }))
    }
}

/// Serves the gateway's gRPC on `listener` until `shutdown` is cancelled, on the role's
/// [`GrpcServer`] (health follows the gateway's readiness and turns NOT_SERVING first; uploads in
/// flight finish or are cut with the HTTP ones).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    readiness: Readiness,
    service_token: RequireServiceToken,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let service =
        GatewayServiceServer::with_interceptor(Gateway::new(state), service_token.clone());
    GrpcServer::new("gateway", readiness, service_token)
        .add_service(service)
        .serve(listener, shutdown)
        .await
}
