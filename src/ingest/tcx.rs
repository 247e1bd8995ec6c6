//! Garmin Training Center (TCX) reader.
//!
//! Every `<Activity>` becomes a track activity (sport from its `Sport`
//! attribute) and every `<Course>` a route activity (title from its
//! `<Name>`); each `<Track>` inside their laps is a segment. Trackpoints
//! without a `<Position>` (indoor workouts, pauses) are skipped without
//! complaint. Elements are matched by local name, so namespaces and prefixes
//! do not matter; damage is handled by [`super::xml`].

use quick_xml::events::BytesStart;

use super::time::parse_timestamp;
use super::types::{ActivityKind, ParseError, Parsed};
use super::xml::{self, Collector, Format, Handler};

const TCX: Format = Format {
    name: "TCX",
    root: "TrainingCenterDatabase",
};

/// Parses a TCX document (already decompressed) into its activities and
/// courses, in file order.
pub(crate) fn parse_tcx(bytes: &[u8]) -> Result<Parsed, ParseError> {
    let mut tcx = Tcx::default();
    let walk = xml::read(bytes, &TCX, &mut tcx)?;
    let invalid = tcx.points.invalid(ActivityKind::Track) + tcx.points.invalid(ActivityKind::Route);
    let reason = tcx.empty_reason();
    let times = tcx.points.time_warning();
    walk.finish(tcx.points.finish(), invalid, times, reason)
}

#[derive(Default)]
struct Tcx {
    points: Collector,
    /// Depth of the open `<Activity>`/`<Course>`, 0 when none: only its
    /// direct `<Id>`/`<Name>` children describe it.
    activity_depth: usize,
    /// Depth of the open `<Trackpoint>`, 0 when none.
    point_depth: usize,
    activities: usize,
    trackpoints: usize,
    positions: usize,
}

impl Tcx {
    fn in_point(&self) -> bool {
        self.point_depth > 0
    }

    fn in_activity(&self, depth: usize) -> bool {
        self.activity_depth > 0 && depth == self.activity_depth + 1
    }

    fn begin_activity(&mut self, kind: ActivityKind, depth: usize, tag: &BytesStart<'_>) {
        self.activities += 1;
        let activity = self.points.begin_activity(kind);
        activity.sport = xml::attribute(tag, "Sport")
            .and_then(|s| xml::text_value(&s))
            .map(|s| s.to_lowercase());
        self.activity_depth = depth;
    }

    /// The first lap's start stands in for a missing or unreadable `<Id>`.
    fn lap_start(&mut self, tag: &BytesStart<'_>) {
        if let Some(activity) = self.points.activity().filter(|a| a.start_time.is_none()) {
            activity.start_time =
                xml::attribute(tag, "StartTime").and_then(|t| parse_timestamp(&t));
        }
    }

    fn empty_reason(&self) -> String {
        if self.positions > 0 {
            "TCX whose positions all have invalid coordinates".to_string()
        } else if self.trackpoints > 0 {
            format!(
                "TCX without any position in its {} (indoor workout?)",
                xml::count(self.trackpoints, "trackpoint")
            )
        } else if self.activities > 0 {
            "TCX activity without trackpoints".to_string()
        } else {
            "TCX without activities or courses".to_string()
        }
    }
}

impl Handler for Tcx {
    fn start(&mut self, name: &str, depth: usize, tag: &BytesStart<'_>) -> bool {
        match name {
            "Activity" => self.begin_activity(ActivityKind::Track, depth, tag),
            "Course" => self.begin_activity(ActivityKind::Route, depth, tag),
            "Lap" => self.lap_start(tag),
            "Track" => self.points.end_segment(),
            "Trackpoint" => {
                self.trackpoints += 1;
                // Track is only the kind of the activity opened for a
                // trackpoint outside any <Activity> or <Course>.
                self.points.begin_point(ActivityKind::Track);
                self.point_depth = depth;
            }
            "Position" if self.in_point() => {
                self.positions += 1;
                if let Some(point) = self.points.point() {
                    point.has_position = true;
                }
            }
            "LatitudeDegrees" | "LongitudeDegrees" | "AltitudeMeters" | "Time"
                if self.in_point() =>
            {
                return true;
            }
            "Id" | "Name" if self.in_activity(depth) => return true,
            _ => {}
        }
        false
    }

