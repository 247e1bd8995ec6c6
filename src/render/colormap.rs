//! From density (visits per pixel) to colour.
//!
//! A gradient is a list of stops in visit counts, hotpot's syntax:
//! `1:f00;10:ff0;50:fff` is red where one track passes, yellow at ten, white
//! at fifty and above. Between zero and the first stop the first colour fades
//! in (that is the anti-aliased edge of a single line); zero is transparent.
//! Because stops are absolute counts, a tile and a poster of the same place
//! always agree on brightness.
//!
//! The gradient is sampled into a 256-entry table indexed by
//! `sqrt(density / last stop)`: the square root spends the table's
//! resolution where it matters, on the faint edges and single tracks.

use super::tone::Tone;
use super::{Density, RgbaImage};
use rayon::prelude::*;

/// A parsed gradient: stops ascending in visit count, colours RGBA.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    pub stops: Vec<(f32, [u8; 4])>,
}

/// Built-in palettes: (name, gradient, description).
pub(crate) const PALETTES: &[(&str, &str, &str)] = &[
    (
        "hot",
        "1:b40000c0;4:ff2a00;12:ff9d00;30:ffe14d;80:ffffff",
        "dark red to orange to white (default)",
    ),
    (
        "blue",
        "1:0b2a8cc0;4:1f63ff;12:00bfff;30:8ff7ff;80:ffffff",
        "navy to cyan to white",
    ),
    (
        "purple",
        "1:4a148cc0;4:9c27b0;12:ff4fd8;30:ffb3ec;80:ffffff",
        "violet to pink to white",
    ),
    (
        "viridis",
        "1:440154c0;4:3b528b;12:21918c;30:5ec962;80:fde725",
        "perceptually uniform, colour-blind safe",
    ),
    (
        "mono",
        "1:ffffff50;5:ffffffa0;20:ffffffff",
        "white lines for dark backgrounds",
    ),
    (
        "ink",
        "1:00000050;5:000000a0;20:000000ff",
        "black lines for print on white",
    ),
    // erik/hotpot's palettes, its stops exactly (src/raster.rs), so that its
    // users' `?color=` URLs draw the same. Its counts are line passes per
    // pixel, as ours.
    (
        "pinkish",
        "1:ffb1ff7f;10:ffb1ffff;50:ffffffff",
        "hotpot's pink to white",
    ),
    (
        "blue-red",
        "1:3f5efbff;10:fc466bff;50:ffffffff",
        "hotpot's blue to red to white",
    ),
    (
        "red",
        "1:b20a2cff;10:fffbd5ff;50:ffffffff",
        "hotpot's red to cream to white",
    ),
    (
        "orange",
        "1:fc4a1aff;10:f7b733ff;50:fdedceff",
        "hotpot's orange to amber to cream",
    ),
    // local-heatmap-tile-server's ramps (app/renderer.py). Its ramp runs over
    // t = ln(1 + count) / ln(1 + cap) with cap 10 at zoom 12-14, and alpha
    // is min(1, 3t); its breakpoints t = .05 .15 .3 1/3 .5 .75 1 are here
    // the counts 11^t - 1 = 0.13 0.43 1.05 1.22 2.32 5.04 10.
    (
        "warm",
        "0.13:28050026;0.43:500f0073;1.05:a01e00e6;1.22:aa2400ff;2.32:dc4605ff;5.04:ff7814ff;10:c83c05ff",
        "local-heatmap-tile-server's dark red to orange",
    ),
    (
        "cool",
        "0.13:00052826;0.43:000f5073;1.05:0028a0e6;1.22:012eaaff;2.32:0a50dcff;5.04:1e8cffff;10:0a3cc8ff",
        "local-heatmap-tile-server's navy to sky blue",
    ),
];

pub const DEFAULT_PALETTE: &str = "hot";

