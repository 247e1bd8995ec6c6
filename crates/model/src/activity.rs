//! An activity as read from a file or an API: positions with optional
//! elevation and time, in segments. Every format parser and every other
//! source (Strava streams, the demo generator) produces these; the importer
//! turns them into stored activities. Nothing here knows about SQLite,
//! rendering or any file format.

/// One recorded position. Latitude and longitude are WGS84 degrees and are
/// always finite and in range once a parser has accepted the point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
    /// Elevation in metres, when the file gives a usable one.
    pub ele: Option<f64>,
    /// Unix time in milliseconds (UTC), when the file gives one.
    pub time: Option<i64>,
}

impl Point {
    pub fn new(lat: f64, lon: f64) -> Point {
        Point {
            lat,
            lon,
            ele: None,
            time: None,
        }
    }

    /// Whether a coordinate pair can be stored: finite, in range, and not the
    /// (0, 0) "null island" that devices write when they have no fix.
    pub fn is_valid_position(lat: f64, lon: f64) -> bool {
        lat.is_finite()
            && lon.is_finite()
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon)
            && !(lat == 0.0 && lon == 0.0)
    }
}

/// Whether the geometry was recorded (a track) or planned (a route/course).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivityKind {
    #[default]
    Track,
    Route,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Track => "track",
            ActivityKind::Route => "route",
        }
    }
}

/// One activity read from a file: a GPX `<trk>`, a TCX `<Activity>`, a FIT
/// activity. Segment breaks are kept: no line is ever drawn between the last
/// point of one segment and the first point of the next.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedActivity {
    /// Non-empty segments only; parsers drop empty ones.
    pub segments: Vec<Vec<Point>>,
    pub kind: ActivityKind,
    /// Sport as the file names it, lower-cased (e.g. "cycling", "running",
    /// "biking"); the importer normalizes it.
    pub sport: Option<String>,
    pub title: Option<String>,
    /// Start time (unix ms) when the file states one separately from the
    /// points (FIT session/activity start, TCX lap StartTime, GPX metadata
    /// time); otherwise the importer uses the first point's time.
    pub start_time: Option<i64>,
}

impl ParsedActivity {
    pub fn num_points(&self) -> usize {
        self.segments.iter().map(Vec::len).sum()
    }

    pub fn points(&self) -> impl Iterator<Item = &Point> {
        self.segments.iter().flatten()
    }
}
