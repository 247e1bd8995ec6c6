//! The OAuth authorization-code flow and token refresh.
//!
//! Access tokens live six hours; Strava hands out a new one when the old
//! expires within the hour. Tokens are refreshed here before each use when
//! they expire within [`REFRESH_MARGIN_S`], so a long backfill never runs
//! into an expired token mid-way.

use super::super::db::{self, Tokens};
use super::super::http::{Auth, Reply};
use super::super::{Result, SyncError, now_s};
use super::Strava;
use crate::store::Store;
use serde_json::Value;

/// `activity:read_all` includes private activities (what a heatmap of
/// one's own riding wants); `read` is needed for the athlete.
pub(crate) const SCOPE: &str = "read,activity:read_all";
/// Refresh when the token expires within this many seconds.
pub(crate) const REFRESH_MARGIN_S: i64 = 600;

/// Where to send the user's browser to grant access.
pub(crate) fn authorize_url(strava: &Strava, redirect_uri: &str) -> Result<String> {
    let app = strava.app()?;
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("approval_prompt", "auto")
        .append_pair("scope", SCOPE)
        .finish();
    Ok(format!("{}/oauth/authorize?{q}", strava.api.base()))
}

/// Trades the code from the redirect for tokens and stores them; returns
/// the athlete's id.
pub(crate) fn exchange_code(
    store: &mut Store,
    strava: &Strava,
    code: &str,
    scope: &str,
) -> Result<i64> {
    let app = strava.app()?;
    let reply = strava.api.post_form(
        "/oauth/token",
        &[
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("code", code),
            ("grant_type", "authorization_code"),
        ],
        &Auth::None,
    )?;
    if !reply.ok() {
        return Err(SyncError::Http {
            url: reply.url.clone(),
            message: format!(
                "the code was refused (HTTP {}): {}",
                reply.status,
                reply.text()
            ),
        });
    }
    let v = reply.json()?;
    let athlete = v["athlete"]["id"]
        .as_i64()
        .ok_or_else(|| malformed(&reply, "no athlete.id in the token answer"))?;
    let tokens = parse_tokens(&reply, &v, athlete, Some(scope.to_string()))?;
    db::save_tokens(store, &tokens)?;
    Ok(athlete)
}

/// A valid access token for `athlete`, refreshed first when it is about to
/// expire. A refused refresh means the user revoked access.
pub fn access_token(store: &mut Store, strava: &Strava, athlete: i64) -> Result<String> {
    let Some(t) = db::tokens(store, athlete)? else {
        return Err(SyncError::NoStravaAthlete);
    };
    if t.expires_at - now_s() > REFRESH_MARGIN_S {
        return Ok(t.access_token);
    }
    let app = strava.app()?;
    let reply = strava.api.post_form(
        "/oauth/token",
        &[
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", &t.refresh_token),
        ],
        &Auth::None,
    )?;
    if matches!(reply.status, 400 | 401 | 403) {
        return Err(SyncError::StravaRevoked {
            athlete,
            message: format!(
                "token refresh refused, HTTP {}: {}",
                reply.status,
                reply.text()
            ),
        });
    }
    if !reply.ok() {
        return Err(SyncError::Http {
            url: reply.url.clone(),
            message: format!("token refresh: HTTP {}: {}", reply.status, reply.text()),
        });
    }
    let fresh = parse_tokens(&reply, &reply.json()?, athlete, t.scope)?;
    db::save_tokens(store, &fresh)?;
    tracing::info!(
        athlete,
        expires_at = fresh.expires_at,
        "Strava token refreshed"
    );
    Ok(fresh.access_token)
}

fn parse_tokens(reply: &Reply, v: &Value, athlete: i64, scope: Option<String>) -> Result<Tokens> {
    let s = |k: &str| {
        v[k].as_str()
            .map(str::to_string)
            .ok_or_else(|| malformed(reply, &format!("no {k} in the token answer")))
    };
    Ok(Tokens {
        athlete_id: athlete,
        access_token: s("access_token")?,
        refresh_token: s("refresh_token")?,
        expires_at: v["expires_at"]
            .as_i64()
            .ok_or_else(|| malformed(reply, "no expires_at in the token answer"))?,
        scope,
    })
}

pub(crate) fn malformed(reply: &Reply, message: &str) -> SyncError {
    SyncError::Malformed {
        url: reply.url.clone(),
        message: message.to_string(),
    }
}