impl Gradient {
    /// Parses `1:f00;10:ff0;50:fff`; colours as `RGB`, `RRGGBB` or
    /// `RRGGBBAA`, with or without `#`.
    pub fn parse(s: &str) -> Result<Gradient, GradientError> {
        let mut stops = Vec::new();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let stop = || part.to_string();
            let (count, color) = part
                .split_once(':')
                .ok_or_else(|| GradientError::Syntax(stop()))?;
            let count: f32 = count
                .trim()
                .parse()
                .map_err(|_| GradientError::Count(stop(), count.trim().to_string()))?;
            if !count.is_finite() || count <= 0.0 {
                return Err(GradientError::NotPositive(stop()));
            }
            let color = parse_color(color).map_err(|e| GradientError::Color(stop(), e))?;
            if let Some(&(prev, _)) = stops.last()
                && count <= prev
            {
                return Err(GradientError::NotIncreasing(stop(), count, prev));
            }
            stops.push((count, color));
        }
        if stops.is_empty() {
            return Err(GradientError::Empty);
        }
        Ok(Gradient { stops })
    }

    pub fn palette(name: &str) -> Result<Gradient, GradientError> {
        let (_, g, _) = PALETTES
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let names: Vec<_> = PALETTES.iter().map(|p| p.0).collect();
                GradientError::UnknownPalette(name.to_string(), names.join(", "))
            })?;
        Gradient::parse(g)
    }

    /// Colour at `d` visits.
    pub fn at(&self, d: f32) -> [u8; 4] {
        let (first, c0) = self.stops[0];
        if d <= 0.0 {
            return [0; 4];
        }
        if d < first {
            let mut c = c0;
            c[3] = (c0[3] as f32 * d / first).round() as u8;
            return c;
        }
        for w in self.stops.windows(2) {
            let ((d0, c0), (d1, c1)) = (w[0], w[1]);
            if d < d1 {
                let t = (d - d0) / (d1 - d0);
                return std::array::from_fn(|i| {
                    (c0[i] as f32 + (c1[i] as f32 - c0[i] as f32) * t).round() as u8
                });
            }
        }
        self.stops.last().expect("non-empty").1
    }

    pub(crate) fn max_count(&self) -> f32 {
        self.stops.last().expect("non-empty").0
    }
}

/// Why a gradient or palette name was refused; the message names the stop.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GradientError {
    #[error("stop {0:?} should look like COUNT:COLOR, e.g. 10:ff0")]
    Syntax(String),
    #[error("stop {0:?}: {1:?} is not a number")]
    Count(String, String),
    #[error("stop {0:?}: the visit count must be above 0")]
    NotPositive(String),
    #[error("stop {0:?}: {1}")]
    Color(String, ColorError),
    #[error("stop {0:?}: counts must increase ({1} after {2})")]
    NotIncreasing(String, f32, f32),
    #[error("a gradient needs at least one stop, e.g. 1:f00;10:ff0;50:fff")]
    Empty,
    #[error("unknown palette {0:?}; choose one of {1}")]
    UnknownPalette(String, String),
}

/// Why a colour was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ColorError {
    #[error("{0:?} is not a hex colour")]
    NotHex(String),
    #[error("{0:?} should be RGB, RRGGBB or RRGGBBAA hex")]
    Length(String),
}

/// `RGB`, `RRGGBB` or `RRGGBBAA` hex, optional `#`.
pub fn parse_color(s: &str) -> Result<[u8; 4], ColorError> {
    let hex = s.trim().trim_start_matches('#');
    let digits: Option<Vec<u8>> = hex
        .chars()
        .map(|c| c.to_digit(16).map(|d| d as u8))
        .collect();
    let Some(d) = digits else {
        return Err(ColorError::NotHex(s.to_string()));
    };
    match d.len() {
        3 => Ok([d[0] * 17, d[1] * 17, d[2] * 17, 255]),
        6 | 8 => {
            let mut c = [255u8; 4];
            for (i, pair) in d.chunks(2).enumerate() {
                c[i] = pair[0] * 16 + pair[1];
            }
            Ok(c)
        }
        _ => Err(ColorError::Length(s.to_string())),
    }
}

/// A gradient sampled for fast lookup, plus an optional background.
#[derive(Debug, Clone, PartialEq)]
pub struct Colormap {
    pub gradient: Gradient,
    /// 256 RGBA entries; entry 0 is zero density (transparent).
    pub lut: Vec<[u8; 4]>,
    pub background: Option<[u8; 4]>,
    /// How counts map onto the gradient (`--scale`).
    pub tone: Tone,
    /// The last stop's count, kept at hand for [`Colormap::index`].
    max_count: f32,
}

impl Colormap {
    pub fn new(gradient: Gradient, background: Option<[u8; 4]>) -> Colormap {
        Colormap::with_tone(gradient, background, Tone::Counts)
    }

