//! The webhook event types: the one list the catalog writes, the gateway documents and the
//! notifier sends.

/// A change to an asset that endpoints can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// An asset was recorded (a finished upload); `data` is the asset, probe status `pending`.
    AssetCreated,
    /// Its probe finished: `data` carries width, height and duration.
    AssetReady,
    /// Its probe failed: `data.probeError` says why.
    AssetProbeFailed,
    /// It was deleted; `data` is the asset as it was.
    AssetDeleted,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::AssetCreated,
        EventType::AssetReady,
        EventType::AssetProbeFailed,
        EventType::AssetDeleted,
    ];

    /// The `type` of the payload, e.g. `asset.ready`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::AssetCreated => "asset.created",
            EventType::AssetReady => "asset.ready",
            EventType::AssetProbeFailed => "asset.probe_failed",
            EventType::AssetDeleted => "asset.deleted",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
        assert_eq!(EventType::parse("asset.*"), None);
    }
}
