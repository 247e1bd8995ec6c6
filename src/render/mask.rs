//! Privacy masks applied to what is drawn: every part of a track inside a
//! [`Mask`], a circle on the ground, is removed, cut exactly at the circle's
//! edge. The scene applies this to every track it loads, so no output
//! (poster, tile, export) can draw into a mask.
//!
//! Masks are ground circles but tracks are straight lines in Web Mercator
//! world units, so each mask becomes a Mercator circle. Mercator is
//! conformal, so a small ground circle is (to third order in its radius) a
//! Mercator circle too, but not one centred on the mask: the scale grows
//! towards the pole, making the poleward half larger. `Circle::of` fits the
//! circle through the exact north and south extremes of the ground circle,
//! which pins both its centre and its radius. What is left errs only towards
//! removing more (east and west): 0.1 mm for a 500 m mask at 85°, 7 cm for
//! 5 km at 85°, 4 mm for 5 km at 70°.

use std::borrow::Cow;
use std::f64::consts::PI;

#[cfg(test)]
use crate::geo::haversine_m;
use crate::geo::{EARTH_RADIUS_M, WORLD_SIZE, WorldPoint};
use crate::store::track::Track;
pub use hotpot_model::mask::Mask;

/// `track` without any part inside any of `masks`. Segments are cut at the
/// circle's edge (a new point there), a segment passing through a circle
/// becomes two, and a segment entirely inside is gone. A point exactly on
/// the edge is outside.
pub fn clip_track(track: &Track, masks: &[Mask]) -> Track {
    clip_track_cow(track, masks).into_owned()
}

/// [`clip_track`] without the copy when no mask comes near the track (the
/// common case): only tracks whose box meets a mask's box are rebuilt.
pub fn clip_track_cow<'a>(track: &'a Track, masks: &[Mask]) -> Cow<'a, Track> {
    let Some(bbox) = points_bbox(&track.points) else {
        return Cow::Borrowed(track);
    };
    let mut out = Cow::Borrowed(track);
    // One circle at a time: each cut only ever removes, so cutting by the
    // circles in turn leaves exactly what lies outside all of them.
    for circle in circles(masks).filter(|c| c.meets_box(bbox)) {
        out = Cow::Owned(clip_by_circle(&out, &circle));
    }
    out
}

/// The box of `m` in world units: min_x, min_y, max_x, max_y. A track whose
/// box misses it is untouched by the mask. A mask reaching over the
/// antimeridian also cuts tracks at the world's other edge, which this box
/// (clamped to the world) does not show; [`clip_track`] handles that.
pub fn mask_bbox(m: &Mask) -> [u32; 4] {
    Circle::of(m)
        .bbox
        .map(|v| v.clamp(0, u32::MAX as i64) as u32)
}

/// A mask as a circle in world units, in f64: centres fall between units
/// and circles may poke past the world's edge.
#[derive(Debug, Clone, Copy)]
struct Circle {
    cx: f64,
    cy: f64,
    r: f64,
    /// Integer box around the circle, for cheap rejection of far points.
    bbox: [i64; 4],
}

/// Latitude (radians) a mask's extent is cut at: Mercator y is infinite at
/// the pole, and no track point lies beyond 85.05° anyway.
const POLE_GUARD: f64 = 89.999 * PI / 180.0;

impl Circle {
    fn of(m: &Mask) -> Circle {
        // Ground metres as arc on the sphere `haversine_m` measures with, so
        // the cut and every ground-distance check agree.
        let arc = m.radius_m.max(0.0) / EARTH_RADIUS_M;
        let lat = m.lat.to_radians();
        let north = world_y((lat + arc).min(POLE_GUARD));
        let south = world_y((lat - arc).max(-POLE_GUARD));
        let cx = (m.lon + 180.0) / 360.0 * WORLD_SIZE;
        Circle::new(cx, (north + south) / 2.0, (south - north) / 2.0)
    }

