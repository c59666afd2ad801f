//! Fuzzes the gateway's own request parsing (not hyper's): the upload headers (`x-file-name`,
//! `x-project-id`, `x-request-id`), `{projectId}` path ids, list queries (`pageSize`, `pageCursor`),
//! the catalog's page cursors, and JSON object bodies. The first byte picks the parser; the rest
//! is its input. Beyond "no panic", each checks the parser's documented contract.
#![no_main]

use assetd_catalog::{Error as CatalogError, cursor::Cursor};
use assetd_gateway::{fuzzing, problem::ApiError};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use uuid::Uuid;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    match selector % 7 {
        0 => file_name(&String::from_utf8_lossy(input)),
        1 => project_id(&String::from_utf8_lossy(input)),
        2 => request_id(input),
        3 => path_id(&String::from_utf8_lossy(input)),
        4 => page(input),
        5 => cursor(&String::from_utf8_lossy(input)),
        _ => json_body(input),
    }
});

/// Accepted: trimmed, 1..=512 characters, no control characters, and accepted again unchanged.
/// Refused: only with `FileNameInvalid`, and only when one of those rules is broken.
fn file_name(text: &str) {
    let trimmed = text.trim();
    let breaks_a_rule = trimmed.is_empty()
        || trimmed.chars().count() > 512
        || trimmed.chars().any(char::is_control);
    match fuzzing::check_file_name(text) {
        Ok(name) => {
            assert!(!breaks_a_rule, "accepted {text:?}");
            assert_eq!(name, trimmed);
            let chars = name.chars().count();
            assert!((1..=512).contains(&chars), "{chars} characters");
            assert!(!name.chars().any(char::is_control));
            assert_eq!(name, name.trim());
            assert_eq!(fuzzing::check_file_name(&name).ok().as_deref(), Some(&*name));
        }
        Err(ApiError::FileNameInvalid(_)) => assert!(breaks_a_rule, "refused {text:?}"),
        Err(other) => panic!("file name {text:?}: unexpected error {other:?}"),
    }
}

/// The hyphenated lowercase form of a UUID, as the catalog stores ids.
fn assert_canonical_uuid(id: &str) {
    assert_eq!(id.len(), 36, "{id:?}");
    for (i, b) in id.bytes().enumerate() {
        if [8, 13, 18, 23].contains(&i) {
            assert_eq!(b, b'-', "{id:?}");
        } else {
            assert!(b.is_ascii_digit() || (b'a'..=b'f').contains(&b), "{id:?}");
        }
    }
}

/// `x-project-id`: accepted iff the trimmed text is a UUID; the answer is canonical and a fixpoint.
fn project_id(text: &str) {
    let parsed = Uuid::parse_str(text.trim()).ok();
    match fuzzing::check_project_id(text) {
        Ok(id) => {
            assert_canonical_uuid(&id);
            assert_eq!(Some(id.clone()), parsed.map(|u| u.hyphenated().to_string()));
            assert_eq!(fuzzing::check_project_id(&id).ok().as_deref(), Some(&*id));
        }
        Err(ApiError::ProjectIdInvalid) => assert!(parsed.is_none(), "refused {text:?}"),
        Err(other) => panic!("project id {text:?}: unexpected error {other:?}"),
    }
}

/// `{projectId}`: like `x-project-id` but untrimmed, refused with `IdInvalid`.
fn path_id(text: &str) {
    let parsed = Uuid::parse_str(text).ok();
    match fuzzing::path_id(text) {
        Ok(id) => {
            assert_canonical_uuid(&id);
            assert_eq!(Some(id.clone()), parsed.map(|u| u.hyphenated().to_string()));
        }
        Err(ApiError::IdInvalid(_)) => assert!(parsed.is_none(), "refused {text:?}"),
        Err(other) => panic!("path id {text:?}: unexpected error {other:?}"),
    }
}

/// `x-request-id` (a header value: only a `to_str` one reaches the parser): kept trimmed when 1..=128
/// bytes, else replaced by a new simple UUID.
fn request_id(bytes: &[u8]) {
    let given = std::str::from_utf8(bytes).ok();
    let id = fuzzing::request_id_or_new(given);
    match given.map(str::trim) {
        Some(kept) if !kept.is_empty() && kept.len() <= 128 => assert_eq!(id, kept),
        _ => {
            assert_eq!(id.len(), 32, "{id:?}");
            assert!(Uuid::try_parse(&id).is_ok(), "{id:?}");
        }
    }
}

