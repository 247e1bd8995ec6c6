//! Framing a poster: from what the user asked for (an area by bounds, by the
//! data, or around a point; a width, a height, both or neither) to the exact
//! area and pixel size, refusing up front what cannot be written.
//!
//! The CLI parses the strings; everything that decides what gets drawn
//! lives here, so `render`, `demo` and anything later frame alike.

use super::area::{self, AreaError};
use super::{height_for_width, width_for_height};
use crate::geo::UnitRect;

/// Default size of the longer side when neither width nor height is given.
pub const DEFAULT_SIZE: u32 = 2048;

/// Largest side accepted, in pixels. PNG allows 2^31 - 1, but a row of the
/// encoder's RGBA must fit in memory next to the strip (4 bytes a pixel),
/// and at the measured ~3 ns a pixel (100,000^2 in 32 s on 2 cores) a
/// 1,048,576^2 poster already takes about an hour: beyond it nothing useful
/// is left to ask for.
pub const MAX_SIDE: u32 = 1 << 20;

/// Above this many pixels the CLI warns with the estimated time and size.
pub const WARN_PIXELS: u64 = 1 << 33;

/// Measured cost of a poster per pixel on the CPU renderer (2 cores,
/// 100,000^2 in 32 s), used for the estimate in the warning.
const SECONDS_PER_PIXEL: f64 = 3.2e-9;

/// Measured PNG bytes per pixel of demo-data posters with default widths
/// (mostly transparent): 16000^2 wrote 21 MB, 65536^2 330 MB.
const BYTES_PER_PIXEL: f64 = 0.08;

/// Which area to draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AreaRequest {
    /// Exactly this area (stretched if the size disagrees on its shape).
    Bounds(UnitRect),
    /// The data's box with `margin` (a fraction of its size) around it,
    /// widened to the poster's shape.
    Fit { data: UnitRect, margin: f64 },
    /// What `width` x `height` pixels of 256 px tiles at `zoom` cover.
    Center { lat: f64, lon: f64, zoom: f64 },
}

/// The exact area and size of a poster, and what the user should know.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub area: UnitRect,
    pub width: u32,
    pub height: u32,
    /// Set when the pixels and the bounds disagree on shape by more than
    /// [`area::ASPECT_TOLERANCE`]: `(pixel aspect, map aspect)`.
    pub stretched: Option<(f64, f64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error(transparent)]
    Area(#[from] AreaError),
    #[error(
        "{width}x{height} px is too large: each side may be at most {MAX_SIDE} px \
         (a poster that size takes about an hour; render part of the area instead)"
    )]
    TooLarge { width: u64, height: u64 },
}

impl Frame {
    /// Frames `req` at the size asked for; a missing side follows the
    /// area's shape.
    pub fn new(
        req: AreaRequest,
        width: Option<u32>,
        height: Option<u32>,
    ) -> Result<Frame, FrameError> {
        let both = width.is_some() && height.is_some();
        let (area, width, height) = match req {
            AreaRequest::Center { lat, lon, zoom } => {
                let (w, h) = (
                    width.unwrap_or(DEFAULT_SIZE),
                    height.unwrap_or(DEFAULT_SIZE),
                );
                check_size(w as u64, h as u64)?;
                (area::around(lat, lon, zoom, w, h)?, w, h)
            }
            AreaRequest::Bounds(area) => sized(area, width, height)?,
            AreaRequest::Fit { data, margin } => {
                let aspect = match (width, height) {
                    (Some(w), Some(h)) => Some(w as f64 / h as f64),
                    _ => None,
                };
                sized(area::fit(data, margin, aspect), width, height)?
            }
        };
        let stretched = match req {
            AreaRequest::Bounds(_) if both => area::aspect_mismatch(area, width, height),
            _ => None,
        };
        Ok(Frame {
            area,
            width,
            height,
            stretched,
        })
    }

    pub fn pixels(&self) -> u64 {
        self.width as u64 * self.height as u64
    }

