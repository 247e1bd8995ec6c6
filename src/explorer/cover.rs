//! The tiles a track passes through: a supercover line walk.
//!
//! Points are in world units (`u32`, 2^32 per world width), so the tile at
//! zoom `z` is the point's coordinates shifted right by `32 - z`, and the walk
//! from one point to the next decides every step exactly, in integers: it
//! moves into the x or y neighbour, whichever boundary the segment reaches
//! first (compared by cross-multiplying in i128). Floating point would put
//! a segment that grazes a tile corner on either side depending on rounding;
//! here a segment through a corner exactly visits both side tiles too
//! (that is what "supercover" means), so the answer never depends on
//! direction or rounding.

use super::TileXY;
use crate::geo::WorldPoint;
use crate::store::track::Track;
use std::collections::BTreeSet;

/// Every tile at `zoom` (1..=31) that some segment of `track` passes
/// through, sorted.
pub fn track_tiles(track: &Track, zoom: u8) -> BTreeSet<TileXY> {
    let mut out = BTreeSet::new();
    for seg in track.segments() {
        let Some(&first) = seg.first() else { continue };
        let mut last = tile_of(first, zoom);
        out.insert(last);
        for w in seg.windows(2) {
            // `last` is the tile of w[0]. Most steps end in it too (a fix
            // every few metres, tiles of 150-2,400 m), and a segment with
            // both ends in one tile stays in it: the walk would only insert
            // that tile again. Skipping those steps took this function
            // from 69 to 20-26 perf samples (2,000/s) on the 360-file demo
            // import.
            let end = tile_of(w[1], zoom);
            if end == last {
                continue;
            }
            segment_tiles(w[0], w[1], zoom, &mut out);
            last = end;
        }
    }
    out
}

pub(crate) fn tile_of(p: WorldPoint, zoom: u8) -> TileXY {
    let shift = 32 - zoom as u32;
    (p.x >> shift, p.y >> shift)
}

/// Adds the tiles of the segment `a`→`b` to `out`.
pub(crate) fn segment_tiles(a: WorldPoint, b: WorldPoint, zoom: u8, out: &mut BTreeSet<TileXY>) {
    let shift = 32 - zoom as u32;
    let (mut tx, mut ty) = tile_of(a, zoom);
    let (ex, ey) = tile_of(b, zoom);
    out.insert((tx, ty));
    let (ax, ay) = (a.x as i128, a.y as i128);
    let (dx, dy) = (b.x as i128 - ax, b.y as i128 - ay);
    let (sx, sy) = (dx.signum() as i64, dy.signum() as i64);
    // One step per tile boundary crossed; the bound guards against any
    // arithmetic slip turning into an endless loop.
    let mut steps = (ex as i64 - tx as i64).abs() + (ey as i64 - ty as i64).abs();
    while (tx, ty) != (ex, ey) && steps > 0 {
        steps -= 1;
        // Distance (along each axis) to the boundary the segment crosses
        // next, scaled so that the two compare as parameters along the
        // segment: t_x = nx / |dx| against t_y = ny / |dy|.
        let boundary = |t: u32, s: i64| -> i128 {
            let edge = if s > 0 { t as i128 + 1 } else { t as i128 };
            edge << shift
        };
        let (cmp_x, cmp_y) = match (sx, sy) {
            (0, _) => (i128::MAX, 0),
            (_, 0) => (0, i128::MAX),
            _ => {
                let nx = (boundary(tx, sx) - ax).abs();
                let ny = (boundary(ty, sy) - ay).abs();
                (nx * dy.abs(), ny * dx.abs())
            }
        };
        let step = |t: u32, s: i64| (t as i64 + s) as u32;
        if cmp_x < cmp_y {
            tx = step(tx, sx);
        } else if cmp_y < cmp_x {
            ty = step(ty, sy);
        } else {
            // Through a corner: both side tiles count, then the diagonal.
            out.insert((step(tx, sx), ty));
            out.insert((tx, step(ty, sy)));
            tx = step(tx, sx);
            ty = step(ty, sy);
            steps -= 1;
        }
        out.insert((tx, ty));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T14: u32 = 1 << 18;

    fn p(x: u32, y: u32) -> WorldPoint {
        WorldPoint { x, y }
    }

    #[test]
    fn a_long_segment_visits_every_tile_between_its_points() {
        let mut out = BTreeSet::new();
        segment_tiles(
            p(10 * T14 + 5, 7 * T14 + 9),
            p(15 * T14 + 1, 7 * T14 + 100),
            14,
            &mut out,
        );
        let want: BTreeSet<_> = (10..=15).map(|x| (x, 7)).collect();
        assert_eq!(out, want);
    }

    #[test]
    fn diagonals_are_walked_both_ways_alike() {
        let a = p(3 * T14 + 1000, 4 * T14 + 200_000);
        let b = p(9 * T14 + 77, T14 + 3);
        let (mut ab, mut ba) = (BTreeSet::new(), BTreeSet::new());
        segment_tiles(a, b, 14, &mut ab);
        segment_tiles(b, a, 14, &mut ba);
        assert_eq!(ab, ba);
        // A 4-connected path from start to end: one tile per boundary.
        assert_eq!(ab.len(), 1 + 6 + 3);
    }

    #[test]
    fn track_tiles_is_the_union_of_every_segment_walk() {
        // Steps of a few world units (inside one tile), steps across tile
        // edges and corners, a long diagonal, and a second segment far away.
        let mut a = vec![p(T14 - 40, 3 * T14 - 40)];
        for i in 1..200u32 {
            let prev = *a.last().unwrap();
            a.push(p(prev.x + 7 + i % 5, prev.y + 3 * (i % 3)));
        }
        a.push(p(6 * T14 + 17, 5 * T14));
        a.push(p(6 * T14 + 17, 5 * T14 + 1));
        let b = vec![p(40 * T14, 40 * T14), p(39 * T14 + 5, 41 * T14 + 5)];
        let track = Track::from_segments(&[a.clone(), b.clone()]);
        for zoom in [14, 17] {
            let mut want = BTreeSet::new();
            for seg in [&a, &b] {
                want.insert(tile_of(seg[0], zoom));
                for w in seg.windows(2) {
                    segment_tiles(w[0], w[1], zoom, &mut want);
                }
            }
            assert_eq!(track_tiles(&track, zoom), want, "zoom {zoom}");
        }
    }

    #[test]
    fn a_corner_counts_both_sides() {
        let mut out = BTreeSet::new();
        segment_tiles(
            p(T14 / 2, T14 / 2),
            p(T14 + T14 / 2, T14 + T14 / 2),
            14,
            &mut out,
        );
        assert_eq!(out, BTreeSet::from([(0, 0), (1, 0), (0, 1), (1, 1)]));
    }
}
