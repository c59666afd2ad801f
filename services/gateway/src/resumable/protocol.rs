//! Which resumable protocol a request speaks (tus 1.0 or an interop version of the IETF draft)
//! and the parsing of their request headers: `Upload-Length`, `Upload-Offset`, `Upload-Metadata`,
//! `Upload-Concat`, `Upload-Checksum`, `Upload-Complete`.

use axum::http::{HeaderMap, header};
use base64::Engine as _;

use crate::problem::ApiError;

/// The only tus version there is.
pub const TUS_VERSION: &str = "1.0.0";
/// The tus extensions served, as `OPTIONS` lists them.
pub const TUS_EXTENSIONS: &str = "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration,concatenation";
/// `Upload-Checksum` algorithms, as `OPTIONS` lists them.
pub const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";
/// The IETF draft's interop versions served: 5 (draft -03, tus-js-client's `ietf-draft-03`),
/// 6 (drafts -04/-05, `ietf-draft-05`), 7 (-06 to -08) and 8 (-09 to -11, the newest).
pub const IETF_INTEROP_VERSIONS: std::ops::RangeInclusive<u8> = 5..=8;
/// The interop version assumed when a request names none (clients of the final RFC will not).
pub const IETF_NEWEST: u8 = 8;

/// The protocol of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tus,
    /// The IETF draft at this interop version.
    Ietf(u8),
}

impl Protocol {
    /// The name the catalog stores.
    pub fn family(self) -> &'static str {
        match self {
            Protocol::Tus => "tus",
            Protocol::Ietf(_) => "ietf",
        }
    }

    /// The protocol of a request to `POST /v1/uploads`: `None` for a plain single-request
    /// upload (no tus or draft header).
    pub fn of_creation(headers: &HeaderMap) -> Result<Option<Self>, ApiError> {
        if let Some(version) = ietf_version(headers)? {
            return Ok(Some(Protocol::Ietf(version)));
        }
        if headers.contains_key("tus-resumable") {
            return tus(headers).map(Some);
        }
        if headers.contains_key("upload-complete") {
            return Ok(Some(Protocol::Ietf(IETF_NEWEST)));
        }
        Ok(None)
    }

    /// The protocol of a request to an upload resource: tus with `Tus-Resumable`, else the
    /// draft (at its named or newest interop version).
    pub fn of_resource(headers: &HeaderMap) -> Result<Self, ApiError> {
        if let Some(version) = ietf_version(headers)? {
            return Ok(Protocol::Ietf(version));
        }
        if headers.contains_key("tus-resumable") {
            return tus(headers);
        }
        Ok(Protocol::Ietf(IETF_NEWEST))
    }
}

fn tus(headers: &HeaderMap) -> Result<Protocol, ApiError> {
    match text(headers, "tus-resumable")? {
        Some(TUS_VERSION) => Ok(Protocol::Tus),
        _ => Err(ApiError::ProtocolUnsupported(
            "Tus-Resumable must be 1.0.0, the only tus version",
        )),
    }
}

fn ietf_version(headers: &HeaderMap) -> Result<Option<u8>, ApiError> {
    let Some(value) = text(headers, "upload-draft-interop-version")? else {
        return Ok(None);
    };
    match value.parse::<u8>() {
        Ok(version) if IETF_INTEROP_VERSIONS.contains(&version) => Ok(Some(version)),
        _ => Err(ApiError::ProtocolUnsupported(
            "Upload-Draft-Interop-Version must be 5, 6, 7 or 8",
        )),
    }
}

/// A header's value, trimmed; `None` when absent.
fn text<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, ApiError> {
    headers
        .get(name)
        .map(|value| {
            value
                .to_str()
                .map(str::trim)
                .map_err(|_| ApiError::UploadHeaderInvalid(format!("{name} must be ASCII")))
        })
        .transpose()
}

/// A non-negative integer header (tus's decimal, the draft's sf-integer); `None` when absent.
pub fn number(headers: &HeaderMap, name: &'static str) -> Result<Option<u64>, ApiError> {
    text(headers, name)?
        .map(|value| {
            value
                .parse::<u64>()
                .ok()
                // At most i64::MAX: the sf-integer range, and what the catalog stores.
                .filter(|n| !value.starts_with('+') && i64::try_from(*n).is_ok())
                .ok_or_else(|| {
                    ApiError::UploadHeaderInvalid(format!(
                        "{name} must be an integer from 0 to 9223372036854775807"
                    ))
                })
        })
        .transpose()
}

