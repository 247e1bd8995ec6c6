//! What a parser returns: the activities of one file, its warnings, or why
//! it gave none. The activity types themselves are the shared vocabulary in
//! `hotpot_model::activity`.

pub use hotpot_model::activity::{ActivityKind, ParsedActivity, Point};

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
