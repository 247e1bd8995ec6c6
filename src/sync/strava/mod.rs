//! Strava: OAuth tokens ([`oauth`]), one activity from its streams
//! ([`convert`], [`fetch`]), webhook events ([`webhook`]) and the backfill
//! of the whole history ([`backfill`]).

pub mod backfill;
pub(crate) mod convert;
pub mod fetch;
pub mod oauth;
pub mod polyline;
pub mod webhook;

use super::http::{Api, Auth, Reply};
use super::{Result, SyncError};

/// The Strava API application (https://www.strava.com/settings/api).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StravaApp {
    pub client_id: String,
    pub client_secret: String,
}

impl StravaApp {
    /// From `STRAVA_CLIENT_ID` and `STRAVA_CLIENT_SECRET`, when both are set.
    pub fn from_env() -> Option<StravaApp> {
        let get = |k| {
            std::env::var(k)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        Some(StravaApp {
            client_id: get("STRAVA_CLIENT_ID")?,
            client_secret: get("STRAVA_CLIENT_SECRET")?,
        })
    }
}

/// What talking to Strava needs: the API (base URL, rate limits) and the
/// application's credentials (for token refresh and subscriptions).
pub struct Strava {
    pub api: Api,
    pub app: Option<StravaApp>,
    /// Metres cut off the start and end of every imported activity, as
    /// `import --trim` and uploads do (`fetch strava --trim`, `serve
    /// --trim` for webhook events).
    pub trim_m: Option<f64>,
}

impl Strava {
    pub fn new(base_url: &str, app: Option<StravaApp>) -> Strava {
        Strava {
            api: Api::new(base_url),
            app,
            trim_m: None,
        }
    }

    /// `HOTPOT_STRAVA_API_URL` (or strava.com) and the app from the environment.
    pub fn from_env() -> Strava {
        Strava::new(&super::strava_base_url(), StravaApp::from_env())
    }

    pub fn app(&self) -> Result<&StravaApp> {
        self.app.as_ref().ok_or(SyncError::MissingEnv(
            "STRAVA_CLIENT_ID or STRAVA_CLIENT_SECRET",
        ))
    }

    /// GET an API path for `athlete`, whose access token is `token`; a 401
    /// means the authorization was revoked.
    pub(crate) fn get(
        &self,
        athlete: i64,
        token: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Reply> {
        let reply = self.api.get(path, query, &Auth::Bearer(token))?;
        if reply.status == 401 {
            return Err(SyncError::StravaRevoked {
                athlete,
                message: format!("HTTP 401: {}", reply.text()),
            });
        }
        Ok(reply)
    }
}
