//! The entry point: what a probe finds, and the dispatch from the sniffed format to its parser.

use crate::budget::{Budget, ReadStats};
use crate::error::{ProbeError, unsupported};
use crate::format::sniff;
use crate::kind::Kind;
use crate::reader::Reader;
use crate::source::Source;

/// What a probe found. Sizes are as displayed (orientation and rotation applied).
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Seconds; `None` for still images and captions.
    pub duration: Option<f64>,
    /// The format found, e.g. `png`, `mp4`, `webm`, `mp3`.
    pub format: &'static str,
}

impl Probed {
    pub(crate) fn still(format: &'static str, width: u32, height: u32) -> Self {
        Self {
            width: Some(width),
            height: Some(height),
            duration: None,
            format,
        }
    }

    pub(crate) fn audio(format: &'static str, duration: Option<f64>) -> Self {
        Self {
            width: None,
            height: None,
            duration,
            format,
        }
    }

    /// Swaps width and height (a quarter turn).
    pub(crate) fn rotated(self, quarter_turn: bool) -> Self {
        if quarter_turn {
            Self {
                width: self.height,
                height: self.width,
                ..self
            }
        } else {
            self
        }
    }
}

/// Probes `source` as an asset of `kind`, within `budget`.
pub fn probe(source: &dyn Source, kind: Kind, budget: &Budget) -> Result<Probed, ProbeError> {
    probe_with_stats(source, kind, budget).0
}

/// Like [`probe`], and also says how much it read (whatever the outcome).
pub fn probe_with_stats(
    source: &dyn Source,
    kind: Kind,
    budget: &Budget,
) -> (Result<Probed, ProbeError>, ReadStats) {
    let mut reader = Reader::new(source, budget);
    let result = run(&mut reader, kind);
    (result, reader.stats())
}

fn run(reader: &mut Reader<'_>, kind: Kind) -> Result<Probed, ProbeError> {
    if reader.is_empty() {
        return Err(ProbeError::Malformed("empty file".into()));
    }
    let Some(format) = sniff(reader)? else {
        return Err(unsupported("unrecognized format"));
    };
    if !format.fits(kind) {
        let name = format.name;
        return Err(unsupported(format!("{name} content for a {kind:?} asset")));
    }
    format
        .parse(reader, kind)
        .map_err(|err| err.in_format(format.name))
}