/// A list query: two bytes pick the route's rule, the rest is the query string. Accepted: the size
/// is in the rule's range and the cursor is at most 128 ASCII letters and digits. A cursor that
/// the catalog decodes re-encodes to itself.
fn page(input: &[u8]) {
    let [max, default, query @ ..] = input else {
        return;
    };
    let max = u32::from(*max).max(1);
    let default = u32::from(*default).clamp(1, max);
    let query = String::from_utf8_lossy(query);
    match fuzzing::page(&query, default, max) {
        None => {}
        Some(Ok((size, page_cursor))) => {
            assert!((1..=max).contains(&size), "size {size} of 1..={max}");
            assert!(page_cursor.len() <= 128);
            assert!(page_cursor.bytes().all(|b| b.is_ascii_alphanumeric()));
            cursor(&page_cursor);
        }
        Some(Err(
            ApiError::QueryInvalid | ApiError::PageSizeInvalid { .. } | ApiError::PageCursorInvalid,
        )) => {}
        Some(Err(other)) => panic!("query {query:?}: unexpected error {other:?}"),
    }
}

/// A page cursor: "" is the first page; anything else decoded re-encodes to the same text and
/// decodes again to the same key.
fn cursor(text: &str) {
    match Cursor::decode(text) {
        Ok(decoded) if text.is_empty() => assert_eq!(decoded, Cursor::start()),
        Ok(decoded) => {
            assert!(decoded.micros >= 0);
            assert_canonical_uuid(&decoded.id);
            let encoded = Cursor::encode(decoded.micros, &decoded.id);
            assert_eq!(encoded, text, "re-encoding {decoded:?}");
            assert_eq!(Cursor::decode(&encoded).ok(), Some(decoded));
        }
        Err(CatalogError::PageCursorInvalid) => assert!(!text.is_empty()),
        Err(other) => panic!("cursor {text:?}: unexpected error {other:?}"),
    }
}

/// A JSON body. Input: a byte picking the `Content-Type` (or, past the list, taking the next
/// `n` bytes as its raw value), a byte picking the `Content-Length` (none, the true length, or
/// over the 1 MiB limit), then the body. Accepted: exactly the JSON object serde_json reads from
/// the body, sent as JSON. Refused: only `BodyInvalid` or `BodyTooLarge`, and only for a reason.
fn json_body(input: &[u8]) {
    const TYPES: [&[u8]; 6] = [
        b"application/json",
        b"Application/JSON; charset=utf-8",
        b"application/merge-patch+json",
        b"text/plain",
        b"application/x-www-form-urlencoded",
        b"",
    ];
    let [type_pick, length_pick, rest @ ..] = input else {
        return;
    };
    let (content_type, rest): (Option<&[u8]>, &[u8]) = match usize::from(*type_pick) {
        pick if pick < TYPES.len() => (Some(TYPES[pick]), rest),
        255 => (None, rest),
        pick => {
            let n = (pick - TYPES.len()).min(rest.len());
            (Some(&rest[..n]), &rest[n..])
        }
    };
    let body = rest;
    let true_length = body.len().to_string();
    let content_length: Option<&[u8]> = match length_pick % 4 {
        0 => None,
        1 => Some(true_length.as_bytes()),
        2 => Some(b"1048577"),
        _ => Some(b" 12x"),
    };
    let Some(result) = fuzzing::json_body(content_type, content_length, body) else {
        return; // not a valid header value: hyper would have refused the request
    };
    // What `HeaderValue::to_str` accepts: visible ASCII and tabs (else the type counts as absent).
    let visible = |v: &&[u8]| v.iter().all(|&b| (32..127).contains(&b) || b == b'\t');
    let sent_as_json = content_type
        .filter(visible)
        .and_then(|v| std::str::from_utf8(v).ok())
        .is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        });
    let declared_too_large = length_pick % 4 == 2;
    let parsed = serde_json::from_slice::<Value>(body).ok();
    match result {
        Ok(object) => {
            assert!(sent_as_json && !declared_too_large);
            assert_eq!(parsed, Some(Value::Object(object)));
        }
        Err(ApiError::BodyTooLarge { limit_kib }) => {
            assert_eq!(limit_kib, 1024);
            assert!(declared_too_large, "{} bytes refused as too large", body.len());
        }
        Err(ApiError::BodyInvalid(why)) => assert!(
            !sent_as_json || !matches!(parsed, Some(Value::Object(_))),
            "refused a JSON object: {why}"
        ),
        Err(other) => panic!("json body: unexpected error {other:?}"),
    }
}
