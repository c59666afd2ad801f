//! A [`Source`](assetd_media::Source) over an object in storage: each read is one ranged GET, bridged to
//! the blocking parsers by blocking on the async runtime from a blocking thread.

use std::io;

use assetd_platform::storage::{Storage, StorageError};
use tokio::runtime::Handle;

pub struct StorageSource {
    pub storage: Storage,
    pub key: String,
    pub size: u64,
    /// The runtime the storage client lives on; must only be used from a blocking thread.
    pub runtime: Handle,
}

impl assetd_media::Source for StorageSource {
    fn len(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let end = offset.saturating_add(buf.len() as u64).min(self.size);
        let bytes = self
            .runtime
            .block_on(self.storage.read_range(&self.key, offset..end))
            .map_err(|err| match err {
                StorageError::NotFound => {
                    io::Error::new(io::ErrorKind::NotFound, "object not found")
                }
                other => io::Error::other(other),
            })?;
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        Ok(n)
    }
}
