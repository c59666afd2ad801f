//! Asset kinds: what an upload counts as, decided from its format; spelled one way everywhere.

/// The kind of an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Image,
    Gif,
    Video,
    Audio,
    Caption,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [
        Kind::Image,
        Kind::Gif,
        Kind::Video,
        Kind::Audio,
        Kind::Caption,
    ];

    /// The kind's name in the HTTP API (`type`), in the catalog's rows and in metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "IMAGE",
            Kind::Gif => "GIF",
            Kind::Video => "VIDEO",
            Kind::Audio => "AUDIO",
            Kind::Caption => "CAPTION",
        }
    }

    /// The kind named `name` (as [`Kind::as_str`] spells it).
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
