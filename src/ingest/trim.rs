//! Trimming at import: the first and last stretch of an activity is cut
//! off before anything is stored, so a start or finish outside every privacy
//! mask does not give a home away either.

use crate::geo::haversine_m;
use crate::ingest::types::{ParsedActivity, Point};

/// Removes the first and last `metres` of ground distance from `a`, cutting
/// at exactly that distance with an interpolated point. An activity no longer
/// than `2 × metres` is emptied. Distance is the drawn length: the jump
/// across a segment break is not drawn, so it does not count, which also
/// means a long gap can never use up the trim.
pub(crate) fn trim_activity(a: &mut ParsedActivity, metres: f64) {
    a.segments.retain(|s| !s.is_empty());
    if metres.is_nan() || metres <= 0.0 {
        return;
    }
    if drawn_length_m(&a.segments) <= 2.0 * metres {
        a.segments.clear();
        return;
    }
    // The end is the start of the reversed activity.
    trim_start(&mut a.segments, metres);
    reverse(&mut a.segments);
    trim_start(&mut a.segments, metres);
    reverse(&mut a.segments);
}

fn drawn_length_m(segments: &[Vec<Point>]) -> f64 {
    segments.iter().map(|s| segment_length_m(s)).sum()
}

fn segment_length_m(seg: &[Point]) -> f64 {
    seg.windows(2).map(|w| distance_m(&w[0], &w[1])).sum()
}

fn distance_m(a: &Point, b: &Point) -> f64 {
    haversine_m(a.lat, a.lon, b.lat, b.lon)
}

fn reverse(segments: &mut [Vec<Point>]) {
    segments.reverse();
    for s in segments.iter_mut() {
        s.reverse();
    }
}

/// Removes the first `metres` of drawn distance: whole segments while they
/// are no longer than what is left to cut, then the front of the next one.
fn trim_start(segments: &mut Vec<Vec<Point>>, metres: f64) {
    let mut left = metres;
    let mut dropped = 0;
    for seg in segments.iter_mut() {
        match cut_front(seg, left) {
            None => break,
            Some(rest) => {
                dropped += 1;
                left = rest;
                if left <= 0.0 {
                    break;
                }
            }
        }
    }
    segments.drain(..dropped);
}

/// Cuts `metres` off the front of `seg`; when the whole segment is no longer
/// than that, leaves it alone and returns the distance still to cut.
fn cut_front(seg: &mut Vec<Point>, metres: f64) -> Option<f64> {
    let mut left = metres;
    for i in 1..seg.len() {
        if left <= 0.0 {
            // The cut lands exactly on a recorded point: keep it as it is.
            seg.drain(..i - 1);
            return None;
        }
        let step = distance_m(&seg[i - 1], &seg[i]);
        if step > left {
            let cut = point_between(&seg[i - 1], &seg[i], left / step);
            seg.splice(..i, [cut]);
            return None;
        }
        left -= step;
    }
    Some(left)
}

/// The point a fraction `f` of the way from `a` to `b`. Linear in degrees:
/// over the few metres between GPS fixes that is the great circle to well
/// under a millimetre.
fn point_between(a: &Point, b: &Point, f: f64) -> Point {
    let lerp = |u: f64, v: f64| u + f * (v - u);
    Point {
        lat: lerp(a.lat, b.lat),
        lon: lerp_lon(a.lon, b.lon, f),
        ele: a.ele.zip(b.ele).map(|(u, v)| lerp(u, v)),
        time: a
            .time
            .zip(b.time)
            .map(|(u, v)| u + (f * (v - u) as f64).round() as i64),
    }
}

