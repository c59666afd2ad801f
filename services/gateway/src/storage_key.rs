//! The storage key of an asset's object, `assets/{account uuid}/{asset uuid}.{ext}`: made only of
//! ids and the format's extension, built at upload and parsed back before a file is served.

use assetd_media::format::{self, Format};
use assetd_proto::ids::{AccountId, AssetId};

/// An asset object's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageKey {
    pub account_id: AccountId,
    pub asset_id: AssetId,
    pub format: &'static Format,
}

impl StorageKey {
    /// The key `text` if it is an asset key (and nothing else: no other path is ever served).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('/');
        let (Some("assets"), Some(account), Some(file), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let (asset, ext) = file.split_once('.')?;
        let key = Self {
            account_id: account.parse().ok()?,
            asset_id: asset.parse().ok()?,
            format: format::by_ext(ext)?,
        };
        // Only the canonical spelling: one object, one key.
        (key.to_string() == text).then_some(key)
    }
}

impl std::fmt::Display for StorageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "assets/{}/{}.{}",
            self.account_id, self.asset_id, self.format.ext
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_asset_keys_parse() {
        let a = "6f9619ff-8b86-d011-b42d-00c04fc964ff";
        let key = StorageKey::parse(&format!("assets/{a}/{a}.png")).expect("an asset key");
        assert_eq!(key.format, &format::PNG);
        assert_eq!(key.to_string(), format!("assets/{a}/{a}.png"));
        assert!(StorageKey::parse(&format!("assets/{a}/../{a}.png")).is_none());
        assert!(StorageKey::parse(&format!("assets/{a}/{a}.exe")).is_none());
        assert!(StorageKey::parse(&format!("assets/{}/{a}.png", a.to_uppercase())).is_none());
        assert!(StorageKey::parse("../../etc/passwd").is_none());
        assert!(StorageKey::parse(&format!(".incoming/{a}")).is_none());
    }
}
