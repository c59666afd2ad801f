//! The CRCs the audio checks verify: unreflected (MSB first), zero start, no final xor, as FLAC
//! frames (CRC-8, CRC-16) and Ogg pages (CRC-32) use them; one table-driven implementation.

/// One CRC of `width` bits (8 to 32) and polynomial `poly`, with its lookup table.
pub(crate) struct Crc {
    width: u32,
    mask: u32,
    table: [u32; 256],
}

/// FLAC's frame header CRC-8 (polynomial 0x07).
pub(crate) const CRC8: Crc = Crc::new(8, 0x07);
/// FLAC's frame CRC-16 (polynomial 0x8005).
pub(crate) const CRC16: Crc = Crc::new(16, 0x8005);
/// Ogg's page CRC-32 (polynomial 0x04C11DB7).
pub(crate) const CRC32: Crc = Crc::new(32, 0x04C1_1DB7);

impl Crc {
    const fn new(width: u32, poly: u32) -> Self {
        let mask = if width == 32 {
            u32::MAX
        } else {
            (1 << width) - 1
        };
        let top = 1 << (width - 1);
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = (i as u32) << (width - 8);
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & top != 0 {
                    (crc << 1) ^ poly
                } else {
                    crc << 1
                };
                bit += 1;
            }
            table[i] = crc & mask;
            i += 1;
        }
        Self { width, mask, table }
    }

    /// The CRC of `data`.
    pub(crate) fn of(&self, data: impl IntoIterator<Item = u8>) -> u32 {
        data.into_iter().fold(0u32, |crc, byte| {
            let index = usize::from((crc >> (self.width - 8)) as u8 ^ byte);
            ((crc << 8) ^ self.table[index]) & self.mask
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogued check values (CRC-8/SMBUS, CRC-16/UMTS, CRC-32/MPEG-2 without its start
    /// value: CRC-32/OGG) of "123456789".
    #[test]
    fn check_values() {
        let data = *b"123456789";
        assert_eq!(CRC8.of(data), 0xF4);
        assert_eq!(CRC16.of(data), 0xFEE8);
        assert_eq!(CRC32.of(data), 0x89A1_897F);
    }
}
