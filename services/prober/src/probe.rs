//! The entry point: the asset kinds, the result, and the dispatch from sniffed format to parser.

use crate::budget::{Budget, ReadStats};
use crate::error::{ProbeError, unsupported};
use crate::reader::Reader;
use crate::sniff::{Format, sniff};
use crate::source::Source;
use crate::{audio, container, image};

/// The asset kind the gateway decided at upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Image,
    Gif,
    Video,
    Audio,
    Caption,
}

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
    let name = format_name(format);
    let fits = match format {
        Format::Png
        | Format::Jpeg
        | Format::WebP
        | Format::Bmp
        | Format::Tiff
        | Format::Heif(_)
        | Format::Gif => matches!(kind, Kind::Image | Kind::Gif),
        Format::IsoBmff(_) | Format::Matroska => matches!(kind, Kind::Video | Kind::Audio),
        Format::Mp3 | Format::Adts | Format::Flac | Format::Ogg | Format::Wav => {
            kind == Kind::Audio
        }
        Format::Caption(_) => kind == Kind::Caption,
    };
    if !fits {
        return Err(unsupported(format!("{name} content for a {kind:?} asset")));
    }
    let result = match format {
        Format::Png => image::png::probe(reader),
        Format::Jpeg => image::jpeg::probe(reader),
        Format::Gif => image::gif::probe(reader),
        Format::WebP => image::webp::probe(reader),
        Format::Bmp => image::bmp::probe(reader),
        Format::Tiff => image::tiff::probe(reader),
        Format::Heif(name) => image::heif::probe(reader, name),
        Format::IsoBmff(name) => container::mp4::probe(reader, name, kind == Kind::Video),
        Format::Matroska => container::matroska::probe(reader, kind == Kind::Video),
        Format::Mp3 => audio::mp3::probe(reader),
        Format::Adts => audio::adts::probe(reader),
        Format::Flac => audio::probe_flac(reader),
        Format::Ogg => audio::probe_ogg(reader),
        Format::Wav => audio::probe_wav(reader),
        Format::Caption(name) => Ok(Probed::audio(name, None)),
    };
    result.map_err(|err| err.in_format(name))
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Png => "png",
        Format::Jpeg => "jpeg",
        Format::Gif => "gif",
        Format::WebP => "webp",
        Format::Bmp => "bmp",
        Format::Tiff => "tiff",
        Format::Heif(name) | Format::IsoBmff(name) | Format::Caption(name) => name,
        Format::Matroska => "matroska",
        Format::Mp3 => "mp3",
        Format::Adts => "aac",
        Format::Flac => "flac",
        Format::Ogg => "ogg",
        Format::Wav => "wav",
    }
}