    fn new(cx: f64, cy: f64, r: f64) -> Circle {
        let bbox = [
            (cx - r).floor() as i64,
            (cy - r).floor() as i64,
            (cx + r).ceil() as i64,
            (cy + r).ceil() as i64,
        ];
        Circle { cx, cy, r, bbox }
    }

    fn shifted_x(&self, dx: f64) -> Circle {
        Circle::new(self.cx + dx, self.cy, self.r)
    }

    fn meets_box(&self, b: [i64; 4]) -> bool {
        b[2] >= self.bbox[0] && b[0] <= self.bbox[2] && b[3] >= self.bbox[1] && b[1] <= self.bbox[3]
    }

    fn dist2(&self, x: f64, y: f64) -> f64 {
        let (dx, dy) = (x - self.cx, y - self.cy);
        dx * dx + dy * dy
    }

    /// Strictly inside: a point on the edge is kept.
    fn contains(&self, p: WorldPoint) -> bool {
        self.meets_box(edge_bbox(p, p)) && self.dist2(p.x as f64, p.y as f64) < self.r * self.r
    }

    /// Where the line through a→b is strictly inside the circle, as
    /// parameters `t_in < t_out` of `a + t (b − a)` (not limited to 0..1);
    /// `None` if the line misses or only touches it.
    fn chord(&self, a: WorldPoint, b: WorldPoint) -> Option<(f64, f64)> {
        let (fx, fy) = (a.x as f64 - self.cx, a.y as f64 - self.cy);
        let (dx, dy) = (b.x as f64 - a.x as f64, b.y as f64 - a.y as f64);
        let dd = dx * dx + dy * dy;
        if dd == 0.0 {
            return None;
        }
        // Via the closest approach rather than the textbook quadratic, whose
        // b² − 4ac cancels badly exactly where it matters: near-tangent lines.
        let t0 = -(fx * dx + fy * dy) / dd;
        let (hx, hy) = (fx + t0 * dx, fy + t0 * dy);
        let depth2 = self.r * self.r - (hx * hx + hy * hy);
        if depth2 <= 0.0 {
            return None;
        }
        let half = (depth2 / dd).sqrt();
        Some((t0 - half, t0 + half))
    }

    /// The world point at `t` along a→b, rounded, then stepped away from the
    /// centre until it is not strictly inside: rounding must never put a
    /// drawn point inside the mask.
    fn edge_point(&self, a: WorldPoint, b: WorldPoint, t: f64) -> WorldPoint {
        let t = t.clamp(0.0, 1.0);
        let lerp = |u: u32, v: u32| (u as f64 + t * (v as f64 - u as f64)).round();
        let (mut x, mut y) = (lerp(a.x, b.x), lerp(a.y, b.y));
        // Each step grows both |dx| and |dy| (signum is never 0), so this
        // ends, almost always after at most one step.
        while self.dist2(x, y) < self.r * self.r {
            x += (x - self.cx).signum();
            y += (y - self.cy).signum();
        }
        WorldPoint {
            x: x as u32,
            y: y as u32,
        }
    }
}

/// Mercator y in world units. Unlike `geo`'s projection it is not clamped to
/// the world square: a mask near 85° may reach past it.
fn world_y(lat_rad: f64) -> f64 {
    (1.0 - lat_rad.tan().asinh() / PI) / 2.0 * WORLD_SIZE
}

/// The circles to cut with: one per mask, plus a copy one world width over
/// for a mask poking past the antimeridian, whose other side is at the
/// opposite edge of the world.
fn circles(masks: &[Mask]) -> impl Iterator<Item = Circle> + '_ {
    masks.iter().flat_map(|m| {
        let c = Circle::of(m);
        let west = (c.cx - c.r < 0.0).then(|| c.shifted_x(WORLD_SIZE));
        let east = (c.cx + c.r > WORLD_SIZE).then(|| c.shifted_x(-WORLD_SIZE));
        [Some(c), west, east].into_iter().flatten()
    })
}

fn points_bbox(points: &[WorldPoint]) -> Option<[i64; 4]> {
    let first = *points.first()?;
    Some(points.iter().fold(edge_bbox(first, first), |b, &p| {
        [
            b[0].min(p.x as i64),
            b[1].min(p.y as i64),
            b[2].max(p.x as i64),
            b[3].max(p.y as i64),
        ]
    }))
}