/// Linear in longitude the short way round, across the antimeridian too.
fn lerp_lon(a: f64, b: f64, f: f64) -> f64 {
    let d = (b - a + 540.0).rem_euclid(360.0) - 180.0;
    let lon = a + f * d;
    if lon > 180.0 {
        lon - 360.0
    } else if lon < -180.0 {
        lon + 360.0
    } else {
        lon
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::EARTH_RADIUS_M;

    fn timed_point(lat: f64, lon: f64, time: i64) -> Point {
        Point {
            lat,
            lon,
            ele: Some(time as f64 / 1000.0),
            time: Some(time),
        }
    }

    /// A run north along a meridian at 52°, a point every ~7 m and 1 s,
    /// in `segments` pieces with 100 m gaps between them.
    fn northward(points: usize, segments: usize) -> ParsedActivity {
        let step = (7.0 / EARTH_RADIUS_M).to_degrees();
        let gap = (100.0 / EARTH_RADIUS_M).to_degrees();
        let per = points / segments;
        let segments = (0..segments)
            .map(|s| {
                (0..per)
                    .map(|i| {
                        let k = s * per + i;
                        timed_point(
                            52.0 + k as f64 * step + s as f64 * gap,
                            13.0,
                            k as i64 * 1000,
                        )
                    })
                    .collect()
            })
            .collect();
        ParsedActivity {
            segments,
            ..Default::default()
        }
    }

    #[test]
    fn trim_removes_exactly_the_distance() {
        for &(metres, segments) in &[(300.0, 1), (300.0, 3), (123.4, 7), (7.0, 2)] {
            let mut a = northward(600, segments);
            let before = drawn_length_m(&a.segments);
            trim_activity(&mut a, metres);
            let after = drawn_length_m(&a.segments);
            assert!(
                (before - 2.0 * metres - after).abs() < 0.5,
                "{before} {after}"
            );
            assert!(a.segments.iter().all(|s| !s.is_empty()));
        }
    }

    #[test]
    fn trim_drops_whole_segments_and_short_activities() {
        // 3 segments of ~700 m: a 1 km trim leaves only part of the middle one.
        let mut a = northward(300, 3);
        trim_activity(&mut a, 1000.0);
        assert_eq!(a.segments.len(), 1);
        let mut short = northward(80, 1);
        trim_activity(&mut short, 300.0);
        assert!(short.segments.is_empty());
        let mut untouched = northward(80, 1);
        trim_activity(&mut untouched, 0.0);
        assert_eq!(untouched, northward(80, 1));
    }

    #[test]
    fn trim_interpolates_time_and_elevation() {
        let a0 = timed_point(52.0, 13.0, 0);
        let b0 = timed_point(52.0 + (100.0 / EARTH_RADIUS_M).to_degrees(), 13.0, 100_000);
        let c0 = Point::new(52.0 + (200.0 / EARTH_RADIUS_M).to_degrees(), 13.0);
        let mut a = ParsedActivity {
            segments: vec![vec![a0, b0, c0]],
            ..Default::default()
        };
        trim_activity(&mut a, 30.0);
        let seg = &a.segments[0];
        assert_eq!(seg.len(), 3);
        assert!(
            (seg[0].time.unwrap() - 30_000).abs() <= 1,
            "{:?}",
            seg[0].time
        );
        assert!((seg[0].ele.unwrap() - 30.0).abs() < 0.01);
        assert!((distance_m(&a0, &seg[0]) - 30.0).abs() < 0.01);
        // c0 has no time, so the point cut before it gets none either.
        assert_eq!((seg[2].time, seg[2].ele), (None, None));
        assert!((distance_m(&seg[2], &c0) - 30.0).abs() < 0.01);
    }

    #[test]
    fn trim_crosses_the_antimeridian_the_short_way() {
        let a0 = Point::new(-16.8, 179.9995);
        let b0 = Point::new(-16.8, -179.9995);
        let mut a = ParsedActivity {
            segments: vec![vec![a0, b0]],
            ..Default::default()
        };
        let before = drawn_length_m(&a.segments);
        trim_activity(&mut a, 10.0);
        assert!((drawn_length_m(&a.segments) - (before - 20.0)).abs() < 0.01);
    }
}
