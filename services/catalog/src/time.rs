//! The catalog's clock: Unix microseconds, the unit every timestamp column uses.

pub use assetd_platform::clock::now_micros;
