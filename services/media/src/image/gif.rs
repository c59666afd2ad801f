//! GIF: the logical screen size, and for an animation the sum of its frames' delays (Graphic
//! Control Extensions), found by walking block headers and skipping image data sub-block by
//! sub-block. A single-frame GIF has no duration. The walk must reach the trailer: a GIF cut short
//! (even after a complete frame) is reported truncated.

use crate::bin::le16;
use crate::error::{ProbeError, malformed, truncated};
use crate::image::nonzero;
use crate::probe::Probed;
use crate::reader::Reader;

#[derive(Default)]
struct Walk {
    frames: u64,
    centiseconds: u64,
    pending_delay: u64,
}

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let head = r
        .bytes_at(0, 13)
        .map_err(|_| truncated("the header does not fit in the object"))?;
    let (Some(width), Some(height), Some(&flags)) = (le16(&head, 6), le16(&head, 8), head.get(10))
    else {
        return Err(truncated("the header does not fit in the object"));
    };
    let (width, height) = nonzero(u32::from(width), u32::from(height))?;
    r.seek_to(13);
    if flags & 0x80 != 0 {
        r.skip(3 << ((flags & 7) + 1))?;
    }
    let mut walk = Walk::default();
    blocks(r, &mut walk)?;
    if walk.frames == 0 {
        return Err(malformed("no image"));
    }
    let duration = (walk.frames > 1).then(|| walk.centiseconds as f64 / 100.0);
    Ok(Probed {
        duration,
        ..Probed::still("gif", width, height)
    })
}

/// Walks the blocks up to the trailer. Running off the end (in a block or before the trailer) is
/// truncation: browsers would still show the frames before the cut, but the file is not whole.
fn blocks(r: &mut Reader<'_>, walk: &mut Walk) -> Result<(), ProbeError> {
    loop {
        r.tick()?;
        if r.at_end() {
            return Err(truncated(format!(
                "no trailer after {} image(s): the walk ran to byte {} but the object has {} bytes",
                walk.frames,
                r.pos(),
                r.len()
            )));
        }
        match r.u8()? {
            0x21 => {
                let label = r.u8()?;
                if label == 0xF9 {
                    let size = r.u8()?;
                    let block = r.take(u64::from(size))?;
                    walk.pending_delay = u64::from(le16(&block, 1).unwrap_or(0));
                }
                skip_sub_blocks(r)?;
            }
            0x2C => {
                let desc = r.array::<9>()?;
                if desc[8] & 0x80 != 0 {
                    r.skip(3 << ((desc[8] & 7) + 1))?;
                }
                r.skip(1)?; // LZW minimum code size
                skip_sub_blocks(r)?;
                walk.frames = walk.frames.saturating_add(1);
                walk.centiseconds = walk.centiseconds.saturating_add(walk.pending_delay);
                walk.pending_delay = 0;
            }
            0x3B => return Ok(()),
            0x00 => {} // stray padding some encoders leave between blocks
            _ => return Err(malformed("bad block")),
        }
    }
}

fn skip_sub_blocks(r: &mut Reader<'_>) -> Result<(), ProbeError> {
    loop {
        r.tick()?;
        let len = r.u8()?;
        if len == 0 {
            return Ok(());
        }
        r.skip(u64::from(len))?;
    }
}
