//! S3 multipart uploads that assetd drives itself, part by part across requests and processes
//! (a resumable upload keeps one open for its whole life): create, upload a part, complete,
//! abort. opendal's writer keeps its multipart upload inside one process, so these four calls
//! are made here: signed with SigV4 by reqsign from the same credential chain opendal uses
//! (static keys when configured, else the default AWS chain), sent through opendal's HTTP
//! transport, path-style like the operator.

use std::time::Duration;

use bytes::Bytes;
use opendal::{Buffer, HttpTransporter};
use reqsign_aws_v4::{
    Credential, DefaultCredentialProvider, RequestSigner, StaticCredentialProvider,
};
use reqsign_core::{Context, OsEnv, ProvideCredentialChain, Signer};

use crate::storage::{StorageConfig, StorageError};

/// One uploaded part, as `CompleteMultipartUpload` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub number: u32,
    pub etag: String,
}

/// The multipart calls against the configured bucket.
#[derive(Clone)]
pub struct Multipart {
    /// `{endpoint}/{bucket}`, without a trailing slash.
    base: String,
    signer: Signer<Credential>,
    http: HttpTransporter,
    timeout: Duration,
}

impl std::fmt::Debug for Multipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multipart")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn unavailable(what: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Unavailable(opendal::Error::new(
        opendal::ErrorKind::Unexpected,
        format!("S3 {what}: {detail}"),
    ))
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The text between `<tag>` and `</tag>` in an S3 XML answer.
fn xml_value<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

impl Multipart {
    pub fn new(config: &StorageConfig, bucket: &str) -> Self {
        let endpoint = config
            .s3_endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", config.s3_region));
        let ctx = Context::new()
            .with_file_read(reqsign_file_read_tokio::TokioFileRead)
            .with_env(OsEnv)
            .with_http_send(HttpTransporter::default());
        let mut chain =
            ProvideCredentialChain::new().push(DefaultCredentialProvider::builder().build());
        if let (Some(key_id), Some(secret)) =
            (&config.s3_access_key_id, &config.s3_secret_access_key)
        {
            chain = chain.push_front(StaticCredentialProvider::new(key_id, secret.expose()));
        }
        Self {
            base: format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            signer: Signer::new(ctx, chain, RequestSigner::new("s3", &config.s3_region)),
            http: HttpTransporter::default(),
            timeout: Duration::from_secs(config.storage_timeout_secs.max(1)),
        }
    }

    /// Signs and sends one request; the answer's headers and body, or an error for a non-2xx.
    async fn send(
        &self,
        what: &str,
        method: http::Method,
        uri: String,
        body: Bytes,
    ) -> Result<http::Response<Bytes>, StorageError> {
        let request = http::Request::builder()
            .method(method)
            .uri(&uri)
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(())
            .map_err(|err| unavailable(what, err))?;
        let (mut parts, ()) = request.into_parts();
        self.signer
            .sign(&mut parts, None)
            .await
            .map_err(|err| unavailable(what, format!("signing: {err}")))?;
        let request = http::Request::from_parts(parts, Buffer::from(body));
        let response = tokio::time::timeout(self.timeout, self.http.send(request))
            .await
            .map_err(|_| unavailable(what, "timed out"))?
            .map_err(StorageError::Unavailable)?;
        let (parts, body) = response.into_parts();
        let body = body.to_bytes();
        if !parts.status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let code = xml_value(&text, "Code").unwrap_or_default().to_owned();
            if parts.status == http::StatusCode::NOT_FOUND || code == "NoSuchUpload" {
                return Err(StorageError::NotFound);
            }
            return Err(unavailable(what, format!("{} {code}", parts.status)));
        }
        Ok(http::Response::from_parts(parts, body))
    }

    fn object(&self, key: &str) -> String {
        format!("{}/{key}", self.base)
    }

    /// Starts a multipart upload of `key`; its upload id.
    pub async fn create(&self, key: &str) -> Result<String, StorageError> {
        let uri = format!("{}?uploads=", self.object(key));
        let response = self
            .send(
                "CreateMultipartUpload",
                http::Method::POST,
                uri,
                Bytes::new(),
            )
            .await?;
        let text = String::from_utf8_lossy(response.body());
        xml_value(&text, "UploadId")
            .map(str::to_owned)
            .ok_or_else(|| unavailable("CreateMultipartUpload", "no UploadId in the answer"))
    }

    /// Uploads part `number` (1-based); its ETag.
    pub async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        bytes: Bytes,
    ) -> Result<String, StorageError> {
        let uri = format!(
            "{}?partNumber={number}&uploadId={}",
            self.object(key),
            encode(upload_id)
        );
        let response = self
            .send("UploadPart", http::Method::PUT, uri, bytes)
            .await?;
        response
            .headers()
            .get(http::header::ETAG)
            .and_then(|etag| etag.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| unavailable("UploadPart", "no ETag in the answer"))
    }

    /// Joins the parts, in order, into the object.
    pub async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[Part],
    ) -> Result<(), StorageError> {
        let mut xml = String::from("<CompleteMultipartUpload>");
        for part in parts {
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                part.number,
                part.etag.replace('&', "&amp;").replace('<', "&lt;")
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let uri = format!("{}?uploadId={}", self.object(key), encode(upload_id));
        let response = self
            .send(
                "CompleteMultipartUpload",
                http::Method::POST,
                uri,
                Bytes::from(xml),
            )
            .await?;
        // S3 can answer 200 and report the failure in the body.
        let text = String::from_utf8_lossy(response.body());
        if text.contains("<Error>") {
            let code = xml_value(&text, "Code").unwrap_or("unknown");
            return Err(unavailable("CompleteMultipartUpload", code));
        }
        Ok(())
    }

    /// Aborts the multipart upload, dropping its parts; an upload already gone is fine.
    pub async fn abort(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        let uri = format!("{}?uploadId={}", self.object(key), encode(upload_id));
        match self
            .send(
                "AbortMultipartUpload",
                http::Method::DELETE,
                uri,
                Bytes::new(),
            )
            .await
        {
            Ok(_) | Err(StorageError::NotFound) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded_once() {
        assert_eq!(encode("abc-._~"), "abc-._~");
        assert_eq!(encode("a+b/c="), "a%2Bb%2Fc%3D");
    }

    #[test]
    fn xml_values() {
        let xml = "<InitiateMultipartUploadResult><Bucket>b</Bucket><UploadId>x-1</UploadId></InitiateMultipartUploadResult>";
        assert_eq!(xml_value(xml, "UploadId"), Some("x-1"));
        assert_eq!(xml_value(xml, "Key"), None);
    }
}
