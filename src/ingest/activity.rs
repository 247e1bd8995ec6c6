//! From a parsed activity to a row for the store: projection to world
//! coordinates, track encoding, the dedup hash and the computed properties.

use super::stats::{self, ActivityStats};
use super::types::{ParsedActivity, Point};
use crate::geo::WorldPoint;
use crate::store::NewActivity;
use crate::store::track::Track;
use serde_json::{Map, Value, json};

/// Builds the row for one parsed activity read from `source`.
pub fn prepare(parsed: &ParsedActivity, source: &str) -> NewActivity {
    let segments: Vec<Vec<WorldPoint>> = parsed
        .segments
        .iter()
        .flat_map(|s| split_at_antimeridian(s))
        .collect();
    let track = Track::from_segments(&segments);
    let blob = track.encode();
    let start_time = parsed
        .start_time
        .or_else(|| parsed.points().find_map(|p| p.time));
    // The hash covers the track itself (geometry and start time), never the
    // file name, so copies are recognised but two planned routes over the
    // same roads recorded on different days are not.
    let mut keyed = Vec::with_capacity(blob.len() + 8);
    keyed.extend_from_slice(&blob);
    keyed.extend_from_slice(&start_time.unwrap_or(i64::MIN).to_le_bytes());
    let hash = xxhash_rust::xxh3::xxh3_128(&keyed).to_le_bytes();
    let stats = stats::compute(parsed);
    let sport = parsed.sport.as_deref().map(normalize_sport);
    let properties = properties(parsed, &stats, start_time, sport.as_deref(), segments.len());
    NewActivity {
        hash,
        source: source.to_string(),
        kind: parsed.kind.as_str(),
        start_time,
        sport,
        title: parsed.title.clone(),
        distance_m: stats.distance_m,
        num_points: track.points.len() as u32,
        first: track.points.first().copied().unwrap_or_default(),
        last: track.points.last().copied().unwrap_or_default(),
        bbox: bbox(&track.points),
        properties,
        track_blob: blob,
        explorer_tiles: crate::store::explorer::tiles(&track),
    }
}

/// Projects a segment, breaking it where it crosses the antimeridian: in Web
/// Mercator the two sides are a world apart, and a line joining them would
/// cross every map. (A sailor's or pilot's crossing loses one short segment.)
fn split_at_antimeridian(seg: &[Point]) -> Vec<Vec<WorldPoint>> {
    let mut out = vec![Vec::with_capacity(seg.len())];
    for (i, p) in seg.iter().enumerate() {
        if i > 0 && (p.lon - seg[i - 1].lon).abs() > 180.0 {
            out.push(Vec::new());
        }
        out.last_mut()
            .expect("never empty")
            .push(WorldPoint::from_lonlat(p.lon, p.lat));
    }
    out
}

fn bbox(points: &[WorldPoint]) -> [u32; 4] {
    points.iter().fold([u32::MAX, u32::MAX, 0, 0], |b, p| {
        [b[0].min(p.x), b[1].min(p.y), b[2].max(p.x), b[3].max(p.y)]
    })
}

