//! Computed properties of an activity: distance, times, elevation, speeds.
//!
//! GPS data is noisy, so each figure uses a guard that popular tools use too:
//! moving time ignores crawling and long gaps, elevation gain ignores wiggles
//! under a few metres, and the maximum speed is taken over a window of
//! seconds rather than between two jittery points.

use super::types::ParsedActivity;
use crate::geo::haversine_m;

/// Slower than this (m/s) counts as standing still.
const MOVING_SPEED: f64 = 0.5;
/// A gap between points longer than this (ms) is a pause, never moving time.
const MAX_MOVING_GAP_MS: i64 = 5 * 60 * 1000;
/// Elevation changes smaller than this (m) are noise.
const ELEVATION_HYSTERESIS: f64 = 3.0;
/// Window (ms) over which the maximum speed is measured.
const SPEED_WINDOW_MS: i64 = 10_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityStats {
    pub distance_m: f64,
    pub elapsed_s: Option<f64>,
    pub(crate) moving_s: Option<f64>,
    pub elevation_gain_m: Option<f64>,
    pub(crate) elevation_loss_m: Option<f64>,
    pub(crate) elevation_min_m: Option<f64>,
    pub(crate) elevation_max_m: Option<f64>,
    pub avg_speed_kmh: Option<f64>,
    pub max_speed_kmh: Option<f64>,
}

pub fn compute(a: &ParsedActivity) -> ActivityStats {
    let mut s = ActivityStats::default();
    let mut moving_ms = 0i64;
    let mut any_interval = false;
    let mut max_speed: Option<f64> = None;
    for seg in &a.segments {
        // Cumulative distance and time for the windowed max speed.
        let mut cum: Vec<(i64, f64)> = Vec::new();
        let mut d_seg = 0.0;
        for (i, p) in seg.iter().enumerate() {
            if i > 0 {
                let q = &seg[i - 1];
                let d = haversine_m(q.lat, q.lon, p.lat, p.lon);
                d_seg += d;
                if let (Some(t0), Some(t1)) = (q.time, p.time) {
                    let dt = t1 - t0;
                    if dt > 0 && dt <= MAX_MOVING_GAP_MS {
                        any_interval = true;
                        if d / (dt as f64 / 1000.0) >= MOVING_SPEED {
                            moving_ms += dt;
                        }
                    }
                }
            }
            if let Some(t) = p.time {
                cum.push((t, d_seg));
            }
        }
        s.distance_m += d_seg;
        if let Some(v) = windowed_max_speed(&cum) {
            max_speed = Some(max_speed.map_or(v, |m: f64| m.max(v)));
        }
    }
    let times: Vec<i64> = a.points().filter_map(|p| p.time).collect();
    if let (Some(min), Some(max)) = (times.iter().min(), times.iter().max()) {
        s.elapsed_s = Some((max - min) as f64 / 1000.0);
    }
    if any_interval {
        s.moving_s = Some(moving_ms as f64 / 1000.0);
        if moving_ms > 0 {
            s.avg_speed_kmh = Some(s.distance_m / (moving_ms as f64 / 1000.0) * 3.6);
        }
        s.max_speed_kmh = max_speed.map(|v| v * 3.6);
    }
    elevation(a, &mut s);
    s
}

/// The fastest speed (m/s) sustained over at least [`SPEED_WINDOW_MS`],
/// from `(time, cumulative distance)` samples; times may repeat or go
/// backwards in real files, such samples are skipped.
fn windowed_max_speed(cum: &[(i64, f64)]) -> Option<f64> {
    let mut best: Option<f64> = None;
    let mut start = 0;
    for end in 0..cum.len() {
        while start < end && cum[end].0 - cum[start + 1].0 >= SPEED_WINDOW_MS {
            start += 1;
        }
        let dt = cum[end].0 - cum[start].0;
        if dt >= SPEED_WINDOW_MS {
            let v = (cum[end].1 - cum[start].1) / (dt as f64 / 1000.0);
            best = Some(best.map_or(v, |b: f64| b.max(v)));
        }
    }
    best
}

