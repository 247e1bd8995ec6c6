//! GPX 1.0 / 1.1 reader.
//!
//! Every `<trk>` becomes a track activity and each of its non-empty
//! `<trkseg>`s a segment. Files without any `<trkpt>` fall back to their
//! `<rte>`s (planned routes). Waypoints are never activities. Elements are
//! matched by local name only, so the namespace (1.0, 1.1, none, a wrong
//! one) and prefixes do not matter, and unknown elements may appear anywhere
//! (a `<trk>` inside `<metadata>` is still a track). Damage is handled by
//! [`super::xml`].

use quick_xml::events::BytesStart;

use super::time::parse_timestamp;
use super::types::{ActivityKind, ParseError, Parsed, ParsedActivity};
use super::xml::{self, Collector, Format, Handler};

const GPX: Format = Format {
    name: "GPX",
    root: "gpx",
};

/// Parses a GPX document (already decompressed) into its activities.
pub(crate) fn parse_gpx(bytes: &[u8]) -> Result<Parsed, ParseError> {
    let mut gpx = Gpx::default();
    let walk = xml::read(bytes, &GPX, &mut gpx)?;
    let kind = gpx.kind();
    let invalid = gpx.points.invalid(kind);
    let reason = gpx.empty_reason();
    let times = gpx.points.time_warning();
    walk.finish(gpx.into_activities(kind), invalid, times, reason)
}

#[derive(Default)]
struct Gpx {
    points: Collector,
    /// Depth of the open `<trk>`/`<rte>`, 0 when none: only its direct
    /// `<name>`/`<type>` children describe it.
    container_depth: usize,
    /// Depth of the open `<trkpt>`/`<rtept>`, 0 when none.
    point_depth: usize,
    /// Depth of the open `<metadata>` (GPX 1.1), which holds the file's own
    /// name and time; 0 when none, meaning the root, where GPX 1.0 keeps
    /// them.
    meta_depth: usize,
    meta_name: Option<String>,
    meta_time: Option<i64>,
    tracks: usize,
    routes: usize,
    trkpts: usize,
    rtepts: usize,
    waypoints: usize,
}

impl Gpx {
    fn in_point(&self, depth: usize) -> bool {
        self.point_depth > 0 && depth == self.point_depth + 1
    }

    fn in_container(&self, depth: usize) -> bool {
        self.container_depth > 0 && depth == self.container_depth + 1
    }

    fn in_meta(&self, depth: usize) -> bool {
        depth == self.meta_depth.max(1) + 1
    }

    fn begin_container(&mut self, kind: ActivityKind, depth: usize) {
        self.points.begin_activity(kind);
        self.container_depth = depth;
    }

    fn begin_point(&mut self, kind: ActivityKind, depth: usize, tag: &BytesStart<'_>) {
        let point = self.points.begin_point(kind);
        // A missing or unreadable lat/lon stays NaN, so the point is counted
        // as invalid rather than silently dropped.
        point.has_position = true;
        for (key, value) in xml::attributes(tag) {
            match key {
                "lat" => point.lat = xml::parse_number(&value).unwrap_or(f64::NAN),
                "lon" => point.lon = xml::parse_number(&value).unwrap_or(f64::NAN),
                _ => {}
            }
        }
        self.point_depth = depth;
    }

    /// Tracks win; routes count only in a file with no `<trkpt>` at all.
    fn kind(&self) -> ActivityKind {
        if self.trkpts == 0 && self.rtepts > 0 {
            ActivityKind::Route
        } else {
            ActivityKind::Track
        }
    }

    fn into_activities(self, kind: ActivityKind) -> Vec<ParsedActivity> {
        let mut activities: Vec<_> = self
            .points
            .finish()
            .into_iter()
            .filter(|a| a.kind == kind)
            .collect();
        // The importer takes the first point's time as the start; the
        // metadata time is only a fallback for files without point times.
        let timed = activities
            .iter()
            .flat_map(ParsedActivity::points)
            .any(|p| p.time.is_some());
        for activity in &mut activities {
            activity.title = activity.title.take().or_else(|| self.meta_name.clone());
            if !timed {
                activity.start_time = self.meta_time;
            }
        }
        activities
    }

    fn empty_reason(&self) -> String {
        let reason = if self.trkpts > 0 {
            "GPX whose track points all have invalid coordinates"
        } else if self.rtepts > 0 {
            "GPX whose route points all have invalid coordinates"
        } else if self.tracks > 0 {
            "GPX with an empty track"
        } else if self.routes > 0 {
            "GPX with an empty route"
        } else if self.waypoints > 0 {
            "GPX with only waypoints"
        } else {
            "GPX without tracks, routes or waypoints"
        };
        reason.to_string()
    }
}