fn properties(
    a: &ParsedActivity,
    s: &ActivityStats,
    start_time: Option<i64>,
    sport: Option<&str>,
    segments: usize,
) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() {
            m.insert(k.to_string(), v);
        }
    };
    put("kind", json!(a.kind.as_str()));
    put("sport", json!(sport));
    put("title", json!(a.title));
    put("start_time", json!(start_time.map(crate::timefmt::iso8601)));
    put("distance_km", json!(round(s.distance_m / 1000.0, 3)));
    put("elapsed_s", json!(s.elapsed_s));
    put("moving_s", json!(s.moving_s));
    put(
        "elevation_gain_m",
        json!(s.elevation_gain_m.map(|v| round(v, 1))),
    );
    put(
        "elevation_loss_m",
        json!(s.elevation_loss_m.map(|v| round(v, 1))),
    );
    put(
        "elevation_min_m",
        json!(s.elevation_min_m.map(|v| round(v, 1))),
    );
    put(
        "elevation_max_m",
        json!(s.elevation_max_m.map(|v| round(v, 1))),
    );
    put("avg_speed_kmh", json!(s.avg_speed_kmh.map(|v| round(v, 2))));
    put("max_speed_kmh", json!(s.max_speed_kmh.map(|v| round(v, 2))));
    put("points", json!(a.num_points()));
    put("segments", json!(segments));
    m
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Maps the many names files use for one sport onto one word, so that
/// `--sport cycling` finds Garmin's "biking", Strava's "Ride" and FIT's
/// "cycling" alike. Unknown names pass through lower-cased.
pub fn normalize_sport(raw: &str) -> String {
    let s = raw.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    let canonical = match s.as_str() {
        "biking" | "cycling" | "ride" | "bike" | "road_biking" | "road_cycling" | "ebikeride"
        | "e_bike_ride" | "gravelride" | "gravel_cycling" | "mountainbikeride"
        | "mountain_biking" | "mountain_bike_ride" => "cycling",
        "virtualride" | "virtual_ride" | "indoor_cycling" => "virtual_ride",
        "running" | "run" | "trail_running" | "trailrun" | "trail_run" | "street_running" => {
            "running"
        }
        "walking" | "walk" => "walking",
        "hiking" | "hike" => "hiking",
        "swimming" | "swim" | "open_water_swimming" => "swimming",
        // Strava writes its activity type codes into GPX <type>.
        "1" => "cycling",
        "9" => "running",
        "10" => "walking",
        "4" => "hiking",
        "" => "other",
        other => other,
    };
    canonical.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::types::Point;

    fn ride(lat0: f64) -> ParsedActivity {
        let seg: Vec<Point> = (0..50)
            .map(|i| Point {
                lat: lat0 + i as f64 * 1e-4,
                lon: 13.4,
                ele: None,
                time: Some(1_700_000_000_000 + i * 1000),
            })
            .collect();
        ParsedActivity {
            segments: vec![seg],
            sport: Some("Biking".into()),
            ..Default::default()
        }
    }

    #[test]
    fn hash_follows_the_geometry_not_the_file() {
        let a = prepare(&ride(52.5), "a.gpx");
        let b = prepare(&ride(52.5), "copy/of/b.gpx");
        let c = prepare(&ride(52.6), "a.gpx");
        assert_eq!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
    }

    #[test]
    fn row_carries_stats_and_bbox() {
        let a = prepare(&ride(52.5), "a.gpx");
        assert_eq!(a.sport.as_deref(), Some("cycling"));
        assert_eq!(a.num_points, 50);
        assert_eq!(a.start_time, Some(1_700_000_000_000));
        assert!(a.bbox[0] <= a.bbox[2] && a.bbox[1] <= a.bbox[3]);
        assert_eq!(a.properties["start_time"], "2023-11-14T22:13:20Z");
        let km = a.properties["distance_km"].as_f64().unwrap();
        assert!((km - 0.545).abs() < 0.01, "{km}");
    }

    #[test]
    fn antimeridian_crossings_break_the_line() {
        let seg = vec![
            Point::new(-16.5, 179.9),
            Point::new(-16.5, 179.99),
            Point::new(-16.5, -179.98),
            Point::new(-16.5, -179.9),
        ];
        let a = prepare(
            &ParsedActivity {
                segments: vec![seg],
                ..Default::default()
            },
            "fiji.gpx",
        );
        let t = Track::decode(&a.track_blob).unwrap();
        assert_eq!(t.segment_starts, vec![0, 2]);
        assert_eq!(a.properties["segments"], 2);
    }

    #[test]
    fn sports_are_normalized() {
        assert_eq!(normalize_sport("Ride"), "cycling");
        assert_eq!(normalize_sport("trail running"), "running");
        assert_eq!(normalize_sport("Kayaking"), "kayaking");
    }
}
