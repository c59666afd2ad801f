//! Entry points for the fuzz targets (services/gateway/fuzz): thin wrappers over the request parsers; not an API.

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
};

use axum::{
    body::Body,
    extract::{FromRequest, Query, Request},
    http::{Uri, header},
};
use serde_json::{Map, Value};

use crate::{json_body::JsonBody, paging, problem::ApiError};

/// `x-file-name` as the upload route checks it.
#[doc(hidden)]
pub fn check_file_name(filename: &str) -> Result<String, ApiError> {
    crate::upload::check_file_name(filename)
}

/// `x-project-id` as the upload route checks it.
#[doc(hidden)]
pub fn check_project_id(text: &str) -> Result<String, ApiError> {
    crate::upload::check_project_id(text).map(String::from)
}

/// `x-request-id` as the upload route takes it.
#[doc(hidden)]
pub fn request_id_or_new(given: Option<&str>) -> String {
    assetd_proto::context::request_id_or_new(given)
}

/// A `{projectId}` path segment as the project routes check it.
#[doc(hidden)]
pub fn path_id(value: &str) -> Result<String, ApiError> {
    crate::path_id::path_id::<assetd_proto::ids::ProjectId>(value, "projectId").map(String::from)
}

/// A list route's query string (without the `?`) as `paging::page` checks it under a rule of
/// `default`, `max`; `None` when `query` cannot be part of a URI at all (hyper would have refused it).
#[doc(hidden)]
pub fn page(query: &str, default: u32, max: u32) -> Option<Result<(u32, String), ApiError>> {
    let uri: Uri = format!("/v1/projects?{query}").parse().ok()?;
    let rule = paging::PageRule {
        default,
        max,
        unprocessable: false,
    };
    Some(paging::page(Query::try_from_uri(&uri), rule))
}

/// A request body as the `JsonBody` extractor takes it, with the request's `Content-Type` and
/// `Content-Length` header values (if sent, as raw bytes; `None` if they are not valid header
/// values, as hyper would have refused the request).
#[doc(hidden)]
pub fn json_body(
    content_type: Option<&[u8]>,
    content_length: Option<&[u8]>,
    body: &[u8],
) -> Option<Result<Map<String, Value>, ApiError>> {
    let mut request = Request::builder().method("POST").uri("/v1/projects");
    if let Some(value) = content_type {
        request = request.header(header::CONTENT_TYPE, value);
    }
    if let Some(value) = content_length {
        request = request.header(header::CONTENT_LENGTH, value);
    }
    let request = request.body(Body::from(body.to_vec())).ok()?;
    let extracted = ready(JsonBody::from_request(request, &()))?;
    Some(extracted.map(|JsonBody(object)| object))
}

/// Polls a future that needs no I/O (an in-memory body) to its end; `None` if it never gets there.
fn ready<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    for _ in 0..1024 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return Some(output);
        }
    }
    None
}