/// The draft's `Upload-Complete` sf-boolean; `None` when absent.
pub fn upload_complete(headers: &HeaderMap) -> Result<Option<bool>, ApiError> {
    match text(headers, "upload-complete")? {
        None => Ok(None),
        Some("?1") => Ok(Some(true)),
        Some("?0") => Ok(Some(false)),
        Some(_) => Err(ApiError::UploadHeaderInvalid(
            "Upload-Complete must be ?0 or ?1".into(),
        )),
    }
}

/// What a creation's headers declare about the upload's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Known(u64),
    Deferred,
}

/// The declared length of a creation: `Upload-Length`, `Upload-Defer-Length: 1`, or (draft) the
/// body's `Content-Length` when the request completes the upload; else deferred on the draft,
/// an error on tus.
pub fn creation_length(headers: &HeaderMap, protocol: Protocol) -> Result<Length, ApiError> {
    if let Some(length) = number(headers, "upload-length")? {
        return Ok(Length::Known(length));
    }
    match text(headers, "upload-defer-length")? {
        Some("1") => return Ok(Length::Deferred),
        Some(_) => {
            return Err(ApiError::UploadHeaderInvalid(
                "Upload-Defer-Length must be 1".into(),
            ));
        }
        None => {}
    }
    match protocol {
        Protocol::Tus => Err(ApiError::UploadHeaderInvalid(
            "send Upload-Length, or Upload-Defer-Length: 1 to give it later".into(),
        )),
        Protocol::Ietf(_) => {
            if upload_complete(headers)? == Some(true)
                && let Some(length) = number(headers, "content-length")?
            {
                return Ok(Length::Known(length));
            }
            Ok(Length::Deferred)
        }
    }
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (a key may stand alone).
pub fn metadata(headers: &HeaderMap) -> Result<Vec<(String, String)>, ApiError> {
    let Some(value) = text(headers, "upload-metadata")? else {
        return Ok(Vec::new());
    };
    let invalid = |why: &str| ApiError::UploadHeaderInvalid(format!("Upload-Metadata {why}"));
    let mut pairs = Vec::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, encoded) = pair.split_once(' ').unwrap_or((pair, ""));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| invalid("values must be base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid("values must be UTF-8"))?;
        if pairs.iter().any(|(k, _): &(String, String)| k == key) {
            return Err(invalid("keys must be unique"));
        }
        pairs.push((key.to_owned(), decoded));
    }
    Ok(pairs)
}

/// `Upload-Concat` of a creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concat {
    None,
    Partial,
    /// The upload ids of the partial uploads, in order.
    Final(Vec<String>),
}

pub fn concat(headers: &HeaderMap) -> Result<Concat, ApiError> {
    let Some(value) = text(headers, "upload-concat")? else {
        return Ok(Concat::None);
    };
    if value == "partial" {
        return Ok(Concat::Partial);
    }
    let invalid = || {
        ApiError::UploadHeaderInvalid(
            "Upload-Concat must be partial, or final; followed by the partial uploads' URLs".into(),
        )
    };
    let urls = value.strip_prefix("final;").ok_or_else(invalid)?;
    let parts: Vec<String> = urls
        .split_whitespace()
        .map(|url| upload_id_of_url(url).ok_or_else(invalid))
        .collect::<Result<_, _>>()?;
    if parts.is_empty() {
        return Err(invalid());
    }
    Ok(Concat::Final(parts))
}

/// The upload id at the end of an upload URL, absolute (`http://host/v1/uploads/{id}`) or not.
fn upload_id_of_url(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let id = path.trim_end_matches('/').rsplit('/').next()?;
    let uuid: uuid::Uuid = id.parse().ok()?;
    path.contains("/v1/uploads/").then(|| uuid.to_string())
}

/// `Upload-Checksum: <algorithm> <base64 digest>` of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: ChecksumAlgorithm,
    pub digest: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumAlgorithm {
    Sha1,
    Sha256,
}

pub fn checksum(headers: &HeaderMap) -> Result<Option<Checksum>, ApiError> {
    let Some(value) = text(headers, "upload-checksum")? else {
        return Ok(None);
    };
    let (name, encoded) = value.split_once(' ').ok_or_else(|| {
        ApiError::UploadHeaderInvalid("Upload-Checksum must be `<algorithm> <base64>`".into())
    })?;
    let algorithm = match name.to_ascii_lowercase().as_str() {
        "sha1" => ChecksumAlgorithm::Sha1,
        "sha256" => ChecksumAlgorithm::Sha256,
        _ => return Err(ApiError::ChecksumUnsupported),
    };
    let digest = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| {
            ApiError::UploadHeaderInvalid("Upload-Checksum digest must be base64".into())
        })?;
    Ok(Some(Checksum { algorithm, digest }))
}

