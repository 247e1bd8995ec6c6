//! What a render covers: a pixel grid laid over Web Mercator.
//!
//! A view maps world coordinates to "absolute" pixels (`world * scale -
//! frac`) and then to its own pixels by subtracting an integer origin. Views
//! that share `scale` and `frac` (a poster and its strips, a tile and the
//! tiles around it) therefore agree exactly on where every point falls, which
//! is what makes strips and tiles seamless, pixel for pixel.

use crate::geo::{UnitRect, WorldPoint};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// Pixels per normalized world unit, per axis.
    pub scale: [f64; 2],
    /// Fractional offset of the pixel grid, shared by all sub-views.
    pub frac: [f64; 2],
    /// Absolute pixel of this view's top-left corner.
    pub origin: [i64; 2],
    pub width: u32,
    pub height: u32,
}

impl View {
    /// A view that covers `rect` exactly with `width` x `height` pixels.
    pub fn for_rect(rect: UnitRect, width: u32, height: u32) -> View {
        let scale = [width as f64 / rect.width(), height as f64 / rect.height()];
        let ax = rect.x0 * scale[0];
        let ay = rect.y0 * scale[1];
        View {
            scale,
            frac: [ax - ax.floor(), ay - ay.floor()],
            origin: [ax.floor() as i64, ay.floor() as i64],
            width,
            height,
        }
    }

    /// XYZ tile `z/x/y` at `size` pixels (256, or 512 for @2x).
    pub fn tile(z: u8, x: u32, y: u32, size: u32) -> View {
        let s = size as f64 * (1u64 << z) as f64;
        View {
            scale: [s, s],
            frac: [0.0, 0.0],
            origin: [x as i64 * size as i64, y as i64 * size as i64],
            width: size,
            height: size,
        }
    }

    /// The part of this view starting at pixel (`x`, `y`), `w` x `h` big.
    pub fn sub_view(&self, x: u32, y: u32, w: u32, h: u32) -> View {
        View {
            origin: [self.origin[0] + x as i64, self.origin[1] + y as i64],
            width: w,
            height: h,
            ..*self
        }
    }

    /// Absolute pixel position of a world point.
    pub fn absolute(&self, p: WorldPoint) -> [f64; 2] {
        [
            p.x as f64 * (self.scale[0] / crate::geo::WORLD_SIZE) - self.frac[0],
            p.y as f64 * (self.scale[1] / crate::geo::WORLD_SIZE) - self.frac[1],
        ]
    }

    /// Position of an absolute pixel in this view's pixels.
    pub fn local(&self, abs: [f64; 2]) -> [f64; 2] {
        [
            abs[0] - self.origin[0] as f64,
            abs[1] - self.origin[1] as f64,
        ]
    }

    /// The view's area in normalized Mercator units.
    pub fn rect(&self) -> UnitRect {
        let x0 = (self.origin[0] as f64 + self.frac[0]) / self.scale[0];
        let y0 = (self.origin[1] as f64 + self.frac[1]) / self.scale[1];
        UnitRect {
            x0,
            y0,
            x1: x0 + self.width as f64 / self.scale[0],
            y1: y0 + self.height as f64 / self.scale[1],
        }
    }

    /// The Web Mercator zoom level whose 256 px tiles have this view's
    /// resolution (fractional for posters).
    pub fn zoom(&self) -> f64 {
        (self.scale[0].min(self.scale[1]) / 256.0).log2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_views_tile_the_world() {
        let v = View::tile(3, 5, 2, 256);
        assert_eq!(v.origin, [5 * 256, 2 * 256]);
        let r = v.rect();
        assert!((r.x0 - 5.0 / 8.0).abs() < 1e-15 && (r.y1 - 3.0 / 8.0).abs() < 1e-15);
        assert!((v.zoom() - 3.0).abs() < 1e-12);
    }

    #[test]
    fn sub_views_agree_on_positions() {
        let rect = UnitRect {
            x0: 0.53,
            y0: 0.33,
            x1: 0.54,
            y1: 0.335,
        };
        let v = View::for_rect(rect, 1000, 500);
        let s = v.sub_view(300, 100, 200, 200);
        let p = WorldPoint::from_lonlat(13.4, 52.5);
        let a = v.local(v.absolute(p));
        let b = s.local(s.absolute(p));
        assert_eq!([a[0] - 300.0, a[1] - 100.0], b);
    }
}
