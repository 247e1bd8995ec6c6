//! Which tiles hold data, and how much work each is.
//!
//! Walks every track's segments at every zoom and marks the tiles that a
//! segment's box, widened by the line's half width and the anti-aliasing
//! pixel, touches. That is a small superset of the tiles with non-zero
//! pixels (a diagonal segment's box is bigger than the segment, masks hide
//! some): the pipeline drops the tiles that render empty. Boxes of whole
//! tracks would be far worse: on the 2,000-ride benchmark set the tracks'
//! boxes cover many times the tiles their lines do at z16.
//!
//! The count of segment pieces per tile is the tile's work estimate, which
//! `--shard` balances on.

use super::Tile;
use crate::geo::{UnitRect, WORLD_SIZE};
use crate::scene::Scene;
use rayon::prelude::*;
use std::collections::HashMap;
use std::ops::RangeInclusive;

/// A tile to render and an estimate of its cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileWork {
    pub tile: Tile,
    /// Segments (point to point pieces of track) that reach into the tile.
    pub segments: u32,
}

impl TileWork {
    /// Relative cost of rendering and encoding the tile: a fixed part for
    /// clearing, colouring and encoding 256² pixels, counted as this many
    /// short segments, plus one per segment. An estimate, not yet fitted
    /// to measurements: it only needs to rank tiles roughly for `--shard`.
    pub const BASE_COST: u64 = 100;

    pub fn cost(&self) -> u64 {
        Self::BASE_COST + self.segments as u64
    }
}

/// The tiles of `zooms` whose area meets `area` (everything if `None`) and
/// that a line of the scene may reach, sorted by tile id. `pad_px(z)` is
/// how far (in pixels of a `tile_size` tile) a line reaches beyond its
/// centre at zoom `z`.
pub fn enumerate(
    scene: &Scene,
    zooms: RangeInclusive<u8>,
    area: Option<UnitRect>,
    tile_size: u32,
    pad_px: impl Fn(u8) -> f64 + Sync,
) -> Vec<TileWork> {
    let zooms: Vec<u8> = zooms.collect();
    let mut tiles: Vec<TileWork> = zooms
        .par_iter()
        .flat_map_iter(|&z| {
            let pad = pad_px(z) / tile_size as f64;
            zoom_tiles(scene, z, pad, area)
        })
        .collect();
    tiles.sort_by_key(|t| t.tile.id());
    tiles
}

/// One zoom's tiles; `pad` in tiles.
///
/// In integer world units: tile indices are shifts of the point
/// coordinates, where the float version's `floor` was a libm call per
/// segment end (10% of an export's profile, baseline x86-64).
fn zoom_tiles(scene: &Scene, z: u8, pad: f64, area: Option<UnitRect>) -> Vec<TileWork> {
    debug_assert_eq!(WORLD_SIZE, (1u64 << 32) as f64);
    let shift = 32 - z.min(32) as u32;
    let max = ((1u64 << z.min(32)) - 1) as i64;
    // Rounded up: a tile more at the edge at worst, never one less.
    let pad = (pad * (1u64 << shift) as f64).ceil() as i64;
    let tile = move |v: i64| (v.max(0) >> shift).min(max) as u32;
    let range = move |lo: u32, hi: u32| tile(lo as i64 - pad)..=tile(hi as i64 + pad);
    let mut counts: HashMap<u64, u32> = HashMap::new();
    for t in &scene.tracks {
        // At low zooms most tracks lie in one tile: count them without
        // walking their points.
        let b = t.bbox;
        let (bx, by) = (range(b[0], b[2]), range(b[1], b[3]));
        if bx.start() == bx.end() && by.start() == by.end() {
            let key = (*bx.start() as u64) << 32 | *by.start() as u64;
            *counts.entry(key).or_default() += t.track.points.len().max(1) as u32;
            continue;
        }
        for seg in t.track.segments() {
            // Consecutive segments mostly hit the same tiles: remember the
            // last box so that most of them cost no hashing.
            let mut last: Option<(RangeInclusive<u32>, RangeInclusive<u32>)> = None;
            let mut run = 0u32;
            let mut flush = |r: &(RangeInclusive<u32>, RangeInclusive<u32>), k: u32| {
                for x in r.0.clone() {
                    for y in r.1.clone() {
                        *counts.entry((x as u64) << 32 | y as u64).or_default() += k;
                    }
                }
            };
            let pairs = seg.windows(2).map(|w| (w[0], w[1]));
            let single = (seg.len() == 1).then(|| (seg[0], seg[0]));
            for (a, b) in pairs.chain(single) {
                let r = (
                    range(a.x.min(b.x), a.x.max(b.x)),
                    range(a.y.min(b.y), a.y.max(b.y)),
                );
                if last.as_ref() == Some(&r) {
                    run += 1;
                    continue;
                }
                if let Some(l) = &last {
                    flush(l, run);
                }
                last = Some(r);
                run = 1;
            }
            if let Some(l) = &last {
                flush(l, run);
            }
        }
    }
    counts
        .into_iter()
        .map(|(k, segments)| TileWork {
            tile: Tile::new(z, (k >> 32) as u32, k as u32),
            segments,
        })
        .filter(|t| area.is_none_or(|a| t.tile.rect().overlaps(&a)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::WorldPoint;
    use crate::store::track::Track;

    fn scene(points: &[(f64, f64)]) -> Scene {
        let pts = points
            .iter()
            .map(|&(lon, lat)| WorldPoint::from_lonlat(lon, lat))
            .collect();
        Scene::from_tracks(vec![(1, Track::from_segments(&[pts]))])
    }

    #[test]
    fn a_line_marks_the_tiles_it_crosses_not_its_box() {
        // An L: east along a parallel, then north along a meridian.
        let s = scene(&[(13.30, 52.50), (13.40, 52.50), (13.40, 52.60)]);
        let tiles = enumerate(&s, 12..=12, None, 256, |_| 2.0);
        let xs: Vec<u32> = tiles.iter().map(|t| t.tile.x).collect();
        let ys: Vec<u32> = tiles.iter().map(|t| t.tile.y).collect();
        let (x0, x1) = (*xs.iter().min().unwrap(), *xs.iter().max().unwrap());
        let (y0, y1) = (*ys.iter().min().unwrap(), *ys.iter().max().unwrap());
        let bbox = ((x1 - x0 + 1) * (y1 - y0 + 1)) as usize;
        assert!(
            tiles.len() < bbox,
            "{} tiles of a {bbox}-tile box",
            tiles.len()
        );
        assert!(tiles.windows(2).all(|w| w[0].tile.id() < w[1].tile.id()));
    }

    #[test]
    fn every_zoom_and_the_area_are_honoured() {
        let s = scene(&[(13.30, 52.50), (13.40, 52.52)]);
        let all = enumerate(&s, 2..=10, None, 256, |_| 2.0);
        for z in 2..=10 {
            assert!(all.iter().any(|t| t.tile.z == z), "zoom {z}");
        }
        let west = crate::geo::LonLatBounds::parse("13.0,52.0,13.35,53.0")
            .unwrap()
            .to_unit();
        let some = enumerate(&s, 10..=10, Some(west), 256, |_| 2.0);
        let every = enumerate(&s, 10..=10, None, 256, |_| 2.0);
        assert!(!some.is_empty() && some.len() < every.len());
    }
}