/// Checks an append's `Content-Type`: tus requires `application/offset+octet-stream`; the
/// draft takes `application/partial-upload` (interop 6 on), that or none.
pub fn check_append_content_type(headers: &HeaderMap, protocol: Protocol) -> Result<(), ApiError> {
    let content_type = text(headers, header::CONTENT_TYPE.as_str())?.map(|value| {
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    match (protocol, content_type.as_deref()) {
        (Protocol::Tus, Some("application/offset+octet-stream")) => Ok(()),
        (Protocol::Tus, _) => Err(ApiError::ContentTypeInvalid(
            "a tus PATCH must be sent as Content-Type: application/offset+octet-stream",
        )),
        // tus's append type is accepted from the draft's clients too: both mean raw bytes.
        (
            Protocol::Ietf(_),
            None | Some("application/partial-upload" | "application/offset+octet-stream"),
        ) => Ok(()),
        (Protocol::Ietf(_), Some(_)) => Err(ApiError::ContentTypeInvalid(
            "an append must be sent as Content-Type: application/partial-upload",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("value"));
        }
        map
    }

    #[test]
    fn protocols_are_told_apart() {
        assert_eq!(Protocol::of_creation(&headers(&[])).expect("plain"), None);
        assert_eq!(
            Protocol::of_creation(&headers(&[("tus-resumable", "1.0.0")])).expect("tus"),
            Some(Protocol::Tus)
        );
        assert_eq!(
            Protocol::of_creation(&headers(&[("upload-draft-interop-version", "6")])).expect("6"),
            Some(Protocol::Ietf(6))
        );
        assert!(Protocol::of_creation(&headers(&[("tus-resumable", "0.2.2")])).is_err());
        assert!(Protocol::of_creation(&headers(&[("upload-draft-interop-version", "3")])).is_err());
        assert_eq!(
            Protocol::of_resource(&headers(&[])).expect("newest"),
            Protocol::Ietf(IETF_NEWEST)
        );
    }

    #[test]
    fn metadata_pairs_decode() {
        let parsed = metadata(&headers(&[(
            "upload-metadata",
            "filename aGVyby5wbmc=,projectId , flag",
        )]))
        .expect("metadata");
        assert_eq!(
            parsed,
            vec![
                ("filename".to_owned(), "hero.png".to_owned()),
                ("projectId".to_owned(), String::new()),
                ("flag".to_owned(), String::new()),
            ]
        );
        assert!(metadata(&headers(&[("upload-metadata", "filename !!!")])).is_err());
    }

    #[test]
    fn final_concat_takes_absolute_and_relative_urls() {
        let a = "6f9619ff-8b86-d011-b42d-00c04fc964ff";
        let b = "7f9619ff-8b86-d011-b42d-00c04fc964ff";
        let value = format!("final;http://127.0.0.1:8080/v1/uploads/{a} /v1/uploads/{b}");
        assert_eq!(
            concat(&headers(&[("upload-concat", &value)])).expect("final"),
            Concat::Final(vec![a.to_owned(), b.to_owned()])
        );
        assert!(concat(&headers(&[("upload-concat", "final;/etc/passwd")])).is_err());
        assert_eq!(
            concat(&headers(&[("upload-concat", "partial")])).expect("partial"),
            Concat::Partial
        );
    }

    #[test]
    fn lengths() {
        assert_eq!(
            creation_length(&headers(&[("upload-length", "10")]), Protocol::Tus).expect("known"),
            Length::Known(10)
        );
        assert!(creation_length(&headers(&[]), Protocol::Tus).is_err());
        assert_eq!(
            creation_length(&headers(&[]), Protocol::Ietf(6)).expect("deferred"),
            Length::Deferred
        );
        assert_eq!(
            creation_length(
                &headers(&[("upload-complete", "?1"), ("content-length", "7")]),
                Protocol::Ietf(8)
            )
            .expect("from the body"),
            Length::Known(7)
        );
        assert!(number(&headers(&[("upload-offset", "-1")]), "upload-offset").is_err());
    }
}
