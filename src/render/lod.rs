//! Level of detail: tracks simplified for a zoom level, in world units.
//!
//! Both renderers draw the same simplified polylines: level `L` drops what
//! cannot be seen at zoom `L`, and a view uses the level of the next whole
//! zoom at or above its own, so no view ever sees detail lost. Because the
//! level depends only on the scale, every tile and strip of a picture uses
//! the same polylines, which keeps them seamless. The GPU keeps levels
//! resident; the CPU simplifies on the fly.

use super::view::View;
use crate::geo::{WORLD_SIZE, WorldPoint};

/// Points closer than this (px at the level's zoom) to the previously kept
/// point are dropped.
pub const MIN_STEP_PX: f64 = 0.4;
/// Points within this distance (px at the level's zoom) of a straight run
/// are dropped.
pub const SIMPLIFY_PX: f64 = 0.15;
/// Levels stop here: at zoom 26 a pixel is a few millimetres.
pub const MAX_LEVEL: u8 = 26;

/// The level a view draws with.
pub fn level_for(view: &View) -> u8 {
    let z = view.zoom();
    if !z.is_finite() || z <= 0.0 {
        return 0;
    }
    (z.ceil() as u8).min(MAX_LEVEL)
}

/// World units per pixel at a level.
fn units_per_px(level: u8) -> f64 {
    WORLD_SIZE / (256.0 * (1u64 << level) as f64)
}

/// Simplifies one run of points (no breaks) for `level` into `out`: a point
/// is dropped while the track runs straight on (within [`SIMPLIFY_PX`] of
/// the line from the last kept point) or has not yet moved [`MIN_STEP_PX`]
/// away from it (Reumann-Witkam with a minimum step). Straight roads become
/// long segments, so drawing costs follow what is visible, not the sampling
/// rate. The first and last points are always kept.
pub fn simplify(points: &[WorldPoint], level: u8, out: &mut Vec<WorldPoint>) {
    out.clear();
    let Some((&first, rest)) = points.split_first() else {
        return;
    };
    let unit = units_per_px(level);
    let (tol, step) = (SIMPLIFY_PX * unit, MIN_STEP_PX * unit);
    let at = |p: WorldPoint| [p.x as f64, p.y as f64];
    let mut anchor = first;
    out.push(first);
    // Direction of the current straight run, and how far along it we got.
    let mut dir: Option<[f64; 2]> = None;
    let mut reach = 0.0;
    let mut last = first;
    for &p in rest {
        let (a, q) = (at(anchor), at(p));
        let d = [q[0] - a[0], q[1] - a[1]];
        match dir {
            None => {
                let len = (d[0] * d[0] + d[1] * d[1]).sqrt();
                if len >= step {
                    dir = Some([d[0] / len, d[1] / len]);
                    reach = len;
                }
            }
            Some(u) => {
                let along = d[0] * u[0] + d[1] * u[1];
                let across = (d[0] * u[1] - d[1] * u[0]).abs();
                // Turning off the line, or coming back along it (an
                // out-and-back), ends the run at the previous point.
                if across > tol || along < reach - tol {
                    out.push(last);
                    anchor = last;
                    let a = at(anchor);
                    let d = [q[0] - a[0], q[1] - a[1]];
                    let len = (d[0] * d[0] + d[1] * d[1]).sqrt();
                    dir = (len >= step).then(|| [d[0] / len, d[1] / len]);
                    reach = len;
                } else {
                    reach = reach.max(along);
                }
            }
        }
        last = p;
    }
    if *out.last().expect("first point pushed") != last {
        out.push(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wp(x: u32, y: u32) -> WorldPoint {
        WorldPoint { x, y }
    }

    #[test]
    fn straight_runs_collapse_and_corners_stay() {
        let unit = units_per_px(10) as u32;
        let mut pts: Vec<_> = (0..100)
            .map(|i| wp(1_000_000_000 + i * unit, 2_000_000_000))
            .collect();
        pts.extend((1..100).map(|i| wp(1_000_000_000 + 99 * unit, 2_000_000_000 + i * unit)));
        let mut out = Vec::new();
        simplify(&pts, 10, &mut out);
        assert_eq!(out, vec![pts[0], pts[99], pts[198]]);
    }

    #[test]
    fn out_and_back_keeps_the_turnaround() {
        let unit = units_per_px(12) as u32;
        let mut pts: Vec<_> = (0..50).map(|i| wp(1_000_000_000 + i * unit, 5)).collect();
        pts.extend((0..49).rev().map(|i| wp(1_000_000_000 + i * unit, 5)));
        let mut out = Vec::new();
        simplify(&pts, 12, &mut out);
        assert_eq!(out, vec![pts[0], pts[49], pts[98]]);
    }

    #[test]
    fn levels_follow_zoom() {
        use crate::render::View;
        assert_eq!(level_for(&View::tile(7, 3, 3, 256)), 7);
        assert_eq!(
            level_for(&View::tile(7, 3, 3, 512)),
            8,
            "@2x tiles need the next level"
        );
        let mut wide = View::tile(7, 3, 3, 256);
        wide.scale = [wide.scale[0] * 1.3, wide.scale[1] * 1.3];
        assert_eq!(level_for(&wide), 8);
    }
}
