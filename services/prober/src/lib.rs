//! The prober role: reads stored media with bounded range reads and finds width, height and duration.
//!
//! [`probe`] is the entry point: it sniffs the format from the first bytes and hands a budgeted
//! [`Reader`] to one parser per family. Every parser here is our own header walker (no media
//! crate): each reads only the boxes, chunks or frame headers it needs through the reader, which
//! counts bytes and enforces the [`Budget`], so hostile input can never make it read a whole huge
//! file or loop forever. The probing modules depend only on `thiserror` and std; `worker` (the
//! queue consumer that feeds them) lives beside them.

pub mod audio;
mod bin;
pub mod budget;
pub mod caption;
pub mod container;
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