    /// Estimated seconds and PNG bytes, from the measured per-pixel costs.
    pub fn estimate(&self) -> (f64, f64) {
        let px = self.pixels() as f64;
        (px * SECONDS_PER_PIXEL, px * BYTES_PER_PIXEL)
    }
}

fn sized(
    area: UnitRect,
    width: Option<u32>,
    height: Option<u32>,
) -> Result<(UnitRect, u32, u32), FrameError> {
    // Follow the shape in u64 first: a narrow area at a huge width would
    // otherwise overflow the other side before the size check sees it.
    let (w, h) = match (width, height) {
        (Some(w), Some(h)) => (w as u64, h as u64),
        (Some(w), None) => (w as u64, follow(w, area.height() / area.width())),
        (None, Some(h)) => (follow(h, area.width() / area.height()), h as u64),
        (None, None) => (
            DEFAULT_SIZE as u64,
            follow(DEFAULT_SIZE, area.height() / area.width()),
        ),
    };
    check_size(w, h)?;
    let (w, h) = (w as u32, h as u32);
    let (w, h) = match (width, height) {
        (Some(_), None) => (w, height_for_width(area, w)),
        (None, Some(_)) => (width_for_height(area, h), h),
        (None, None) => (w, height_for_width(area, w)),
        _ => (w, h),
    };
    Ok((area, w, h))
}

fn follow(side: u32, ratio: f64) -> u64 {
    (side as f64 * ratio).round().max(1.0).min(u64::MAX as f64) as u64
}

fn check_size(width: u64, height: u64) -> Result<(), FrameError> {
    if width > MAX_SIDE as u64 || height > MAX_SIDE as u64 {
        return Err(FrameError::TooLarge { width, height });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::LonLatBounds;

    fn berlin() -> UnitRect {
        LonLatBounds::parse("13.2,52.4,13.6,52.6")
            .unwrap()
            .to_unit()
    }

    #[test]
    fn a_missing_side_follows_the_shape() {
        let f = Frame::new(AreaRequest::Bounds(berlin()), Some(3000), None).unwrap();
        assert_eq!(f.width, 3000);
        assert_eq!(f.height, height_for_width(berlin(), 3000));
        assert_eq!(f.stretched, None);
    }

    #[test]
    fn both_sides_of_another_shape_say_stretched() {
        let f = Frame::new(AreaRequest::Bounds(berlin()), Some(1000), Some(1000)).unwrap();
        assert!(f.stretched.is_some());
        assert_eq!((f.width, f.height), (1000, 1000));
    }

    #[test]
    fn huge_sizes_are_refused_before_anything_is_allocated() {
        for (w, h) in [
            (Some(u32::MAX), None),
            (Some(2_147_483_648), None),
            (Some(1_000_000), Some(MAX_SIDE + 1)),
            (None, Some(4_000_000)),
        ] {
            let e = Frame::new(AreaRequest::Bounds(berlin()), w, h).unwrap_err();
            assert!(e.to_string().contains("too large"), "{e}");
        }
        // A very narrow area: the followed side overflows u32.
        let sliver = UnitRect {
            x0: 0.5,
            y0: 0.1,
            x1: 0.5 + 1e-9,
            y1: 0.9,
        };
        assert!(Frame::new(AreaRequest::Bounds(sliver), Some(100_000), None).is_err());
        let e = Frame::new(
            AreaRequest::Center {
                lat: 52.5,
                lon: 13.4,
                zoom: 12.0,
            },
            Some(MAX_SIDE + 1),
            None,
        )
        .unwrap_err();
        assert!(matches!(e, FrameError::TooLarge { .. }));
    }

    #[test]
    fn the_estimate_grows_with_pixels() {
        let f = Frame::new(AreaRequest::Bounds(berlin()), Some(100_000), Some(100_000)).unwrap();
        let (s, b) = f.estimate();
        assert!((s - 32.0).abs() < 1.0, "{s}");
        assert!(b > 1e8, "{b}");
        assert!(f.pixels() > WARN_PIXELS);
    }
}