    fn end(&mut self, name: &str, depth: usize, text: &str) {
        match name {
            "Trackpoint" if depth == self.point_depth => {
                self.points.end_point();
                self.point_depth = 0;
            }
            "Track" => self.points.end_segment(),
            "Activity" | "Course" if depth == self.activity_depth => {
                self.points.end_activity();
                self.activity_depth = 0;
            }
            "LatitudeDegrees" | "LongitudeDegrees" | "AltitudeMeters" | "Time"
                if self.in_point() =>
            {
                let Some(point) = self.points.point() else {
                    return;
                };
                let number = || xml::parse_number(text);
                match name {
                    "LatitudeDegrees" => point.lat = number().unwrap_or(f64::NAN),
                    "LongitudeDegrees" => point.lon = number().unwrap_or(f64::NAN),
                    "AltitudeMeters" => point.ele = number(),
                    _ => point.set_time(text),
                }
            }
            "Id" if self.in_activity(depth) => {
                if let Some(activity) = self.points.activity() {
                    activity.start_time = parse_timestamp(text).or(activity.start_time);
                }
            }
            "Name" if self.in_activity(depth) => {
                if let Some(activity) = self.points.activity() {
                    activity.title = xml::text_value(text);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::types::{ActivityKind, ParseError, Parsed};
    use super::super::xml::test_support::{self as support, Expect};
    use super::parse_tcx;

    const NOON_2013: i64 = 1_357_041_600_000; // 2013-01-01T12:00:00Z

    fn tcx(body: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">{body}</TrainingCenterDatabase>"#
        )
    }

    fn trackpoint(lat: &str, lon: &str) -> String {
        format!(
            "<Trackpoint><Time>2013-01-01T12:00:00.5Z</Time><Position><LatitudeDegrees>{lat}</LatitudeDegrees>\
             <LongitudeDegrees>{lon}</LongitudeDegrees></Position><AltitudeMeters>12.5</AltitudeMeters></Trackpoint>"
        )
    }

    const NO_POSITION: &str = "<Trackpoint><Time>2013-01-01T12:00:01Z</Time><HeartRateBpm><Value>90</Value></HeartRateBpm></Trackpoint>";

    fn parse(doc: &str) -> Parsed {
        parse_tcx(doc.as_bytes()).unwrap_or_else(|e| panic!("{e}: {doc}"))
    }

    #[test]
    fn laps_and_tracks_become_segments() {
        let p = trackpoint("47.1", "8.5");
        let doc = tcx(&format!(
            r#"<Activities><Activity Sport="Running"><Id>2013-01-01T12:00:00Z</Id>
               <Lap StartTime="2013-01-01T13:00:00Z"><Track>{p}{NO_POSITION}{p}</Track><Track>{p}</Track></Lap>
               <Lap StartTime="2013-01-01T14:00:00Z"><Track>{NO_POSITION}</Track><Track>{p}</Track></Lap>
               </Activity><Activity Sport="Biking"><Lap StartTime="2013-01-01T12:00:00Z"><Track>{p}</Track></Lap></Activity></Activities>"#
        ));
        let parsed = parse(&doc);
        assert_eq!(parsed.activities.len(), 2);
        let run = &parsed.activities[0];
        assert_eq!(run.kind, ActivityKind::Track);
        assert_eq!(run.sport.as_deref(), Some("running"));
        assert_eq!(
            run.start_time,
            Some(NOON_2013),
            "the Id wins over the lap start"
        );
        let lens: Vec<usize> = run.segments.iter().map(Vec::len).collect();
        assert_eq!(
            lens,
            [2, 1, 1],
            "missing positions skipped, empty tracks dropped"
        );
        let point = run.segments[0][0];
        assert_eq!(
            (point.lat, point.lon, point.ele, point.time),
            (47.1, 8.5, Some(12.5), Some(NOON_2013 + 500))
        );
        let ride = &parsed.activities[1];
        assert_eq!(ride.sport.as_deref(), Some("biking"));
        assert_eq!(
            ride.start_time,
            Some(NOON_2013),
            "first lap start without an Id"
        );
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    }

    #[test]
    fn course_becomes_a_route() {
        let doc = tcx(&format!(
            "<Courses><Course><Name> Loop </Name><Lap><TotalTimeSeconds>1</TotalTimeSeconds></Lap><Track>{}{}</Track>\
             <CoursePoint><Name>Turn</Name><Position><LatitudeDegrees>1</LatitudeDegrees><LongitudeDegrees>1</LongitudeDegrees></Position></CoursePoint>\
             </Course></Courses>",
            trackpoint("1.5", "2.5"),
            trackpoint("1.6", "2.6")
        ));
        let parsed = parse(&doc);
        assert_eq!(parsed.activities.len(), 1);
        let course = &parsed.activities[0];
        assert_eq!(course.kind, ActivityKind::Route);
        assert_eq!(course.title.as_deref(), Some("Loop"));
        assert_eq!(course.num_points(), 2, "course points are not track points");
    }

    #[test]
    fn bad_positions_are_counted_and_damage_is_survived() {
        let doc = tcx(&format!(
            "<Activities><Activity Sport='Other'><Lap><Track>{}{}{}{}</Track></Lap></Activity></Activities>",
            trackpoint("0", "0"),
            trackpoint("north", "8"),
            trackpoint("47", "8"),
            trackpoint("48", "9"),
        ));
        let parsed = parse(&doc);
        assert_eq!(parsed.activities[0].num_points(), 2);
        assert_eq!(
            parsed.warnings,
            ["2 points with invalid coordinates skipped"]
        );

        let cut = &doc[..doc.rfind("<AltitudeMeters>").unwrap()];
        let parsed = parse(cut);
        assert_eq!(parsed.activities[0].num_points(), 2);
        assert!(
            parsed.warnings[0].contains("kept 2 points"),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn no_positions_at_all_is_no_points() {
        let doc = tcx(&format!(
            "<Activities><Activity Sport='Other'><Lap><Track>{NO_POSITION}</Track></Lap></Activity></Activities>"
        ));
        let err = parse_tcx(doc.as_bytes()).unwrap_err();
        assert!(
            matches!(err, ParseError::NoPoints(ref m) if m.contains("without any position")),
            "{err}"
        );

        let truncated = r#"<TrainingCenterDatabase><Activities><Activity Sport="Running"><Lap StartTime="2000-01-01T00:00:00Z">"#;
        assert!(matches!(
            parse_tcx(truncated.as_bytes()),
            Err(ParseError::Malformed { format: "TCX", .. })
        ));
        assert!(matches!(
            parse_tcx(b"<gpx/>"),
            Err(ParseError::Unsupported(_))
        ));
    }

    #[test]
    fn any_cut_or_damaged_byte_is_survived() {
        let p = trackpoint("47.1", "8.5");
        let doc = tcx(&format!(
            r#"<Activities><Activity Sport="Running"><Id>2013-01-01T12:00:00Z</Id><Lap StartTime="2013-01-01T12:00:00Z">
            <Track>{p}{NO_POSITION}{p}</Track></Lap></Activity></Activities>
            <Courses><Course><Name>C</Name><Track>{p}</Track></Course></Courses>"#
        ));
        support::assert_survives_damage(doc.as_bytes(), parse_tcx);
    }

    /// Exceptions to the manifest's counts, with the reason.
    const EXCEPTIONS: &[(&str, Expect, &str)] = &[
        // Of its 4 Positions, 2 have non-numeric coordinates and 1 is 0,0.
        (
            "tcx/placemark-togeojson__bad.tcx",
            Expect::Points(1),
            "3 of 4 positions unusable",
        ),
    ];

    #[test]
    #[cfg_attr(
        hotpot_no_corpus,
        ignore = "the real-track corpus is not at ../shared/data/tracks"
    )]
    fn corpus() {
        support::check_all("tcx", parse_tcx, EXCEPTIONS);
    }

    #[test]
    #[cfg_attr(
        hotpot_no_corpus,
        ignore = "the real-track corpus is not at ../shared/data/tracks"
    )]
    fn throughput() {
        support::throughput("tcx", parse_tcx);
    }
}