fn edge_bbox(a: WorldPoint, b: WorldPoint) -> [i64; 4] {
    [
        a.x.min(b.x) as i64,
        a.y.min(b.y) as i64,
        a.x.max(b.x) as i64,
        a.y.max(b.y) as i64,
    ]
}

fn clip_by_circle(track: &Track, circle: &Circle) -> Track {
    let mut out = Pieces::with_capacity(track.points.len());
    for seg in track.segments() {
        clip_segment(seg, circle, &mut out);
    }
    out.track
}

/// Appends the parts of `seg` outside `c` to `out`, piece by piece.
fn clip_segment(seg: &[WorldPoint], c: &Circle, out: &mut Pieces) {
    if let [p] = seg {
        if !c.contains(*p) {
            out.start(*p);
            out.finish(1);
        }
        return;
    }
    // Whether the current point is inside is decided once per point (by
    // `contains`), never re-derived from an edge's chord, so rounding can
    // not make two edges disagree about a shared point.
    let mut inside = c.contains(seg[0]);
    if !inside {
        out.start(seg[0]);
    }
    for w in seg.windows(2) {
        let (a, b) = (w[0], w[1]);
        if !c.meets_box(edge_bbox(a, b)) {
            // The common case: far from the circle, so both ends are outside.
            out.push(b);
            continue;
        }
        let b_inside = c.contains(b);
        match (inside, b_inside) {
            (false, false) => {
                // Both ends outside, but the edge may still cut across.
                if let Some((t_in, t_out)) = c.chord(a, b).filter(|&(i, o)| i > 0.0 && o < 1.0) {
                    out.push_new(c.edge_point(a, b, t_in));
                    out.finish(2);
                    out.start(c.edge_point(a, b, t_out));
                    out.push_new(b);
                } else {
                    out.push(b);
                }
            }
            (false, true) => {
                let t_in = c.chord(a, b).map_or(1.0, |(i, _)| i);
                out.push_new(c.edge_point(a, b, t_in));
                out.finish(2);
            }
            (true, false) => {
                let t_out = c.chord(a, b).map_or(0.0, |(_, o)| o);
                out.start(c.edge_point(a, b, t_out));
                out.push_new(b);
            }
            // A circle is convex: an edge between two inside points is inside.
            (true, true) => {}
        }
        inside = b_inside;
    }
    if !inside {
        out.finish(2);
    }
}

/// A track being built from the pieces a clip keeps.
struct Pieces {
    track: Track,
    /// Where the open piece starts in `track.points`.
    open: usize,
}

impl Pieces {
    fn with_capacity(n: usize) -> Pieces {
        let track = Track {
            points: Vec::with_capacity(n),
            segment_starts: Vec::new(),
        };
        Pieces { track, open: 0 }
    }

    fn start(&mut self, p: WorldPoint) {
        self.open = self.track.points.len();
        self.track.points.push(p);
    }

    fn push(&mut self, p: WorldPoint) {
        self.track.points.push(p);
    }

    /// Pushes `p` next to a cut point unless rounding made the two one (a
    /// recorded point lying on the circle's edge).
    fn push_new(&mut self, p: WorldPoint) {
        if self.track.points.last() != Some(&p) {
            self.push(p);
        }
    }