    pub fn with_tone(gradient: Gradient, background: Option<[u8; 4]>, tone: Tone) -> Colormap {
        let max = gradient.max_count();
        let lut = (0..256)
            .map(|i| {
                let c = gradient.at(tone.lut_visits(i, max));
                match background {
                    Some(bg) => over(c, bg),
                    None => c,
                }
            })
            .collect();
        Colormap {
            max_count: gradient.max_count(),
            gradient,
            lut,
            background,
            tone,
        }
    }

    /// LUT index for a fixed-point density.
    #[inline]
    pub fn index(&self, fixed: u32) -> u8 {
        self.tone.index(fixed, self.max_count)
    }

    pub fn colorize(&self, d: &Density) -> RgbaImage {
        let clear = [self.lut[0]; GROUP];
        // Collected in place on all threads: no zeroed buffer first (a
        // strip's 16 MB memset was 2% of a poster's CPU time, all of it on
        // the calling thread).
        let groups: Vec<[[u8; 4]; GROUP]> = d
            .data
            .par_chunks(GROUP)
            .map(|s| self.colour_group(s, &clear))
            .collect();
        let mut data = groups.into_flattened().into_flattened();
        data.truncate(d.data.len() * 4);
        RgbaImage {
            width: d.width,
            height: d.height,
            data,
        }
    }

    /// Colours of up to [`GROUP`] densities (the rest of the group clear).
    ///
    /// Most of a big poster is empty, so pixels go in groups: a group of
    /// zeros costs one OR over the group and a copy of `clear`, and only
    /// the others pay for the lookup. Pixel by pixel (a test for zero per
    /// pixel, into a zeroed buffer) colours took 9.3% of a 16000² poster's
    /// CPU time; in groups 6-8% (perf samples, 2,000-ride set).
    #[inline]
    fn colour_group(&self, s: &[u32], clear: &[[u8; 4]; GROUP]) -> [[u8; 4]; GROUP] {
        let mut out = *clear;
        if s.iter().fold(0, |acc, &v| acc | v) != 0 {
            for (px, &v) in out.iter_mut().zip(s) {
                // Zero stays clear without the square root.
                if v != 0 {
                    *px = self.lut[self.index(v) as usize];
                }
            }
        }
        out
    }
}

/// Pixels coloured together by [`Colormap::colorize`].
const GROUP: usize = 16;

