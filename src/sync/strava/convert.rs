//! From Strava's JSON to what the importer takes: a `ParsedActivity` from
//! the full-resolution streams (the summary polyline only when there are
//! none), and properties named as in the bulk export's activities.csv, so
//! that `--filter '"Commute" = true'` finds rides from either source.

use super::polyline;
use crate::ingest::{ParsedActivity, Point};
use serde_json::{Map, Value, json};

/// Why an activity is not imported, or the activity to import.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Converted {
    Activity(ParsedActivity),
    Skipped(String),
}

/// Indoor and virtual activities: a trainer ride has no GPS, and Zwift's
/// coordinates are of an invented island that would glow in the ocean.
pub(crate) fn skip_reason(detail: &Value) -> Option<String> {
    let sport = sport_type(detail);
    if matches!(sport.as_str(), "VirtualRide" | "VirtualRun" | "VirtualRow") {
        return Some(format!("virtual activity ({sport}), not a real place"));
    }
    if detail["trainer"].as_bool() == Some(true) {
        return Some(format!("indoor activity ({sport} on a trainer), no GPS"));
    }
    None
}

/// The activity's geometry: `streams` (key_by_type form) when they hold
/// positions, else the detailed or summary polyline.
pub(crate) fn to_parsed(detail: &Value, streams: Option<&Value>) -> Converted {
    if let Some(why) = skip_reason(detail) {
        return Converted::Skipped(why);
    }
    let start = detail["start_date"]
        .as_str()
        .and_then(crate::ingest::time::parse_timestamp);
    let mut points = streams.map(|s| from_streams(s, start)).unwrap_or_default();
    if points.is_empty() {
        let line = [
            &detail["map"]["polyline"],
            &detail["map"]["summary_polyline"],
        ]
        .into_iter()
        .find_map(|v| v.as_str().filter(|s| !s.is_empty()));
        points = line
            .and_then(polyline::decode)
            .unwrap_or_default()
            .into_iter()
            .filter(|&(lat, lon)| Point::is_valid_position(lat, lon))
            .map(|(lat, lon)| Point::new(lat, lon))
            .collect();
    }
    if points.is_empty() {
        return Converted::Skipped(format!(
            "no GPS data ({} without a recorded route)",
            sport_type(detail)
        ));
    }
    Converted::Activity(ParsedActivity {
        segments: vec![points],
        sport: Some(sport_type(detail)),
        title: detail["name"].as_str().map(str::to_string),
        start_time: start,
        ..Default::default()
    })
}

/// Points from the `latlng`, `time` and `altitude` streams.
fn from_streams(streams: &Value, start_ms: Option<i64>) -> Vec<Point> {
    let data = |k: &str| streams[k]["data"].as_array().cloned().unwrap_or_default();
    let (latlng, time, alt) = (data("latlng"), data("time"), data("altitude"));
    latlng
        .iter()
        .enumerate()
        .filter_map(|(i, ll)| {
            let (lat, lon) = (ll[0].as_f64()?, ll[1].as_f64()?);
            if !Point::is_valid_position(lat, lon) {
                return None;
            }
            Some(Point {
                lat,
                lon,
                ele: alt.get(i).and_then(Value::as_f64).filter(|e| e.is_finite()),
                time: match (start_ms, time.get(i).and_then(Value::as_f64)) {
                    (Some(t0), Some(s)) => Some(t0 + (s * 1000.0) as i64),
                    _ => None,
                },
            })
        })
        .collect()
}

fn sport_type(detail: &Value) -> String {
    detail["sport_type"]
        .as_str()
        .or(detail["type"].as_str())
        .unwrap_or("Workout")
        .to_string()
}

