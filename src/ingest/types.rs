//! The parsed form of a GPS file, shared by every format parser and by the
//! demo writers. Parsers produce these; the importer turns them into stored
//! activities. Nothing here knows about SQLite or rendering.

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

/// What a parser got out of one file. A damaged file that still yielded
/// points comes back as `Ok` with `warnings` saying what was wrong.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// Activities with at least one point, in file order.
    pub activities: Vec<ParsedActivity>,
    /// Problems that did not stop the parse ("truncated after 812 points",
    /// "2 points with invalid coordinates skipped", "bad file CRC").
    pub warnings: Vec<String>,
}

/// Why a file gave no activity at all. The message is one line, shown to the
/// user next to the file's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not a format we read (JPEG, ZIP, bzip2, HTML, ...).
    #[error("unsupported file: {0}")]
    Unsupported(String),
    /// The file is of a known format but too damaged to yield any point.
    #[error("malformed {format}: {message}")]
    Malformed {
        format: &'static str,
        message: String,
    },
    /// The file is well-formed but holds no usable position
    /// (waypoints only, indoor workout, settings file, empty track).
    #[error("no track points: {0}")]
    NoPoints(String),
}
