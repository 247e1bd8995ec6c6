//! Activities that arrive by themselves: Strava (OAuth, webhook events,
//! backfill) and intervals.icu (originals on demand).
//!
//! Everything here is blocking (ureq): the CLI calls it directly, the server
//! from its own worker thread or `spawn_blocking`. Activities are written
//! only through the importer ([`import`]), the same path as files and
//! uploads; this module adds the bookkeeping the services need (tokens, an
//! event queue, which stored activity a service's activity became) in its
//! own tables ([`db`]).

pub mod db;
pub mod http;
pub mod import;
pub mod intervals;
pub mod status;
pub mod strava;

use crate::store::StoreError;

/// Where the services live; tests point these at local fakes.
pub(crate) const STRAVA_URL_ENV: &str = "HOTPOT_STRAVA_API_URL";
pub(crate) const INTERVALS_URL_ENV: &str = "HOTPOT_INTERVALS_API_URL";
const STRAVA_DEFAULT: &str = "https://www.strava.com";
const INTERVALS_DEFAULT: &str = "https://intervals.icu";

/// The Strava base URL: `HOTPOT_STRAVA_API_URL` or strava.com.
pub fn strava_base_url() -> String {
    env_url(STRAVA_URL_ENV, STRAVA_DEFAULT)
}

/// The intervals.icu base URL: `HOTPOT_INTERVALS_API_URL` or intervals.icu.
pub(crate) fn intervals_base_url() -> String {
    env_url(INTERVALS_URL_ENV, INTERVALS_DEFAULT)
}

fn env_url(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
        .trim_end_matches('/')
        .to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Import(#[from] crate::ingest::importer::ImportError),
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    /// The service answered, but not with what its documentation promises.
    #[error("{url}: unexpected answer: {message}")]
    Malformed { url: String, message: String },
    /// The token was refused (revoked in Strava's settings, or expired and
    /// not refreshable): only a new authorization helps.
    #[error(
        "Strava refused the authorization for athlete {athlete} ({message}): run `hotpot strava-auth` again"
    )]
    StravaRevoked { athlete: i64, message: String },
    #[error("not connected to Strava: run `hotpot strava-auth` first")]
    NoStravaAthlete,
    #[error("{0} is not set")]
    MissingEnv(&'static str),
    #[error("intervals.icu refused the API key (INTERVALS_ICU_API_KEY): {0}")]
    IntervalsAuth(String),
}

impl SyncError {
    /// Whether trying again later may succeed (network, 5xx, rate limits),
    /// as opposed to an answer that will not change by itself.
    pub(crate) fn is_transient(&self) -> bool {
        let sqlite = match self {
            SyncError::Http { .. } => return true,
            SyncError::Sqlite(e) => e,
            SyncError::Store(StoreError::Sqlite(e)) => e,
            SyncError::Import(crate::ingest::importer::ImportError::Store(StoreError::Sqlite(
                e,
            ))) => e,
            _ => return false,
        };
        // Another connection wrote between this one's read and its write
        // (WAL answers at once then, without waiting): the next try works.
        matches!(
            sqlite.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

/// What a fetch from a service did (`fetch strava`, `fetch intervals-icu`).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct FetchReport {
    pub listed: usize,
    pub imported: usize,
    /// Stored already (from a file, say) and now linked to the service.
    pub duplicates: usize,
    /// Handled by an earlier run: no download.
    pub already_known: usize,
    /// (service id, why) for activities without a usable track.
    pub skipped: Vec<(String, String)>,
    /// (service id, error) for activities that could not be read.
    pub failed: Vec<(String, String)>,
}

pub type Result<T, E = SyncError> = std::result::Result<T, E>;

/// Seconds since the epoch, the unit of Strava's times.
pub(crate) fn now_s() -> i64 {
    crate::store::now_ms() / 1000
}