/// Properties as the bulk export's CSV names them (first column of each
/// repeated name, as the join keeps it: Distance in km, times in seconds,
/// speeds in m/s), plus what only the API knows.
pub fn properties(detail: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() {
            m.insert(k.to_string(), v);
        }
    };
    let d = |k: &str| detail[k].clone();
    put("Activity ID", d("id"));
    put(
        "Activity Date",
        json!(
            detail["start_date"]
                .as_str()
                .and_then(crate::ingest::time::parse_timestamp)
                .map(export_date)
        ),
    );
    put("Activity Name", d("name"));
    put("Activity Type", json!(display_type(&sport_type(detail))));
    put("Activity Description", d("description"));
    put("Elapsed Time", d("elapsed_time"));
    put(
        "Distance",
        json!(
            detail["distance"]
                .as_f64()
                .map(|m| (m / 10.0).round() / 100.0)
        ),
    );
    put("Moving Time", d("moving_time"));
    put("Max Speed", d("max_speed"));
    put("Average Speed", d("average_speed"));
    put("Elevation Gain", d("total_elevation_gain"));
    put("Elevation High", d("elev_high"));
    put("Elevation Low", d("elev_low"));
    put("Max Heart Rate", d("max_heartrate"));
    put("Average Heart Rate", d("average_heartrate"));
    put("Max Watts", d("max_watts"));
    put("Average Watts", d("average_watts"));
    put("Average Cadence", d("average_cadence"));
    put("Calories", d("calories"));
    put("Commute", d("commute"));
    put("Activity Gear", detail["gear"]["name"].clone());
    put("strava_id", d("id"));
    put("private", d("private"));
    put("visibility", d("visibility"));
    put("device_name", d("device_name"));
    put("service", json!("strava"));
    m
}

/// `VirtualRide` → `Virtual Ride`, as the export's CSV writes types.
pub(crate) fn display_type(t: &str) -> String {
    match t {
        "EBikeRide" => return "E-Bike Ride".into(),
        "EMountainBikeRide" => return "E-Mountain Bike Ride".into(),
        _ => {}
    }
    let mut out = String::with_capacity(t.len() + 4);
    for (i, c) in t.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `Oct 5, 2014, 4:15:21 PM`: the export's date format (UTC).
pub(crate) fn export_date(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = ms.div_euclid(86_400_000);
    let secs = ms.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = crate::timefmt::civil_from_days(days);
    let (h, min, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let (h12, ampm) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!(
        "{} {d}, {y}, {h12}:{min:02}:{s:02} {ampm}",
        MONTHS[(m - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_types_read_like_the_export() {
        // 2014-10-05T16:15:21Z, the first row of a real export.
        assert_eq!(export_date(1_412_525_721_000), "Oct 5, 2014, 4:15:21 PM");
        assert_eq!(export_date(1_412_467_200_000), "Oct 5, 2014, 12:00:00 AM");
        assert_eq!(display_type("VirtualRide"), "Virtual Ride");
        assert_eq!(display_type("Ride"), "Ride");
        assert_eq!(display_type("EBikeRide"), "E-Bike Ride");
    }

    #[test]
    fn streams_win_over_the_polyline() {
        let detail = json!({"id": 7, "name": "Lunch Ride", "sport_type": "Ride",
            "start_date": "2024-05-01T10:00:00Z", "map": {"summary_polyline": "_p~iF~ps|U_ulLnnqC"}});
        let streams = json!({"latlng": {"data": [[52.5, 13.4], [52.501, 13.401], [0.0, 0.0]]},
            "time": {"data": [0, 5, 9]}, "altitude": {"data": [30.5, 31.0, 1.0]}});
        let Converted::Activity(a) = to_parsed(&detail, Some(&streams)) else {
            panic!("skipped")
        };
        assert_eq!(a.num_points(), 2, "null island dropped");
        let p = a.segments[0][1];
        assert_eq!(p.time, Some(1_714_557_605_000));
        assert_eq!(p.ele, Some(31.0));
        assert_eq!(a.title.as_deref(), Some("Lunch Ride"));
        // Without streams the polyline is the fallback.
        let Converted::Activity(b) = to_parsed(&detail, None) else {
            panic!("skipped")
        };
        assert_eq!(b.num_points(), 2);
        assert_eq!(b.segments[0][0].time, None);
    }

    #[test]
    fn indoor_and_empty_activities_say_why() {
        let zwift = json!({"sport_type": "VirtualRide", "map": {"summary_polyline": "_p~iF~ps|U"}});
        assert!(matches!(to_parsed(&zwift, None), Converted::Skipped(w) if w.contains("virtual")));
        let trainer = json!({"sport_type": "Ride", "trainer": true});
        assert!(
            matches!(to_parsed(&trainer, None), Converted::Skipped(w) if w.contains("trainer"))
        );
        let yoga = json!({"sport_type": "Yoga", "map": {"summary_polyline": ""}});
        assert!(matches!(to_parsed(&yoga, None), Converted::Skipped(w) if w.contains("no GPS")));
    }
}
