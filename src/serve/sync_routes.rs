//! HTTP routes for syncing: Strava's OAuth callback and webhook, the
//! intervals.icu fetch (`serve --fetch`), and the dashboard's data.
//!
//! The handlers only queue or hand work to blocking threads: Strava wants
//! its webhook answered within two seconds, and every request to a service
//! blocks (ureq). Events are processed by one thread per server
//! ([`crate::sync::strava::webhook::run_worker`]), woken per event.

use super::routes::HttpError;
use crate::store::Store;
use crate::sync::db::{self, Event};
use crate::sync::intervals::{self, Intervals};
use crate::sync::strava::{Strava, StravaApp, oauth, webhook};
use crate::sync::{SyncError, intervals_base_url, status, strava_base_url};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

/// What the sync routes need to know; [`SyncOptions::from_env`] reads
/// hotpot's environment variables.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub strava: Option<StravaApp>,
    pub strava_url: String,
    /// `STRAVA_WEBHOOK_SECRET`: the verify token of the subscription.
    pub webhook_secret: Option<String>,
    pub intervals_url: String,
    pub intervals_key: Option<String>,
    /// `serve --fetch`: offer `POST /fetch/intervals-icu`.
    pub fetch: bool,
    /// Metres cut off the start and end of every fetched activity (`serve
    /// --trim`, as for uploads).
    pub trim_m: Option<f64>,
}

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions {
            strava: None,
            strava_url: "https://www.strava.com".into(),
            webhook_secret: None,
            intervals_url: "https://intervals.icu".into(),
            intervals_key: None,
            fetch: false,
            trim_m: None,
        }
    }
}

impl SyncOptions {
    pub fn from_env(fetch: bool) -> SyncOptions {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        SyncOptions {
            strava: StravaApp::from_env(),
            strava_url: strava_base_url(),
            webhook_secret: var("STRAVA_WEBHOOK_SECRET"),
            intervals_url: intervals_base_url(),
            intervals_key: var(intervals::KEY_ENV),
            fetch,
            trim_m: None,
        }
    }
}

pub struct SyncState {
    db: PathBuf,
    opts: SyncOptions,
    strava: Arc<Strava>,
    /// Wakes the event thread; dropping it (with the router) ends the thread.
    wake: Mutex<mpsc::Sender<()>>,
    /// The athlete connected by the last OAuth exchange (`strava-auth`
    /// waits for it).
    pub connected: tokio::sync::watch::Sender<Option<i64>>,
    upload_token: Option<String>,
    /// One fetch at a time: a second would only download the same files.
    fetch_lock: tokio::sync::Mutex<()>,
}

impl SyncState {
    /// The state, and the event thread that empties the queue.
    pub fn new(db: &Path, opts: SyncOptions, upload_token: Option<String>) -> Arc<SyncState> {
        let strava = Arc::new(Strava {
            trim_m: opts.trim_m,
            ..Strava::new(&opts.strava_url, opts.strava.clone())
        });
        let (tx, rx) = mpsc::channel();
        let (thread_db, thread_strava) = (db.to_owned(), strava.clone());
        let spawned = std::thread::Builder::new()
            .name("strava-events".into())
            .spawn(move || webhook::run_worker(&thread_db, &thread_strava, rx));
        if let Err(e) = spawned {
            tracing::warn!("cannot start the Strava event thread: {e}");
        }
        Arc::new(SyncState {
            db: db.to_owned(),
            opts,
            strava,
            wake: Mutex::new(tx),
            connected: tokio::sync::watch::channel(None).0,
            upload_token,
            fetch_lock: tokio::sync::Mutex::new(()),
        })
    }
}

/// Every sync route.
pub fn router(state: Arc<SyncState>) -> Router {
    let mut r = auth_routes()
        .route("/strava/webhook", get(webhook_check).post(webhook_event))
        .route("/api/dashboard", get(dashboard));
    if state.opts.fetch {
        r = r.route("/fetch/intervals-icu", post(fetch_intervals));
    }
    r.with_state(state)
}

/// Only the OAuth routes (what `hotpot strava-auth` serves).
pub fn auth_router(state: Arc<SyncState>) -> Router {
    auth_routes().with_state(state)
}

fn auth_routes() -> Router<Arc<SyncState>> {
    Router::new()
        .route("/strava/auth", get(strava_auth))
        .route("/strava/auth/exchange_token", get(exchange_token))
}

fn internal(e: impl std::fmt::Display) -> HttpError {
    HttpError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// Runs blocking sync work with the store open.
async fn with_store<T: Send + 'static>(
    db: &Path,
    f: impl FnOnce(&mut Store) -> Result<T, SyncError> + Send + 'static,
) -> Result<Result<T, SyncError>, HttpError> {
    let db = db.to_owned();
    tokio::task::spawn_blocking(move || {
        Store::open(&db)
            .map_err(SyncError::from)
            .and_then(|mut s| f(&mut s))
    })
    .await
    .map_err(internal)
}

/// The address the browser used, for the OAuth redirect.
fn origin(headers: &HeaderMap) -> String {
    let h = |k| headers.get(k).and_then(|v| v.to_str().ok());
    let host = h("x-forwarded-host").or(h("host")).unwrap_or("localhost");
    let proto = h("x-forwarded-proto").unwrap_or("http");
    format!("{proto}://{host}")
}

