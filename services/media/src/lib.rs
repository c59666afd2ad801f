//! Media formats: which files assetd accepts, what kind each becomes, and their width, height and
//! duration, found with bounded range reads. Pure and synchronous (no runtime, no network): the
//! gateway sniffs uploads with it, the prober probes stored objects with it, the fuzz targets and
//! examples drive it directly.
//!
//! [`format`] is the table: one row per accepted format (kind, media type, extension, parser) and
//! the sniffer that finds a file's row from its first bytes. [`probe()`] sniffs, checks the format
//! fits the asset's kind and hands a budgeted [`Reader`] to the row's parser: our own header
//! walkers for images and video containers (MP4/MOV, Matroska/WebM) and the audio formats
//! symphonia gets wrong (MP3, ADTS, AAC in M4A, Opus), symphonia's demuxers for FLAC, WAV and Ogg
//! Vorbis (see [`audio`]). Every byte goes through the reader, which counts bytes and enforces the
//! [`Budget`], so hostile input can never make a probe read a whole huge file or loop forever.
//!
//! A new format is a row in [`format::FORMATS`], a magic-number arm in [`format::sniff`] and a
//! parser module under its family (`image`, `container`, `audio`).

pub mod audio;
mod bin;
pub mod budget;
pub mod caption;
pub mod container;
mod crc;
pub mod error;
pub mod format;
pub mod image;
pub mod kind;
pub mod probe;
pub mod reader;
pub mod source;

pub use budget::{Budget, ReadStats};
pub use error::ProbeError;
pub use format::Format;
pub use kind::Kind;
pub use probe::{Probed, probe, probe_with_stats};
pub use reader::Reader;
pub use source::{FileSource, MemSource, Source};
