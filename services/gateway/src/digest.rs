//! RFC 9530 digests of uploads: a client's `Content-Digest` / `Repr-Digest` (`sha-256`,
//! `sha-512`) checked against the stored bytes, and `Repr-Digest: sha-256=:…:` on the answer.
//! An upload has no content coding, so both fields describe the same bytes; algorithms other
//! than these two are ignored, as the RFC allows.

use axum::http::HeaderMap;
use base64::Engine as _;

use crate::problem::ApiError;

/// The digests a client asked the upload to match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    pub sha256: Option<Vec<u8>>,
    pub sha512: Option<Vec<u8>>,
}

impl Wanted {
    /// Parses `Content-Digest` and `Repr-Digest` (structured-field dictionaries of byte
    /// sequences, `sha-256=:base64:`).
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let mut wanted = Self::default();
        for name in ["content-digest", "repr-digest"] {
            for value in headers.get_all(name) {
                let text = value.to_str().map_err(|_| ApiError::DigestInvalid(name))?;
                for member in text.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                    let (algorithm, encoded) = member
                        .split_once('=')
                        .ok_or(ApiError::DigestInvalid(name))?;
                    let slot = match algorithm.trim() {
                        "sha-256" => &mut wanted.sha256,
                        "sha-512" => &mut wanted.sha512,
                        _ => continue,
                    };
                    let encoded = encoded
                        .trim()
                        .strip_prefix(':')
                        .and_then(|rest| rest.strip_suffix(':'))
                        .ok_or(ApiError::DigestInvalid(name))?;
                    let digest = base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .map_err(|_| ApiError::DigestInvalid(name))?;
                    if slot.as_ref().is_some_and(|earlier| *earlier != digest) {
                        return Err(ApiError::DigestMismatch("the two digest fields disagree"));
                    }
                    *slot = Some(digest);
                }
            }
        }
        Ok(wanted)
    }

    /// Checks the stored bytes' digests (hex sha-256, raw sha-512 when it was wanted).
    pub fn check(&self, sha256_hex: &str, sha512: Option<&[u8]>) -> Result<(), ApiError> {
        if let Some(wanted) = &self.sha256
            && hex::decode(sha256_hex).ok().as_deref() != Some(wanted.as_slice())
        {
            return Err(ApiError::DigestMismatch("sha-256"));
        }
        if let Some(wanted) = &self.sha512
            && sha512 != Some(wanted.as_slice())
        {
            return Err(ApiError::DigestMismatch("sha-512"));
        }
        Ok(())
    }
}

/// The `Repr-Digest` of an asset whose lowercase hex SHA-256 is `sha256_hex`.
pub fn repr_digest(sha256_hex: &str) -> Option<String> {
    let bytes = hex::decode(sha256_hex).ok()?;
    Some(format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256, Sha512};

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().expect("value"));
        }
        map
    }

    #[test]
    fn digests_parse_check_and_render() {
        let body = b"hello";
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
        let sha256 = Sha256::digest(body);
        let sha512 = Sha512::digest(body);
        let wanted = Wanted::from_headers(&headers(&[
            (
                "content-digest",
                format!("sha-512=:{}:, md5=:AAAA:", b64(&sha512)),
            ),
            ("repr-digest", format!("sha-256=:{}:", b64(&sha256))),
        ]))
        .expect("parsed");
        let hex256 = hex::encode(sha256);
        wanted.check(&hex256, Some(&sha512)).expect("they match");
        assert!(
            wanted
                .check(&hex::encode([0u8; 32]), Some(&sha512))
                .is_err()
        );
        assert!(wanted.check(&hex256, Some(&[0u8; 64])).is_err());
        assert_eq!(
            repr_digest(&hex256).expect("hex"),
            format!("sha-256=:{}:", b64(&sha256))
        );
        assert!(
            Wanted::from_headers(&headers(&[("content-digest", "sha-256=abc".into())])).is_err()
        );
        assert_eq!(
            Wanted::from_headers(&headers(&[("content-digest", "md5=:AAAA:".into())]))
                .expect("ignored"),
            Wanted::default()
        );
    }
}
