//! Times no recording can have. A device with a lost clock writes year 0,
//! 1901 or 9999 (seen in the corpus and in probes); stored, such a time
//! puts the activity first or last in every date filter and skews speeds.
//! Such times are dropped, the points kept, and the user told.
//!
//! This runs on every activity whatever its format, after parsing.

use super::types::ParsedActivity;
use crate::timefmt::iso8601;

/// 1980-01-06, the GPS epoch: no satellite fix is older.
const EARLIEST_MS: i64 = 315_964_800_000;
/// 2100-01-01: later is a broken clock, not a recording.
const LATEST_MS: i64 = 4_102_444_800_000;

fn possible(ms: i64) -> bool {
    (EARLIEST_MS..LATEST_MS).contains(&ms)
}

/// Drops impossible point and start times; returns a warning when it did.
pub(crate) fn clear_impossible_times(a: &mut ParsedActivity) -> Option<String> {
    let mut dropped = 0;
    let mut example = None;
    for p in a.segments.iter_mut().flatten() {
        if let Some(t) = p.time.filter(|&t| !possible(t)) {
            dropped += 1;
            example.get_or_insert(t);
            p.time = None;
        }
    }
    let start = a.start_time.filter(|&t| !possible(t));
    if start.is_some() {
        a.start_time = None;
    }
    let range = "before the GPS epoch of 1980 or after 2099";
    match (dropped, start) {
        (0, None) => None,
        (0, Some(t)) => Some(format!(
            "start time {} is impossible ({range}): ignored",
            iso8601(t)
        )),
        (n, _) => Some(format!(
            "{} with impossible times ({range}, such as {}) kept without a time",
            super::xml::count(n, "point"),
            iso8601(example.expect("set with the first"))
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::types::Point;

    #[test]
    fn years_0_and_9999_are_dropped_with_a_warning() {
        let at = |ms| Point {
            time: Some(ms),
            ..Point::new(52.5, 13.4)
        };
        let year_0 = -62_167_219_200_000;
        let year_9999 = 253_370_764_800_000;
        let good = 1_700_000_000_000;
        let mut a = ParsedActivity {
            segments: vec![vec![at(year_0), at(good), at(year_9999)]],
            start_time: Some(year_0),
            ..Default::default()
        };
        let w = clear_impossible_times(&mut a).unwrap();
        assert!(w.contains("2 points") && w.contains("0000-01-01"), "{w}");
        let times: Vec<_> = a.points().map(|p| p.time).collect();
        assert_eq!(times, vec![None, Some(good), None]);
        assert_eq!(a.start_time, None);
        // Only the start time wrong; nothing wrong.
        a.start_time = Some(year_9999);
        let w = clear_impossible_times(&mut a).unwrap();
        assert!(w.contains("start time 9999-"), "{w}");
        assert_eq!(clear_impossible_times(&mut a), None);
    }
}
