//! A SHA-256 computed across requests and processes: the eight state words after whole 64-byte
//! blocks, kept in the catalog as hex between appends, and finished with the tail at completion.
//! S3 parts are whole blocks (the part size is a multiple of 64), so an upload's digest advances
//! as each part is uploaded and no byte is read back to hash it.

use sha2::digest::generic_array::GenericArray;

const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The state after some whole blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sha256State([u32; 8]);

impl Default for Sha256State {
    fn default() -> Self {
        Self(IV)
    }
}

impl Sha256State {
    /// The state stored as hex; empty is the state before any byte.
    pub fn parse(hex_state: &str) -> Option<Self> {
        if hex_state.is_empty() {
            return Some(Self::default());
        }
        let bytes = hex::decode(hex_state).ok()?;
        if bytes.len() != 32 {
            return None;
        }
        let mut words = [0u32; 8];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *word = u32::from_be_bytes(chunk.try_into().ok()?);
        }
        Some(Self(words))
    }

    pub fn to_hex(self) -> String {
        hex::encode(
            self.0
                .iter()
                .flat_map(|w| w.to_be_bytes())
                .collect::<Vec<u8>>(),
        )
    }

    /// Hashes whole blocks; `bytes.len()` must be a multiple of 64.
    pub fn update_blocks(&mut self, bytes: &[u8]) {
        assert!(bytes.len().is_multiple_of(64), "whole blocks only");
        for block in bytes.chunks_exact(64) {
            sha2::compress256(
                &mut self.0,
                std::slice::from_ref(GenericArray::from_slice(block)),
            );
        }
    }

    /// The digest of the `hashed` bytes the state covers followed by `tail`, in lowercase hex.
    pub fn finish(mut self, hashed: u64, tail: &[u8]) -> String {
        let whole = tail.len() - tail.len() % 64;
        self.update_blocks(&tail[..whole]);
        let total_bits = (hashed + tail.len() as u64) * 8;
        let mut last = tail[whole..].to_vec();
        last.push(0x80);
        while last.len() % 64 != 56 {
            last.push(0);
        }
        last.extend_from_slice(&total_bits.to_be_bytes());
        self.update_blocks(&last);
        self.to_hex()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn matches_a_one_shot_digest_at_any_split() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        for blocks in [0, 1, 7, 100, 156] {
            let split = blocks * 64;
            let mut state = Sha256State::default();
            state.update_blocks(&data[..split]);
            let state = Sha256State::parse(&state.to_hex()).expect("round trip");
            assert_eq!(
                state.finish(split as u64, &data[split..]),
                hex::encode(Sha256::digest(&data)),
                "split at {split}"
            );
        }
        for len in [0, 55, 56, 63, 64, 65] {
            assert_eq!(
                Sha256State::default().finish(0, &data[..len]),
                hex::encode(Sha256::digest(&data[..len])),
                "length {len}"
            );
        }
    }
}
