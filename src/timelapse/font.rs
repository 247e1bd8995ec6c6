//! A 5x7 bitmap font for frame labels.
//!
//! Labels are periods (`2023`, `2023-05`): digits and a dash, eleven
//! glyphs. A font-rendering crate (ab_glyph) plus a font file for eleven
//! glyphs would add two dependencies and a 100 kB+ font to the binary for
//! no gain in legibility at label sizes; this table is 77 bytes.

use crate::render::RgbaImage;

/// Rows of each glyph, top first; bit 4 is the leftmost column.
fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c {
        '0' => [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
        '1' => [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
        '2' => [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
        '3' => [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
        '4' => [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
        '5' => [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
        '6' => [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
        '7' => [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
        '9' => [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
        '-' => [0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00],
        _ => return None,
    })
}

/// Draws `text` with its top-left at (x, y), each font pixel `scale`
/// pixels wide, white on a dark box so it reads on any background.
/// Characters without a glyph are left blank.
pub(crate) fn draw_label(img: &mut RgbaImage, text: &str, x: u32, y: u32, scale: u32) {
    let n = text.chars().count() as u32;
    let (w, h) = ((6 * n + 1) * scale, 9 * scale);
    fill(img, x, y, w, h, [0, 0, 0, 160]);
    for (i, c) in text.chars().enumerate() {
        let Some(rows) = glyph(c) else { continue };
        for (r, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) != 0 {
                    let px = x + (1 + 6 * i as u32 + col) * scale;
                    let py = y + (1 + r as u32) * scale;
                    fill(img, px, py, scale, scale, [255, 255, 255, 255]);
                }
            }
        }
    }
}

/// Sets a clipped rectangle to `c`, composited over what is there.
fn fill(img: &mut RgbaImage, x: u32, y: u32, w: u32, h: u32, c: [u8; 4]) {
    for py in y..(y + h).min(img.height) {
        for px in x..(x + w).min(img.width) {
            let i = (py as usize * img.width as usize + px as usize) * 4;
            let under = [
                img.data[i],
                img.data[i + 1],
                img.data[i + 2],
                img.data[i + 3],
            ];
            img.data[i..i + 4].copy_from_slice(&crate::render::colormap::over(c, under));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_draw_white_pixels_inside_their_box() {
        let mut img = RgbaImage {
            width: 100,
            height: 30,
            data: vec![0; 100 * 30 * 4],
        };
        draw_label(&mut img, "2023-05", 2, 3, 2);
        let white = img
            .data
            .chunks(4)
            .filter(|p| p == &[255, 255, 255, 255])
            .count();
        assert!(white > 100, "{white}");
        // Nothing outside the box: 7 glyphs * 6 + 1 columns, 9 rows, x2.
        for y in 0..30u32 {
            for x in 0..100u32 {
                let inside = (2..2 + 86).contains(&x) && (3..3 + 18).contains(&y);
                let a = img.data[((y * 100 + x) * 4 + 3) as usize];
                assert_eq!(a > 0, inside, "({x}, {y})");
            }
        }
    }
}
