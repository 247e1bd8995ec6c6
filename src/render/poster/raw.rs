//! The raw density export (`--raw`): visits per pixel as a 16-bit
//! grayscale PNG, for tools that want to colour or analyse it themselves.
//!
//! A pixel's value is `min(round(visits * 64), 65535)`: linear, with six
//! bits of fraction (anti-aliased edges keep 64 levels, more than an 8-bit
//! colour can show) and room for 1023 visits before it saturates, which a
//! personal heatmap reaches only on the doorstep. The scale is written into
//! the file as a tEXt chunk ([`SCALE_KEYWORD`]) so readers need not guess.

use crate::render::{DENSITY_ONE, Density};
use rayon::prelude::*;

/// Value units per visit.
pub const UNITS_PER_VISIT: u32 = 64;
/// tEXt keyword whose text is [`UNITS_PER_VISIT`] in decimal.
pub const SCALE_KEYWORD: &str = "hotpot:units-per-visit";

/// The 16-bit value of a fixed-point density.
#[inline]
pub fn value(fixed: u32) -> u16 {
    const SHIFT: u32 = (DENSITY_ONE / UNITS_PER_VISIT).trailing_zeros();
    const _: () = assert!(DENSITY_ONE == UNITS_PER_VISIT << SHIFT, "exact shift");
    (fixed.saturating_add(1 << (SHIFT - 1)) >> SHIFT).min(u16::MAX as u32) as u16
}

/// Rows of big-endian 16-bit samples, as PNG stores them.
pub fn gray16(d: &Density) -> Vec<u8> {
    let mut out = vec![0u8; d.data.len() * 2];
    out.par_chunks_mut(2 * 4096)
        .zip(d.data.par_chunks(4096))
        .for_each(|(out, src)| {
            for (px, &v) in out.chunks_exact_mut(2).zip(src) {
                px.copy_from_slice(&value(v).to_be_bytes());
            }
        });
    out
}

/// The tEXt chunks that describe the values.
pub fn text_chunks() -> Vec<(String, String)> {
    vec![
        (SCALE_KEYWORD.into(), UNITS_PER_VISIT.to_string()),
        (
            "Description".into(),
            format!("hotpot density: value = min(round(visits * {UNITS_PER_VISIT}), 65535)"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_visits_times_the_scale() {
        assert_eq!(value(0), 0);
        assert_eq!(value(DENSITY_ONE), 64);
        assert_eq!(value(DENSITY_ONE / 2), 32);
        assert_eq!(value(7), 0, "under half a unit rounds down");
        assert_eq!(value(8), 1, "half a unit rounds up");
        assert_eq!(value(1023 * DENSITY_ONE), 65472);
        assert_eq!(value(5000 * DENSITY_ONE), 65535, "saturates");
        assert_eq!(value(u32::MAX), 65535);
    }
}