    /// Closes the open piece, dropping it when it has fewer than `min_len`
    /// points: a cut that leaves a single point on the edge draws nothing.
    fn finish(&mut self, min_len: usize) {
        if self.track.points.len() - self.open >= min_len {
            self.track.segment_starts.push(self.open as u32);
        } else {
            self.track.points.truncate(self.open);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::unit_to_lonlat;

    /// SplitMix64: deterministic, and no dependency for the tests.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
    }

    fn mask(lat: f64, lon: f64, radius_m: f64) -> Mask {
        Mask {
            name: "home".into(),
            lat,
            lon,
            radius_m,
        }
    }

    fn ground_m(m: &Mask, x: f64, y: f64) -> f64 {
        let (lon, lat) = unit_to_lonlat(x / WORLD_SIZE, y / WORLD_SIZE);
        haversine_m(m.lat, m.lon, lat, lon)
    }

    /// World units per ground metre near `lat`, as in the brief: r / cos φ.
    fn units_per_m(lat: f64) -> f64 {
        WORLD_SIZE / (2.0 * PI * EARTH_RADIUS_M) / lat.to_radians().cos()
    }

    fn centre(m: &Mask) -> (f64, f64) {
        let (x, y) = crate::geo::lonlat_to_unit(m.lon, m.lat);
        (x * WORLD_SIZE, y * WORLD_SIZE)
    }

    fn wp(x: f64, y: f64) -> WorldPoint {
        WorldPoint {
            x: x.round() as u32,
            y: y.round() as u32,
        }
    }

    /// A wiggly polyline along a random line through (or near) the circle:
    /// any direction, any offset from the centre, and ends that may lie
    /// inside the circle.
    fn random_segment(rng: &mut Rng, m: &Mask) -> Vec<WorldPoint> {
        let (cx, cy) = centre(m);
        let r = m.radius_m * units_per_m(m.lat);
        let angle = rng.uniform(0.0, 2.0 * PI);
        let (ux, uy) = (angle.cos(), angle.sin());
        let offset = rng.uniform(-1.2, 1.2) * r;
        let n = 2 + rng.below(30);
        let mut ts: Vec<f64> = (0..n).map(|_| rng.uniform(-2.5, 2.5) * r).collect();
        ts.sort_by(f64::total_cmp);
        let wiggle = if rng.below(2) == 0 { 0.0 } else { 0.05 * r };
        ts.iter()
            .map(|&t| {
                let side = offset + rng.uniform(-wiggle, wiggle);
                wp(cx + t * ux - side * uy, cy + t * uy + side * ux)
            })
            .collect()
    }

    /// Points every `step` world units along the edges of `seg`.
    fn samples(seg: &[WorldPoint], step: f64) -> Vec<(f64, f64)> {
        let mut out = vec![(seg[0].x as f64, seg[0].y as f64)];
        for w in seg.windows(2) {
            let (ax, ay, bx, by) = (w[0].x as f64, w[0].y as f64, w[1].x as f64, w[1].y as f64);
            let n = ((bx - ax).hypot(by - ay) / step).ceil().max(1.0) as usize;
            out.extend((1..=n).map(|i| {
                let t = i as f64 / n as f64;
                (ax + t * (bx - ax), ay + t * (by - ay))
            }));
        }
        out
    }

    fn dist_to_edge(p: (f64, f64), a: WorldPoint, b: WorldPoint) -> f64 {
        let (ax, ay, bx, by) = (a.x as f64, a.y as f64, b.x as f64, b.y as f64);
        let (dx, dy) = (bx - ax, by - ay);
        let dd = dx * dx + dy * dy;
        let t = if dd == 0.0 {
            0.0
        } else {
            (((p.0 - ax) * dx + (p.1 - ay) * dy) / dd).clamp(0.0, 1.0)
        };
        (p.0 - ax - t * dx).hypot(p.1 - ay - t * dy)
    }

    /// Every edge of `t` (whose segments all have two points or more).
    fn edges(t: &Track) -> Vec<(WorldPoint, WorldPoint)> {
        t.segments()
            .flat_map(|s| s.windows(2).map(|w| (w[0], w[1])))
            .collect()
    }

    fn dist_to_edges(p: (f64, f64), edges: &[(WorldPoint, WorldPoint)]) -> f64 {
        edges
            .iter()
            .map(|&(a, b)| dist_to_edge(p, a, b))
            .fold(f64::INFINITY, f64::min)
    }

    /// Clips many random segments at each latitude and checks that nothing
    /// kept is inside (a), that everything outside is kept (b), and that
    /// clipping them as one track matches clipping them one by one.
    fn check_random_segments(lat: f64, lon: f64, radius_m: f64, seed: u64) {
        let m = mask(lat, lon, radius_m);
        let masks = [m.clone()];
        let circle = Circle::of(&m);
        let mut rng = Rng(seed);
        let per_m = units_per_m(lat);
        let step = radius_m / 250.0 * per_m;
        let mut originals = Vec::new();
        let mut clipped_each = Vec::new();
        for _ in 0..80 {
            let seg = random_segment(&mut rng, &m);
            let kept = clip_track(&Track::from_segments(std::slice::from_ref(&seg)), &masks);
            for s in kept.segments() {
                assert!(s.len() >= 2, "a cut left a lone point at {lat}°");
                // Exactly, not within a tolerance: rounding must not creep in.
                assert!(
                    s.iter().all(|&p| !circle.contains(p)),
                    "rounded inside at {lat}°"
                );
                for (x, y) in samples(s, step) {
                    let d = ground_m(&m, x, y);
                    assert!(d >= radius_m - 0.05, "kept {d:.3} m from centre at {lat}°");
                }
            }
            let kept_edges = edges(&kept);
            for p in samples(&seg, step) {
                if ground_m(&m, p.0, p.1) >= radius_m + 0.5 {
                    let off = dist_to_edges(p, &kept_edges) / per_m;
                    assert!(
                        off <= 0.05,
                        "lost a point outside, {off:.3} m off, at {lat}°"
                    );
                }
            }
            clipped_each.extend(kept.segments().map(<[_]>::to_vec));
            originals.push(seg);
        }
        let together = clip_track(&Track::from_segments(&originals), &masks);
        assert_eq!(together, Track::from_segments(&clipped_each));
    }

    #[test]
    fn random_crossings_at_every_latitude() {
        for (i, &lat) in [0.0, 52.0, 70.0, 85.0, -85.0, -33.9].iter().enumerate() {
            for (j, &radius) in [500.0, 40.0, 3000.0].iter().enumerate() {
                check_random_segments(lat, 13.4, radius, (i * 10 + j) as u64);
            }
        }
    }

    #[test]
    fn fitted_circle_holds_the_ground_circle() {
        // Walk out from the fitted centre in many directions to where the
        // ground distance reaches the radius: never past the fitted circle,
        // and hardly short of it.
        for &lat in &[0.0, 52.0, 70.0, 85.0, -85.0] {
            for &radius in &[40.0, 500.0, 5000.0] {
                let m = mask(lat, 2.0, radius);
                let c = Circle::of(&m);
                for k in 0..360 {
                    let a = (k as f64).to_radians();
                    let (mut lo, mut hi) = (0.5 * c.r, 1.5 * c.r);
                    for _ in 0..60 {
                        let mid = (lo + hi) / 2.0;
                        if ground_m(&m, c.cx + mid * a.cos(), c.cy + mid * a.sin()) < radius {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    let beyond_m = (lo - c.r) / units_per_m(lat);
                    let at = format!("at {lat}°, r {radius}, {k}°");
                    assert!(beyond_m < 0.001, "ground circle {beyond_m} m outside {at}");
                    assert!(
                        beyond_m > -0.1,
                        "fitted circle {} m too big {at}",
                        -beyond_m
                    );
                }
            }
        }
    }

    /// The longitude `metres` due east of `m` along its parallel.
    fn lon_east_of(m: &Mask, metres: f64) -> f64 {
        let half = (metres / (2.0 * EARTH_RADIUS_M)).sin() / m.lat.to_radians().cos();
        m.lon + (2.0 * half.asin()).to_degrees()
    }

    fn lat_north_of(m: &Mask, metres: f64) -> f64 {
        m.lat + (metres / EARTH_RADIUS_M).to_degrees()
    }

    #[test]
    fn radius_is_ground_metres() {
        let m = mask(70.0, 20.0, 500.0);
        let north = WorldPoint::from_lonlat(m.lon, lat_north_of(&m, 480.0));
        let east = WorldPoint::from_lonlat(lon_east_of(&m, 520.0), m.lat);
        let (lon, lat) = east.to_lonlat();
        assert!((haversine_m(m.lat, m.lon, lat, lon) - 520.0).abs() < 0.05);
        let kept = clip_track(&Track::from_segments(&[vec![north], vec![east]]), &[m]);
        assert_eq!(kept.points, vec![east]);
    }

    /// A straight track through the mask at `lat`: `offset_r` from the
    /// centre, in radii, running east from 2 radii west of it.
    fn straight_track(m: &Mask, offset_r: f64, points: usize) -> Track {
        let (cx, cy) = centre(m);
        let r = m.radius_m * units_per_m(m.lat);
        let seg = (0..points)
            .map(|i| {
                wp(
                    cx + (4.0 * i as f64 / (points - 1) as f64 - 2.0) * r,
                    cy + offset_r * r,
                )
            })
            .collect::<Vec<_>>();
        Track::from_segments(&[seg])
    }

    #[test]
    fn segment_counts() {
        let m = mask(52.5, 13.4, 500.0);
        let masks = [m.clone()];
        // Through the middle, densely sampled: split in two.
        assert_eq!(
            clip_track(&straight_track(&m, 0.0, 101), &masks)
                .segment_starts
                .len(),
            2
        );
        // One long edge straight across: two pieces, each from an end to the edge.
        let chord = clip_track(&straight_track(&m, 0.5, 2), &masks);
        assert_eq!(chord.segment_starts, vec![0, 2]);
        assert_eq!(chord.points.len(), 4);
        // Passing by outside: untouched, and not even copied.
        let by = straight_track(&m, 1.1, 50);
        assert_eq!(clip_track(&by, &masks), by);
        let far = straight_track(&mask(48.0, 2.0, 500.0), 0.0, 50);
        assert!(matches!(clip_track_cow(&far, &masks), Cow::Borrowed(_)));
        // Entirely inside: gone.
        let inside = Track::from_segments(&[straight_track(&m, 0.0, 101).points[30..70].to_vec()]);
        assert_eq!(clip_track(&inside, &masks), Track::default());
        // Two masks, one after the other along the track: three pieces.
        let second = mask(m.lat, m.lon + 0.012, 300.0);
        let long = straight_track(&mask(m.lat, m.lon + 0.006, 900.0), 0.0, 500);
        assert_eq!(clip_track(&long, &[m, second]).segment_starts.len(), 3);
    }

    #[test]
    fn an_owned_track_is_replaced_only_when_cut() {
        let m = mask(52.5, 13.4, 500.0);
        let mut t = straight_track(&m, 0.0, 101);
        if let Cow::Owned(clipped) = clip_track_cow(&t, std::slice::from_ref(&m)) {
            t = clipped;
        }
        assert_eq!(t.segment_starts.len(), 2);
    }

    #[test]
    fn masks_reach_across_the_antimeridian() {
        let m = mask(-16.8, 179.999, 500.0);
        let west = WorldPoint::from_lonlat(-179.999, -16.8);
        let far_west = WorldPoint::from_lonlat(-179.99, -16.8);
        let kept = clip_track(&Track::from_segments(&[vec![west], vec![far_west]]), &[m]);
        assert_eq!(kept.points, vec![far_west]);
    }

    #[test]
    fn mask_bbox_holds_the_circle() {
        let m = mask(70.0, 20.0, 500.0);
        let [x0, y0, x1, y1] = mask_bbox(&m);
        let inner = 499.9;
        let north = WorldPoint::from_lonlat(m.lon, lat_north_of(&m, inner));
        let south = WorldPoint::from_lonlat(m.lon, lat_north_of(&m, -inner));
        let east = WorldPoint::from_lonlat(lon_east_of(&m, inner), m.lat);
        let west = WorldPoint::from_lonlat(lon_east_of(&m, -inner), m.lat);
        assert!(x0 < west.x && east.x < x1 && y0 < north.y && south.y < y1);
        let width = (x1 - x0) as f64 / units_per_m(m.lat);
        assert!((width - 1000.0).abs() < 1.0, "{width} m wide");
    }
}