fn elevation(a: &ParsedActivity, s: &mut ActivityStats) {
    let mut gain = 0.0;
    let mut loss = 0.0;
    let mut any = false;
    for seg in &a.segments {
        let mut reference: Option<f64> = None;
        for e in seg.iter().filter_map(|p| p.ele) {
            any = true;
            s.elevation_min_m = Some(s.elevation_min_m.map_or(e, |m: f64| m.min(e)));
            s.elevation_max_m = Some(s.elevation_max_m.map_or(e, |m: f64| m.max(e)));
            let Some(r) = reference else {
                reference = Some(e);
                continue;
            };
            if e - r >= ELEVATION_HYSTERESIS {
                gain += e - r;
                reference = Some(e);
            } else if r - e >= ELEVATION_HYSTERESIS {
                loss += r - e;
                reference = Some(e);
            }
        }
    }
    if any {
        s.elevation_gain_m = Some(gain);
        s.elevation_loss_m = Some(loss);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::types::Point;

    fn pt(lat: f64, lon: f64, ele: f64, t_s: i64) -> Point {
        Point {
            lat,
            lon,
            ele: Some(ele),
            time: Some(t_s * 1000),
        }
    }

    #[test]
    fn a_steady_ride_with_a_stop() {
        // 0.001 deg of latitude is 111.2 m; one point every 10 s = 40 km/h,
        // then 60 s standing still, then on again.
        let mut seg = Vec::new();
        for i in 0..=10 {
            seg.push(pt(
                50.0 + i as f64 * 0.001,
                8.0,
                100.0 + i as f64 * 5.0,
                i * 10,
            ));
        }
        seg.push(pt(50.010, 8.0, 150.0, 160));
        for i in 1..=5 {
            seg.push(pt(
                50.010 - i as f64 * 0.001,
                8.0,
                150.0 - i as f64 * 4.0,
                160 + i * 10,
            ));
        }
        let a = ParsedActivity {
            segments: vec![seg],
            ..Default::default()
        };
        let s = compute(&a);
        assert!(
            (s.distance_m - 15.0 * 111.19).abs() < 5.0,
            "{}",
            s.distance_m
        );
        assert_eq!(s.elapsed_s, Some(210.0));
        assert_eq!(s.moving_s, Some(150.0));
        assert_eq!(s.elevation_gain_m, Some(50.0));
        assert_eq!(s.elevation_loss_m, Some(20.0));
        assert_eq!(
            (s.elevation_min_m, s.elevation_max_m),
            (Some(100.0), Some(150.0))
        );
        let avg = s.avg_speed_kmh.unwrap();
        assert!((avg - 15.0 * 111.19 / 150.0 * 3.6).abs() < 0.2, "{avg}");
        let max = s.max_speed_kmh.unwrap();
        assert!((max - 40.0).abs() < 0.2, "{max}");
    }

    #[test]
    fn noise_below_hysteresis_is_not_climbing() {
        let seg: Vec<Point> = (0..100)
            .map(|i| pt(50.0 + i as f64 * 1e-4, 8.0, 100.0 + (i % 2) as f64 * 2.0, i))
            .collect();
        let s = compute(&ParsedActivity {
            segments: vec![seg],
            ..Default::default()
        });
        assert_eq!(s.elevation_gain_m, Some(0.0));
    }

    #[test]
    fn no_times_means_no_time_stats() {
        let seg = vec![Point::new(50.0, 8.0), Point::new(50.01, 8.0)];
        let s = compute(&ParsedActivity {
            segments: vec![seg],
            ..Default::default()
        });
        assert!(s.distance_m > 1000.0);
        assert_eq!(
            (s.elapsed_s, s.moving_s, s.max_speed_kmh),
            (None, None, None)
        );
        assert_eq!(s.elevation_gain_m, None);
    }
}
