//! The prober role: reads stored media with bounded range reads and finds width, height and duration.
//!
//! [`probe()`] is the entry point: it sniffs the format from the first bytes and hands a budgeted
//! [`Reader`] to one parser per family: our own header walkers for images and video containers
//! (MP4/MOV, Matroska/WebM) and the audio formats symphonia gets wrong (MP3, ADTS, AAC in M4A,
//! Opus), symphonia's demuxers for FLAC, WAV and Ogg Vorbis (see [`audio`]). Every byte goes
//! through the reader, which counts bytes and enforces the [`Budget`], so hostile input can never
//! make a probe read a whole huge file or loop forever. `worker` is the queue consumer that feeds
//! them.

pub mod audio;
mod bin;
pub mod budget;
pub mod caption;
pub mod container;
mod crc;
pub mod error;
pub mod image;
pub mod probe;
pub mod reader;
pub mod sniff;
pub mod source;
pub mod worker;

pub use budget::{Budget, ReadStats};
pub use error::ProbeError;
pub use probe::{Kind, Probed, probe, probe_with_stats};
pub use reader::Reader;
pub use source::{FileSource, MemSource, Source};
