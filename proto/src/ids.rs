//! The ids assetd hands out, as types: parsed once where they enter (an HTTP path or header, a
//! gRPC field), written in one canonical spelling (lowercase, hyphenated UUID) everywhere else.

use std::{fmt, str::FromStr};

use uuid::Uuid;

/// A text that is not a UUID, where an id was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnId;

impl fmt::Display for NotAnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a UUID")
    }
}

impl std::error::Error for NotAnId {}

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (version 4) id.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        /// Any spelling `uuid` accepts (hyphenated, simple, braced, URN; either case).
        impl FromStr for $name {
            type Err = NotAnId;

            fn from_str(text: &str) -> Result<Self, NotAnId> {
                Uuid::parse_str(text).map(Self).map_err(|_| NotAnId)
            }
        }

        /// The canonical spelling: lowercase and hyphenated.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    )*};
}

ids! {
    /// The account an API key belongs to; every query is scoped to one.
    AccountId;
    /// An asset: one stored file and its record.
    AssetId;
    /// A project of an account.
    ProjectId;
    /// A probe job in the catalog's outbox.
    JobId;
    /// A webhook endpoint of an account.
    WebhookId;
    /// A webhook event: one change to report, the `webhook-id` of every request that sends it.
    EventId;
    /// One event's delivery to one endpoint, with its attempts.
    DeliveryId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses_to_the_canonical_one() {
        let canonical = "0b6f3a52-1c1e-4a4f-9a38-7a8d3f7e5b21";
        for text in [
            canonical,
            "0B6F3A52-1C1E-4A4F-9A38-7A8D3F7E5B21",
            "0b6f3a521c1e4a4f9a387a8d3f7e5b21",
            "{0b6f3a52-1c1e-4a4f-9a38-7a8d3f7e5b21}",
            "urn:uuid:0b6f3a52-1c1e-4a4f-9a38-7a8d3f7e5b21",
        ] {
            let id: AssetId = text.parse().expect(text);
            assert_eq!(id.to_string(), canonical, "{text}");
        }
    }

    #[test]
    fn a_non_uuid_is_refused() {
        for text in [
            "",
            "acme",
            "0b6f3a52-1c1e-4a4f-9a38",
            " 0b6f3a521c1e4a4f9a387a8d3f7e5b21",
        ] {
            assert_eq!(text.parse::<ProjectId>(), Err(NotAnId), "{text:?}");
        }
    }
}
