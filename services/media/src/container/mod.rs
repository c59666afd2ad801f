//! Movie containers: ISO-BMFF (MP4, MOV, M4A, and the box layer HEIF images share) and
//! Matroska/WebM, each walked with range reads that skip media data.

pub mod ebml;
pub mod isobmff;
pub mod matroska;
pub mod mp4;
