//! Another palette for an indexed tile without decoding it.
//!
//! A tile's pixels are indices into its colormap's 256 entries
//! ([`super::encode::indexed_png`]), and the index of a density depends
//! only on the tone and the gradient's top count, not on its colours. So
//! a saved tile becomes the same tile in another palette of the same top
//! count by swapping its PLTE and tRNS chunks: microseconds instead of
//! rasterising again (a dense z11 city tile: ~100 ms). Written by hand
//! because PNG crates decode and re-encode the image to change a chunk;
//! the chunks are laid out as the `png` crate writes them, so the result
//! is byte for byte what [`super::encode::indexed_png`] makes with the
//! new colormap (tested).

use super::colormap::Colormap;
use super::encode::png_chunks;

/// `png` (an indexed PNG) with `cm`'s colours, or `None` if it is not an
/// indexed PNG this program wrote.
pub(crate) fn repalette(png: &[u8], cm: &Colormap) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(png.len());
    out.extend_from_slice(&png[..8.min(png.len())]);
    let mut swapped = false;
    for c in png_chunks(png)? {
        match &c.kind {
            b"PLTE" => {
                let rgb: Vec<u8> = cm.lut.iter().flat_map(|c| [c[0], c[1], c[2]]).collect();
                chunk(&mut out, b"PLTE", &rgb);
                if cm.lut.iter().any(|c| c[3] < 255) {
                    let alpha: Vec<u8> = cm.lut.iter().map(|c| c[3]).collect();
                    chunk(&mut out, b"tRNS", &alpha);
                }
                swapped = true;
            }
            b"tRNS" => {}
            _ => out.extend_from_slice(c.whole),
        }
    }
    swapped.then_some(out)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Density;
    use crate::render::colormap::Gradient;
    use crate::render::encode::{indexed_png, read_png_rgba};

    fn density() -> Density {
        let mut d = Density::zeros(64, 64);
        for (i, v) in d.data.iter_mut().enumerate() {
            *v = (i as u32 % 97) * (crate::render::DENSITY_ONE / 3);
        }
        d
    }

    #[test]
    fn swapping_the_palette_equals_encoding_with_it() {
        let d = density();
        let hot = Colormap::new(Gradient::palette("hot").unwrap(), None);
        for name in ["viridis", "blue", "mono"] {
            let other = Colormap::new(Gradient::palette(name).unwrap(), None);
            let swapped = repalette(&indexed_png(&d, &hot).unwrap(), &other).unwrap();
            // Same bytes as encoding anew wherever the indices agree (same
            // top count); the colours always come from the new palette.
            let fresh = indexed_png(&d, &other).unwrap();
            if other.gradient.max_count() == hot.gradient.max_count() {
                assert_eq!(swapped, fresh, "{name}");
            }
            let img = read_png_rgba(&swapped).unwrap();
            let i = hot.index(d.data[5]) as usize;
            assert_eq!(img.data[5 * 4..6 * 4], other.lut[i], "{name}");
        }
    }

    #[test]
    fn other_bytes_are_refused() {
        let cm = Colormap::new(Gradient::palette("hot").unwrap(), None);
        assert!(repalette(b"not a png", &cm).is_none());
        let png = indexed_png(&density(), &cm).unwrap();
        assert!(repalette(&png[..png.len() / 2], &cm).is_none());
    }
}