impl Handler for Gpx {
    fn start(&mut self, name: &str, depth: usize, tag: &BytesStart<'_>) -> bool {
        match name {
            "trk" => {
                self.tracks += 1;
                self.begin_container(ActivityKind::Track, depth);
            }
            "rte" => {
                self.routes += 1;
                self.begin_container(ActivityKind::Route, depth);
            }
            "trkseg" => self.points.end_segment(),
            "trkpt" => {
                self.trkpts += 1;
                self.begin_point(ActivityKind::Track, depth, tag);
            }
            "rtept" => {
                self.rtepts += 1;
                self.begin_point(ActivityKind::Route, depth, tag);
            }
            "wpt" => self.waypoints += 1,
            "metadata" => self.meta_depth = depth,
            "ele" | "time" if self.in_point(depth) => return true,
            "name" | "type" if self.in_container(depth) => return true,
            "name" | "time" if self.in_meta(depth) => return true,
            _ => {}
        }
        false
    }

    fn end(&mut self, name: &str, depth: usize, text: &str) {
        match name {
            "trkpt" | "rtept" if depth == self.point_depth => {
                self.points.end_point();
                self.point_depth = 0;
            }
            "trkseg" => self.points.end_segment(),
            "trk" | "rte" if depth == self.container_depth => {
                self.points.end_activity();
                self.container_depth = 0;
            }
            "metadata" if depth == self.meta_depth => self.meta_depth = 0,
            "ele" | "time" if self.in_point(depth) => {
                if let Some(point) = self.points.point() {
                    match name {
                        "ele" => point.ele = xml::parse_number(text),
                        _ => point.set_time(text),
                    }
                }
            }
            "name" | "type" if self.in_container(depth) => {
                if let Some(activity) = self.points.activity() {
                    match name {
                        "name" => activity.title = xml::text_value(text),
                        _ => activity.sport = xml::text_value(text).map(|s| s.to_lowercase()),
                    }
                }
            }
            "name" if self.in_meta(depth) => self.meta_name = xml::text_value(text),
            "time" if self.in_meta(depth) => self.meta_time = parse_timestamp(text),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::types::{ActivityKind, ParseError, Parsed};
    use super::super::xml::test_support::{self as support, Expect};
    use super::parse_gpx;

    const NOON_2013: i64 = 1_357_041_600_000; // 2013-01-01T12:00:00Z

    fn gpx(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">{body}</gpx>"#
        )
    }

    fn parse(doc: &str) -> Parsed {
        parse_gpx(doc.as_bytes()).unwrap_or_else(|e| panic!("{e}: {doc}"))
    }

    fn points(parsed: &Parsed) -> usize {
        parsed.activities.iter().map(|a| a.num_points()).sum()
    }

    const PT: &str =
        r#"<trkpt lat="47.1" lon="8.5"><ele>400.5</ele><time>2013-01-01T12:00:00Z</time></trkpt>"#;

    #[test]
    fn multi_trk_gives_several_activities() {
        let doc = gpx(&format!(
            "<trk><name> Morning\n\t ride\0</name><type>Cycling</type><trkseg>{PT}{PT}</trkseg></trk><trk><trkseg>{PT}</trkseg></trk>"
        ));
        let parsed = parse(&doc);
        assert_eq!(parsed.activities.len(), 2);
        let first = &parsed.activities[0];
        assert_eq!(first.kind, ActivityKind::Track);
        assert_eq!(first.title.as_deref(), Some("Morning ride"));
        assert_eq!(first.sport.as_deref(), Some("cycling"));
        assert_eq!(first.num_points(), 2);
        let p = first.segments[0][0];
        assert_eq!(
            (p.lat, p.lon, p.ele, p.time),
            (47.1, 8.5, Some(400.5), Some(NOON_2013))
        );
        assert_eq!(parsed.activities[1].num_points(), 1);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    }

    #[test]
    fn multi_trkseg_gives_several_segments_and_drops_empty_ones() {
        let doc = gpx(&format!(
            "<trk><trkseg>{PT}</trkseg><trkseg></trkseg><trkseg>{PT}{PT}</trkseg></trk>"
        ));
        let parsed = parse(&doc);
        assert_eq!(parsed.activities.len(), 1);
        let lens: Vec<usize> = parsed.activities[0].segments.iter().map(Vec::len).collect();
        assert_eq!(lens, [1, 2]);
    }

    #[test]
    fn routes_only_when_there_is_no_trkpt() {
        let route =
            r#"<rte><name>Plan</name><rtept lat="1" lon="2"/><rtept lat="1.5" lon="2.5"/></rte>"#;
        let parsed = parse(&gpx(&format!(
            r#"<wpt lat="5" lon="5"><name>w</name></wpt>{route}{route}"#
        )));
        assert_eq!(parsed.activities.len(), 2);
        assert!(
            parsed
                .activities
                .iter()
                .all(|a| a.kind == ActivityKind::Route && a.num_points() == 2)
        );
        assert_eq!(parsed.activities[0].title.as_deref(), Some("Plan"));
        assert_eq!(parsed.activities[0].segments.len(), 1);

        let with_track = parse(&gpx(&format!("{route}<trk><trkseg>{PT}</trkseg></trk>")));
        assert_eq!(with_track.activities.len(), 1);
        assert_eq!(with_track.activities[0].kind, ActivityKind::Track);
    }

    #[test]
    fn metadata_fills_title_and_start_time_only_when_missing() {
        let meta =
            "<metadata><name>From metadata</name><time>2013-01-01T12:00:00Z</time></metadata>";
        let untimed = parse(&gpx(&format!(
            r#"{meta}<trk><trkseg><trkpt lat="1" lon="1"/></trkseg></trk>"#
        )));
        assert_eq!(
            untimed.activities[0].title.as_deref(),
            Some("From metadata")
        );
        assert_eq!(untimed.activities[0].start_time, Some(NOON_2013));

        let timed = parse(&gpx(&format!(
            "{meta}<trk><name>Own</name><trkseg>{PT}</trkseg></trk>"
        )));
        assert_eq!(timed.activities[0].title.as_deref(), Some("Own"));
        assert_eq!(timed.activities[0].start_time, None);

        // GPX 1.0 keeps name and time directly under the root; a waypoint's
        // name is not the file's.
        let v10 = r#"<gpx version="1.0"><name>Old</name><wpt lat="3" lon="3"><name>W</name></wpt><trk><trkseg><trkpt lat="1" lon="1"/></trkseg></trk></gpx>"#;
        assert_eq!(parse(v10).activities[0].title.as_deref(), Some("Old"));
    }

    #[test]
    fn namespaces_and_prefixes_are_ignored() {
        let none = format!("<gpx><trk><trkseg>{PT}</trkseg></trk></gpx>");
        let wrong = format!(
            r#"<gpx xmlns="http://example.com/not-gpx"><trk><trkseg>{PT}</trkseg></trk></gpx>"#
        );
        let prefixed = r#"<g:gpx xmlns:g="http://www.topografix.com/GPX/1/1"><g:trk><g:trkseg><g:trkpt lat="1" lon="2"><g:ele>3</g:ele></g:trkpt></g:trkseg></g:trk></g:gpx>"#;
        for doc in [none.as_str(), &wrong, prefixed] {
            assert_eq!(points(&parse(doc)), 1, "{doc}");
        }
        assert_eq!(parse(prefixed).activities[0].segments[0][0].ele, Some(3.0));
    }

    #[test]
    fn bom_and_missing_declaration_are_fine() {
        let doc = format!("\u{FEFF}\n<gpx><trk><trkseg>{PT}</trkseg></trk></gpx>");
        let parsed = parse(&doc);
        assert_eq!(points(&parsed), 1);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    }

    #[test]
    fn truncated_document_keeps_its_points() {
        let doc = gpx(&format!("<trk><trkseg>{PT}{PT}</trkseg></trk>"));
        let cut = &doc[..doc.find("</trkseg>").unwrap() - 30];
        let parsed = parse(cut);
        // The second point lost its end tags and the end of its <time>: the
        // cut-off time is not trusted.
        assert_eq!(points(&parsed), 2);
        assert_eq!(parsed.activities[0].segments[0][1].time, None);
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        assert!(
            parsed.warnings[0].contains("kept 2 points"),
            "{}",
            parsed.warnings[0]
        );

        // Cut inside a tag: the half-read point is gone, the first one kept.
        let in_tag = &doc[..doc.rfind("lon=").unwrap()];
        let parsed = parse(in_tag);
        assert_eq!(points(&parsed), 1);
        assert!(
            parsed.warnings[0].starts_with("XML error at byte"),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn broken_before_any_point_is_malformed() {
        let doc = gpx(&format!("<trk><trkseg>{PT}</trkseg></trk>"));
        let cut = &doc[..doc.find("<trkpt").unwrap() + 3];
        assert!(matches!(
            parse_gpx(cut.as_bytes()),
            Err(ParseError::Malformed { format: "GPX", .. })
        ));
    }

    #[test]
    fn unknown_entity_is_kept_as_text() {
        let doc = gpx(&format!(
            "<trk><name>Caf&eacute; &amp; &#233;clair &lt;3 Tom & Jerry</name><trkseg>{PT}</trkseg></trk><trk><trkseg>{PT}</trkseg></trk>"
        ));
        let parsed = parse(&doc);
        assert_eq!(points(&parsed), 2);
        assert_eq!(
            parsed.activities[0].title.as_deref(),
            Some("Caf&eacute; & éclair <3 Tom & Jerry")
        );
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        assert!(parsed.warnings[0].contains("&eacute;"));
    }

    #[test]
    fn garbage_after_root_is_ignored() {
        let doc = gpx(&format!("<trk><trkseg>{PT}</trkseg></trk>"))
            + "\n\0\0garbage<trkpt lat=\"5\" lon=\"5\"/>";
        let parsed = parse(&doc);
        assert_eq!(points(&parsed), 1);
        assert_eq!(parsed.warnings.len(), 1);
        assert!(
            parsed.warnings[0].contains("after the closing </gpx>"),
            "{:?}",
            parsed.warnings
        );

        let whitespace_only = gpx(&format!("<trk><trkseg>{PT}</trkseg></trk>")) + "\n \r\n";
        assert!(parse(&whitespace_only).warnings.is_empty());
    }

    #[test]
    fn mismatched_tags_are_recovered() {
        // <metadata> opened as <fail>, a stray end tag, a trkpt outside any
        // trkseg and a missing </trkseg>.
        let doc = gpx(&format!(
            "<fail><name>x</name></metadata><trk><name>T</name><foo>{PT}</foo></bar><trkseg>{PT}{PT}</trk>"
        ));
        let parsed = parse(&doc);
        assert_eq!(points(&parsed), 3);
        assert_eq!(parsed.activities.len(), 1);
        assert_eq!(parsed.activities[0].title.as_deref(), Some("T"));
        assert_eq!(parsed.activities[0].segments.len(), 2);
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        assert!(
            parsed.warnings[0].starts_with("4 mismatched end tags"),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn invalid_coordinates_are_skipped_and_counted() {
        let doc = gpx(concat!(
            r#"<trk><trkseg><trkpt lat="undefined" lon="undefined"/><trkpt lat="0" lon="0"/>"#,
            r#"<trkpt lat="91" lon="1"/><trkpt lon="1"/><trkpt lat=" 10.5 " lon="-20"><ele></ele></trkpt>"#,
            r#"<trkpt lat=1e1 lon=2><ele>bad data</ele><time>nonsense</time></trkpt></trkseg></trk>"#,
        ));
        let parsed = parse(&doc);
        let pts: Vec<_> = parsed.activities[0]
            .points()
            .map(|p| (p.lat, p.lon, p.ele, p.time))
            .collect();
        assert_eq!(pts, [(10.5, -20.0, None, None), (10.0, 2.0, None, None)]);
        assert_eq!(
            parsed.warnings,
            [
                "4 points with invalid coordinates skipped",
                "1 point kept without a time (its time does not parse)"
            ]
        );

        let all_bad = gpx(
            r#"<trk><trkseg><trkpt lat="undefined" lon="undefined"/></trkseg></trk><rte><rtept lat="1" lon="1"/></rte>"#,
        );
        let err = parse_gpx(all_bad.as_bytes()).unwrap_err();
        assert!(
            matches!(err, ParseError::NoPoints(ref m) if m.contains("invalid coordinates")),
            "{err}"
        );
    }

    #[test]
    fn timestamps_with_fractions_and_offsets() {
        let doc = gpx(concat!(
            r#"<trk><trkseg><trkpt lat="1" lon="1"><time>2013-01-01T14:00:00.250+02:00</time></trkpt>"#,
            r#"<trkpt lat="1" lon="1"><time> 2013-01-01T07:00:00.123456-0500 </time></trkpt>"#,
            r#"<trkpt lat="1" lon="1"><time>2013-01-01T12:00:00</time></trkpt></trkseg></trk>"#,
        ));
        let times: Vec<_> = parse(&doc).activities[0].points().map(|p| p.time).collect();
        assert_eq!(
            times,
            [
                Some(NOON_2013 + 250),
                Some(NOON_2013 + 123),
                Some(NOON_2013)
            ]
        );
    }

    #[test]
    fn latin1_names_are_decoded_when_declared() {
        let mut doc =
            br#"<?xml version="1.0" encoding="ISO-8859-1"?><gpx><trk><name>Randonn"#.to_vec();
        doc.extend_from_slice(
            b"\xE9e \x80</name><trkseg><trkpt lat=\"1\" lon=\"1\"/></trkseg></trk></gpx>",
        );
        let parsed = parse_gpx(&doc).unwrap();
        assert_eq!(parsed.activities[0].title.as_deref(), Some("Randonnée €"));
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);

        // Undeclared, the byte is replaced and the file still reads.
        let undeclared = &doc[doc.iter().position(|&b| b == b'>').unwrap() + 1..];
        let parsed = parse_gpx(undeclared).unwrap();
        assert_eq!(
            parsed.activities[0].title.as_deref(),
            Some("Randonn\u{FFFD}e \u{FFFD}")
        );
        assert_eq!(parsed.warnings.len(), 1);
    }

    #[test]
    fn empty_and_foreign_documents_are_errors() {
        let no_points = |doc: &str| match parse_gpx(doc.as_bytes()) {
            Err(ParseError::NoPoints(reason)) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            no_points(&gpx(r#"<wpt lat="1" lon="2"/>"#)),
            "GPX with only waypoints"
        );
        assert_eq!(
            no_points(&gpx("<trk><name/><trkseg/></trk>")),
            "GPX with an empty track"
        );
        assert_eq!(
            no_points(&gpx("<metadata/>")),
            "GPX without tracks, routes or waypoints"
        );
        assert_eq!(
            no_points("<gpx/>"),
            "GPX without tracks, routes or waypoints"
        );

        for foreign in [
            &b"<TrainingCenterDatabase/>"[..],
            b"PK\x03\x04rest",
            b"\xFF\xD8\xFF\xE0",
            b"",
            b"  \n",
        ] {
            assert!(
                matches!(parse_gpx(foreign), Err(ParseError::Unsupported(_))),
                "{foreign:?}"
            );
        }
    }

    #[test]
    fn any_cut_or_damaged_byte_is_survived() {
        let doc = gpx(&format!(
            r#"<metadata><name>M &amp; m</name><time>2013-01-01T12:00:00Z</time></metadata>
            <wpt lat="3" lon="3"><name>W</name></wpt><rte><rtept lat="2" lon="2"/></rte>
            <trk><name>T</name><type>Run</type><trkseg>{PT}{PT}</trkseg><trkseg>{PT}</trkseg></trk>"#
        ));
        support::assert_survives_damage(doc.as_bytes(), parse_gpx);
    }

    /// Exceptions to the manifest's counts, with the reason.
    const EXCEPTIONS: &[(&str, Expect, &str)] = &[
        // Both trkpt have lat="undefined" lon="undefined"; the file has
        // track points, so its (equally broken) route is not used.
        (
            "gpx/placemark-togeojson__bad.gpx",
            Expect::NoPoints,
            "2 trkpt with lat=\"undefined\"",
        ),
        // A bzip2-compressed GPX: the importer undoes gzip only.
        (
            "gpx/osm-website__c.gpx",
            Expect::NotGps,
            "bzip2, not decompressed",
        ),
    ];

    #[test]
    #[cfg_attr(
        hotpot_no_corpus,
        ignore = "the real-track corpus is not at ../shared/data/tracks"
    )]
    fn corpus() {
        support::check_all("gpx", parse_gpx, EXCEPTIONS);
    }

    #[test]
    #[cfg_attr(
        hotpot_no_corpus,
        ignore = "the real-track corpus is not at ../shared/data/tracks"
    )]
    fn throughput() {
        support::throughput("gpx", parse_gpx);
    }

    #[test]
    fn character_references_in_attributes_are_read() {
        let doc = gpx(
            r#"<trk><trkseg><trkpt lat="&#53;&#50;.5" lon="&#x31;3.4"/><trkpt lat=" 52.6 " lon="13&#46;5"/></trkseg></trk>"#,
        );
        let parsed = parse(&doc);
        let p: Vec<(f64, f64)> = parsed.activities[0]
            .points()
            .map(|p| (p.lat, p.lon))
            .collect();
        assert_eq!(p, vec![(52.5, 13.4), (52.6, 13.5)]);
    }

    #[test]
    fn unreadable_times_are_counted() {
        let doc = gpx(
            r#"<trk><trkseg><trkpt lat="1" lon="1"><time>yesterday</time></trkpt><trkpt lat="1" lon="2"><time>2013-13-45T99:00:00Z</time></trkpt><trkpt lat="1" lon="3"><time>2013-01-01T12:00:00Z</time></trkpt></trkseg></trk>"#,
        );
        let parsed = parse(&doc);
        assert_eq!(
            parsed.warnings,
            vec!["2 points kept without a time (their times do not parse)"]
        );
        assert_eq!(parsed.activities[0].num_points(), 3);
    }
}