/// `fg` over `bg`, straight alpha.
pub fn over(fg: [u8; 4], bg: [u8; 4]) -> [u8; 4] {
    let fa = fg[3] as f32 / 255.0;
    let ba = bg[3] as f32 / 255.0;
    let oa = fa + ba * (1.0 - fa);
    if oa <= 0.0 {
        return [0; 4];
    }
    let mut out = [0u8; 4];
    for i in 0..3 {
        out[i] = ((fg[i] as f32 * fa + bg[i] as f32 * ba * (1.0 - fa)) / oa).round() as u8;
    }
    out[3] = (oa * 255.0).round() as u8;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::DENSITY_ONE;

    #[test]
    fn hotpot_gradient_syntax() {
        let g = Gradient::parse("1:f00;10:ff0;50:fff").unwrap();
        assert_eq!(
            g.stops,
            vec![
                (1.0, [255, 0, 0, 255]),
                (10.0, [255, 255, 0, 255]),
                (50.0, [255; 4])
            ]
        );
        assert_eq!(g.at(0.0), [0, 0, 0, 0]);
        assert_eq!(g.at(0.5), [255, 0, 0, 128], "fades in below the first stop");
        assert_eq!(g.at(1.0), [255, 0, 0, 255]);
        assert_eq!(g.at(5.5), [255, 128, 0, 255]);
        assert_eq!(g.at(1000.0), [255; 4]);
        assert_eq!(
            Gradient::parse("2:#11223344").unwrap().stops[0].1,
            [0x11, 0x22, 0x33, 0x44]
        );
    }

    #[test]
    fn bad_gradients_say_why() {
        assert!(
            Gradient::parse("")
                .unwrap_err()
                .to_string()
                .contains("at least one stop")
        );
        assert!(
            Gradient::parse("1:f00;1:ff0")
                .unwrap_err()
                .to_string()
                .contains("increase")
        );
        assert!(
            Gradient::parse("x:f00")
                .unwrap_err()
                .to_string()
                .contains("not a number")
        );
        assert!(
            Gradient::parse("1:ggg")
                .unwrap_err()
                .to_string()
                .contains("hex")
        );
        assert!(
            Gradient::parse("1:ff00")
                .unwrap_err()
                .to_string()
                .contains("RRGGBB")
        );
        assert!(
            Gradient::parse("1-f00")
                .unwrap_err()
                .to_string()
                .contains("COUNT:COLOR")
        );
        assert!(
            Gradient::palette("nope")
                .unwrap_err()
                .to_string()
                .contains("hot")
        );
    }

    #[test]
    fn every_palette_parses_and_zero_is_transparent() {
        for (name, _, _) in PALETTES {
            let cm = Colormap::new(Gradient::palette(name).unwrap(), None);
            assert_eq!(cm.lut[0][3], 0, "{name}");
            assert_eq!(cm.index(0), 0);
            assert!(cm.lut[255][3] > 0);
        }
    }

    #[test]
    fn hotpot_palettes_have_hotpots_stops() {
        let stops = |name| Gradient::palette(name).unwrap().stops;
        assert_eq!(
            stops("pinkish"),
            [
                (1.0, [0xff, 0xb1, 0xff, 0x7f]),
                (10.0, [0xff, 0xb1, 0xff, 0xff]),
                (50.0, [0xff; 4])
            ]
        );
        assert_eq!(stops("Blue-Red")[1], (10.0, [0xfc, 0x46, 0x6b, 0xff]));
        assert_eq!(stops("red")[0], (1.0, [0xb2, 0x0a, 0x2c, 0xff]));
        assert_eq!(stops("orange")[2], (50.0, [0xfd, 0xed, 0xce, 0xff]));
    }

    /// The converted stops give local-heatmap-tile-server's colours where
    /// its ramp has breakpoints (within rounding of the stop counts).
    #[test]
    fn warm_and_cool_follow_local_heatmap_tile_servers_ramps() {
        let ramps: [(&str, [[u8; 3]; 4]); 2] = [
            (
                "warm",
                [[80, 15, 0], [220, 70, 5], [255, 120, 20], [200, 60, 5]],
            ),
            (
                "cool",
                [[0, 15, 80], [10, 80, 220], [30, 140, 255], [10, 60, 200]],
            ),
        ];
        for (name, colours) in ramps {
            let g = Gradient::palette(name).unwrap();
            for (t, want) in [0.15f32, 0.5, 0.75, 1.0].into_iter().zip(colours) {
                let count = 11f32.powf(t) - 1.0;
                let got = g.at(count);
                for i in 0..3 {
                    let diff = (got[i] as i32 - want[i] as i32).abs();
                    assert!(diff <= 2, "{name} at t={t}: {got:?} vs {want:?}");
                }
                let alpha = (t * 3.0).min(1.0) * 255.0;
                assert!((got[3] as f32 - alpha).abs() <= 2.0, "{name} t={t}");
            }
        }
    }

    #[test]
    fn background_fills_empty_pixels() {
        let cm = Colormap::new(Gradient::palette("hot").unwrap(), Some([0, 0, 0, 255]));
        let img = cm.colorize(&Density {
            width: 2,
            height: 1,
            data: vec![0, 30 * DENSITY_ONE],
        });
        assert_eq!(&img.data[..4], &[0, 0, 0, 255]);
        assert_eq!(img.data[7], 255);
        assert!(
            img.data[4] > 200,
            "bright where 30 tracks pass: {:?}",
            &img.data[4..]
        );
    }

    #[test]
    fn every_pixel_gets_its_own_colour() {
        // Zero groups, mixed groups and a short tail: every pixel as
        // `index` and the LUT say, one by one.
        let cm = Colormap::new(Gradient::palette("hot").unwrap(), Some([9, 8, 7, 255]));
        let mut data = vec![0u32; 16 * 5 + 7];
        for (i, v) in [
            (17, 1),
            (31, 5 * DENSITY_ONE),
            (50, 7),
            (86, 900 * DENSITY_ONE),
        ] {
            data[i] = v;
        }
        let (width, height) = (data.len() as u32, 1);
        let img = cm.colorize(&Density {
            width,
            height,
            data: data.clone(),
        });
        for (i, &v) in data.iter().enumerate() {
            let want = if v == 0 {
                cm.lut[0]
            } else {
                cm.lut[cm.index(v) as usize]
            };
            assert_eq!(img.data[4 * i..4 * i + 4], want, "pixel {i}");
        }
        assert_ne!(cm.lut[cm.index(900 * DENSITY_ONE) as usize], cm.lut[0]);
    }
}