/// `/strava/auth`: off to Strava's consent page.
async fn strava_auth(
    State(s): State<Arc<SyncState>>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let redirect = format!("{}/strava/auth/exchange_token", origin(&headers));
    let url = oauth::authorize_url(&s.strava, &redirect).map_err(|e| {
        HttpError(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Strava is not configured: {e}"),
        )
    })?;
    Ok(Redirect::to(&url).into_response())
}

/// `/strava/auth/exchange_token?code=...&scope=...`: Strava's redirect back.
async fn exchange_token(
    State(s): State<Arc<SyncState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    if let Some(err) = q.get("error") {
        return Err(HttpError(
            StatusCode::BAD_REQUEST,
            format!("Strava did not grant access ({err}); run `hotpot strava-auth` to try again"),
        ));
    }
    let code = q
        .get("code")
        .cloned()
        .ok_or_else(|| HttpError(StatusCode::BAD_REQUEST, "no ?code= from Strava".into()))?;
    let scope = q.get("scope").cloned().unwrap_or_default();
    if !scope.split(',').any(|s| s == "activity:read_all") {
        return Err(HttpError(
            StatusCode::BAD_REQUEST,
            format!(
                "access was granted with scope {scope:?}, without activity:read_all: authorize again and keep \"View data about your private activities\" ticked"
            ),
        ));
    }
    let strava = s.strava.clone();
    let athlete = with_store(&s.db, move |store| {
        oauth::exchange_code(store, &strava, &code, &scope)
    })
    .await?
    .map_err(|e| HttpError(StatusCode::BAD_GATEWAY, e.to_string()))?;
    s.connected.send_replace(Some(athlete));
    Ok(Html(format!(
        "<!doctype html><meta charset=utf-8><title>hotpot</title><p>Connected to Strava as athlete {athlete}. \
         You can close this page; <code>hotpot fetch strava</code> imports your history.</p>"
    ))
    .into_response())
}

/// `GET /strava/webhook`: Strava checking the callback of a new subscription.
async fn webhook_check(
    State(s): State<Arc<SyncState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    let Some(secret) = &s.opts.webhook_secret else {
        return Err(HttpError(
            StatusCode::SERVICE_UNAVAILABLE,
            "STRAVA_WEBHOOK_SECRET is not set".into(),
        ));
    };
    let q = |k: &str| q.get(k).map(String::as_str);
    match webhook::verify(
        q("hub.mode"),
        q("hub.verify_token"),
        q("hub.challenge"),
        secret,
    ) {
        Some(challenge) => {
            Ok(axum::Json(serde_json::json!({ "hub.challenge": challenge })).into_response())
        }
        None => Err(HttpError(
            StatusCode::FORBIDDEN,
            "wrong hub.mode or hub.verify_token".into(),
        )),
    }
}

/// `POST /strava/webhook`: an event, queued and answered at once.
async fn webhook_event(
    State(s): State<Arc<SyncState>>,
    body: Bytes,
) -> Result<Response, HttpError> {
    let event: Event = serde_json::from_slice(&body)
        .map_err(|e| HttpError(StatusCode::BAD_REQUEST, format!("not a Strava event: {e}")))?;
    let new = with_store(&s.db, move |store| db::enqueue(store, &event))
        .await?
        .map_err(internal)?;
    if new {
        let _ = s.wake.lock().unwrap_or_else(|p| p.into_inner()).send(());
    }
    Ok((
        StatusCode::OK,
        if new { "queued\n" } else { "already queued\n" },
    )
        .into_response())
}

/// `POST /fetch/intervals-icu?lookback=30`, with the upload token.
async fn fetch_intervals(
    State(s): State<Arc<SyncState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    if let Some(token) = &s.upload_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token.as_str()) {
            return Err(HttpError(
                StatusCode::UNAUTHORIZED,
                "fetching needs 'Authorization: Bearer <HOTPOT_UPLOAD_TOKEN>'".into(),
            ));
        }
    }
    let lookback: u32 = match q.get("lookback") {
        None => 30,
        Some(v) => v
            .parse()
            .ok()
            .filter(|&d| d > 0 && d <= 36_500)
            .ok_or_else(|| {
                HttpError(
                    StatusCode::BAD_REQUEST,
                    format!("lookback {v:?} is not a number of days (1..36500)"),
                )
            })?,
    };
    let Some(key) = s.opts.intervals_key.clone() else {
        return Err(HttpError(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{} is not set on the server", intervals::KEY_ENV),
        ));
    };
    let _one = s.fetch_lock.lock().await;
    let mut iv = Intervals::new(&s.opts.intervals_url, &key);
    iv.trim_m = s.opts.trim_m;
    let report = with_store(&s.db, move |store| {
        intervals::fetch(store, &iv, lookback, &indicatif::ProgressBar::hidden())
    })
    .await?
    .map_err(|e| HttpError(StatusCode::BAD_GATEWAY, e.to_string()))?;
    Ok(axum::Json(report).into_response())
}

/// `/api/dashboard`: statistics per sport and year, the latest
/// activities, and the sync status, in one request.
async fn dashboard(State(s): State<Arc<SyncState>>) -> Result<Response, HttpError> {
    let body = with_store(&s.db, |store| {
        let summary = store.summary()?;
        Ok(serde_json::json!({
            "activities": summary.activities,
            "distance_km": summary.distance_km,
            "per_sport": summary.per_sport,
            "per_year": db::per_year(store)?,
            "latest": db::latest_activities(store, 10)?,
            "sync": status::sync_status(store)?,
        }))
    })
    .await?
    .map_err(internal)?;
    Ok(axum::Json(body).into_response())
}
