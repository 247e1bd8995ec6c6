//! Drawing explorer tiles over a map tile or a poster.
//!
//! Works on any [`View`], so the server's `/explorer/...` tiles and
//! `render --explorer` posters share one drawing, and a tile is the crop of
//! a poster here too: every pixel is decided by where its centre falls.

use super::TileXY;
use super::stats::{Square, max_cluster, max_square};
use crate::render::colormap::over;
use crate::render::{RgbaImage, View};
use std::collections::HashSet;

const VISITED: [u8; 4] = [0, 110, 255, 80];
const CLUSTER: [u8; 4] = [150, 0, 255, 110];
const SQUARE: [u8; 4] = [255, 230, 0, 255];
const GRID: [u8; 4] = [40, 40, 40, 110];
/// Grid lines appear once an explorer tile is this many pixels wide; below
/// that they would turn the map grey.
const GRID_MIN_PX: f64 = 16.0;

/// The visited tiles of one zoom with their cluster and max square.
#[derive(Debug, Clone)]
pub struct ExplorerLayer {
    pub zoom: u8,
    pub visited: HashSet<TileXY>,
    pub cluster: HashSet<TileXY>,
    pub square: Option<Square>,
}

impl ExplorerLayer {
    pub fn new(zoom: u8, visited: HashSet<TileXY>) -> ExplorerLayer {
        ExplorerLayer {
            zoom,
            cluster: max_cluster(&visited).into_iter().collect(),
            square: max_square(&visited),
            visited,
        }
    }

    /// The layer alone on a transparent picture.
    pub fn draw(&self, view: &View) -> RgbaImage {
        let mut img = RgbaImage {
            width: view.width,
            height: view.height,
            data: vec![0; view.width as usize * view.height as usize * 4],
        };
        self.overlay(view, &mut img);
        img
    }

    /// Composites the layer over `img`, which covers `view`.
    pub fn overlay(&self, view: &View, img: &mut RgbaImage) {
        let n = (1u64 << self.zoom) as f64;
        // Explorer tile edge `t` in the view's pixels, per axis.
        let px = |t: f64, axis: usize| {
            t / n * view.scale[axis] - view.frac[axis] - view.origin[axis] as f64
        };
        let r = view.rect();
        let range = |a: f64, b: f64| {
            let lo = (a * n).floor().max(0.0) as u64;
            let hi = ((b * n).ceil().max(0.0) as u64).min(n as u64);
            lo..hi
        };
        let (xs, ys) = (range(r.x0, r.x1), range(r.y0, r.y1));
        let fill = |img: &mut RgbaImage, (x, y): TileXY| {
            let c = if self.cluster.contains(&(x, y)) {
                CLUSTER
            } else {
                VISITED
            };
            let (x0, x1) = pixel_span(px(x as f64, 0), px(x as f64 + 1.0, 0), img.width);
            let (y0, y1) = pixel_span(px(y as f64, 1), px(y as f64 + 1.0, 1), img.height);
            blend_rect(img, x0, x1, y0, y1, c);
        };
        let in_view = (xs.end - xs.start).saturating_mul(ys.end - ys.start);
        if in_view <= self.visited.len() as u64 {
            for y in ys.clone() {
                for x in xs.clone() {
                    if self.visited.contains(&(x as u32, y as u32)) {
                        fill(img, (x as u32, y as u32));
                    }
                }
            }
        } else {
            for &t in &self.visited {
                if xs.contains(&(t.0 as u64)) && ys.contains(&(t.1 as u64)) {
                    fill(img, t);
                }
            }
        }
        if px(1.0, 0) - px(0.0, 0) >= GRID_MIN_PX {
            for x in xs.start..=xs.end {
                let (a, b) = pixel_span(px(x as f64, 0), px(x as f64, 0) + 1.0, img.width);
                blend_rect(img, a, b, 0, img.height, GRID);
            }
            for y in ys.start..=ys.end {
                let (a, b) = pixel_span(px(y as f64, 1), px(y as f64, 1) + 1.0, img.height);
                blend_rect(img, 0, img.width, a, b, GRID);
            }
        }
        if let Some(s) = self.square {
            let (x0, x1) = (px(s.x as f64, 0), px((s.x + s.size) as f64, 0));
            let (y0, y1) = (px(s.y as f64, 1), px((s.y + s.size) as f64, 1));
            let (ax, bx) = pixel_span(x0, x1, img.width);
            let (ay, by) = pixel_span(y0, y1, img.height);
            // A 2 px frame just inside the square's edges.
            let edge = |a: f64, len: u32| pixel_span(a, a + 2.0, len);
            let (l0, l1) = edge(x0, img.width);
            let (r0, r1) = edge(x1 - 2.0, img.width);
            let (t0, t1) = edge(y0, img.height);
            let (b0, b1) = edge(y1 - 2.0, img.height);
            blend_rect(img, l0, l1, ay, by, SQUARE);
            blend_rect(img, r0, r1, ay, by, SQUARE);
            blend_rect(img, ax, bx, t0, t1, SQUARE);
            blend_rect(img, ax, bx, b0, b1, SQUARE);
        }
    }
}

/// Pixels whose centres lie in [a, b), clamped to `0..len`; a span
/// narrower than a pixel still gets the pixel it starts in, so far zoomed
/// out tiles stay visible.
fn pixel_span(a: f64, b: f64, len: u32) -> (u32, u32) {
    let clamp = |v: f64| v.clamp(0.0, len as f64) as u32;
    let (mut lo, mut hi) = ((a - 0.5).ceil(), (b - 0.5).ceil());
    if hi <= lo {
        lo = a.floor();
        hi = lo + 1.0;
    }
    (clamp(lo), clamp(hi))
}

fn blend_rect(img: &mut RgbaImage, x0: u32, x1: u32, y0: u32, y1: u32, c: [u8; 4]) {
    for y in y0..y1 {
        let row = (y * img.width) as usize * 4;
        for x in x0..x1 {
            let i = row + x as usize * 4;
            let px: &mut [u8] = &mut img.data[i..i + 4];
            let out = over(c, [px[0], px[1], px[2], px[3]]);
            px.copy_from_slice(&out);
        }
    }
}

impl crate::render::poster::Overlay for ExplorerLayer {
    fn overlay(&self, view: &View, img: &mut RgbaImage) {
        ExplorerLayer::overlay(self, view, img);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_is_the_crop_of_a_bigger_picture() {
        let visited: HashSet<TileXY> = (0..5)
            .flat_map(|x| (0..5).map(move |y| (8800 + x, 5370 + y)))
            .collect();
        let layer = ExplorerLayer::new(14, visited);
        // z13 picture of 2x2 tiles, and one of its tiles.
        let big = layer.draw(&View {
            width: 512,
            height: 512,
            ..View::tile(13, 4400, 2685, 256)
        });
        let tile = layer.draw(&View::tile(13, 4401, 2686, 256));
        for y in 0..256 {
            let a = ((256 + y) * 512 + 256) * 4;
            let b = y * 256 * 4;
            assert_eq!(big.data[a..a + 1024], tile.data[b..b + 1024], "row {y}");
        }
        assert!(tile.data.chunks(4).any(|p| p[3] > 0));
    }
}
