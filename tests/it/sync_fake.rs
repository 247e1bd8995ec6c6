//! Local fakes of Strava and intervals.icu for the sync tests: small axum
//! servers on 127.0.0.1 that answer as the documented APIs do (OAuth token
//! endpoint, activities, streams, the athlete's activity list, push
//! subscriptions; intervals.icu's list and original files), and misbehave
//! on request: a 429 with rate headers, a 503, malformed JSON.
//! Activities are real tracks from the corpus.

use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const ATHLETE: i64 = 42;
pub const CLIENT_ID: &str = "4711";
pub const CLIENT_SECRET: &str = "client-secret";
pub const GOOD_CODE: &str = "good-code";
pub const INTERVALS_KEY: &str = "iv-key";

/// What a request to a path starting with the given prefix gets, once.
#[derive(Clone, Debug)]
pub enum Fault {
    RateLimited,
    ServerError,
    Malformed,
}

#[derive(Default)]
pub struct Fake {
    /// Strava activities (DetailedActivity JSON), in start order.
    pub activities: Mutex<Vec<Value>>,
    pub streams: Mutex<HashMap<i64, Value>>,
    pub access: Mutex<HashMap<String, i64>>,
    pub refresh: Mutex<HashMap<String, i64>>,
    pub faults: Mutex<Vec<(String, Fault)>>,
    /// "GET /path?query" of every request, in order.
    pub log: Mutex<Vec<String>>,
    serial: AtomicU64,
    /// intervals.icu activities and their original files.
    pub intervals: Mutex<Vec<(Value, Option<Vec<u8>>)>>,
}

impl Fake {
    pub fn fault(&self, prefix: &str, f: Fault) {
        self.faults.lock().unwrap().push((prefix.to_string(), f));
    }

    /// Tokens as after an authorization `age_s` seconds ago (expired
    /// when older than six hours).
    pub fn issue_tokens(&self, athlete: i64) -> (String, String) {
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        let (a, r) = (format!("access-{n}"), format!("refresh-{n}"));
        self.access.lock().unwrap().insert(a.clone(), athlete);
        self.refresh.lock().unwrap().insert(r.clone(), athlete);
        (a, r)
    }

    /// The user revoked access in Strava's settings.
    pub fn revoke_all(&self) {
        self.access.lock().unwrap().clear();
        self.refresh.lock().unwrap().clear();
    }

    pub fn requests(&self, prefix: &str) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|l| l.split(' ').nth(1).is_some_and(|p| p.starts_with(prefix)))
            .cloned()
            .collect()
    }

    pub fn add_activity(&self, detail: Value, streams: Option<Value>) {
        let id = detail["id"].as_i64().unwrap();
        if let Some(s) = streams {
            self.streams.lock().unwrap().insert(id, s);
        }
        self.activities.lock().unwrap().push(detail);
    }
}

pub fn router(fake: Arc<Fake>) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/api/v3/activities/{id}", get(activity))
        .route("/api/v3/activities/{id}/streams", get(streams))
        .route("/api/v3/athlete/activities", get(list))
        .route("/api/v3/push_subscriptions", post(subscribe))
        .route("/api/v1/athlete/0/activities", get(iv_list))
        .route("/api/v1/activity/{id}/file", get(iv_file))
        .layer(middleware::from_fn_with_state(fake.clone(), log_and_fault))
        .with_state(fake)
}

const LIMIT: &str = "200,2000";

async fn log_and_fault(State(fake): State<Arc<Fake>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    fake.log
        .lock()
        .unwrap()
        .push(format!("{} {}", req.method(), req.uri()));
    let fault = {
        let mut faults = fake.faults.lock().unwrap();
        let i = faults
            .iter()
            .position(|(p, _)| path.starts_with(p.as_str()));
        i.map(|i| faults.remove(i).1)
    };
    let mut res = match fault {
        Some(Fault::RateLimited) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("X-RateLimit-Usage", "201,300"), ("Retry-After", "1")],
            Json(json!({"message": "Rate Limit Exceeded", "errors": [{"resource": "Application", "field": "rate limit", "code": "exceeded"}]})),
        )
            .into_response(),
        Some(Fault::ServerError) => (StatusCode::SERVICE_UNAVAILABLE, "upstream hiccup").into_response(),
        Some(Fault::Malformed) => (
            [("content-type", "application/json")],
            "{\"id\": 1, \"name\": \"Lunch",
        )
            .into_response(),
        None => next.run(req).await,
    };
    res.headers_mut()
        .insert("X-RateLimit-Limit", LIMIT.parse().unwrap());
    res.headers_mut()
        .entry("X-RateLimit-Usage")
        .or_insert("5,50".parse().unwrap());
    res
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn token(State(fake): State<Arc<Fake>>, Form(f): Form<HashMap<String, String>>) -> Response {
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return (StatusCode::UNAUTHORIZED, Json(json!({"message": "Bad Request", "errors": [{"resource": "Application", "field": "client_id", "code": "invalid"}]}))).into_response();
    }
    let athlete = match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") if f.get("code").map(String::as_str) == Some(GOOD_CODE) => ATHLETE,
        Some("refresh_token") => {
            let known = f
                .get("refresh_token")
                .and_then(|r| fake.refresh.lock().unwrap().remove(r));
            match known {
                Some(a) => a,
                None => return (StatusCode::BAD_REQUEST, Json(json!({"message": "Bad Request", "errors": [{"resource": "RefreshToken", "field": "refresh_token", "code": "invalid"}]}))).into_response(),
            }
        }
        _ => return (StatusCode::BAD_REQUEST, Json(json!({"message": "Bad Request", "errors": [{"resource": "AuthorizationCode", "field": "code", "code": "invalid"}]}))).into_response(),
    };
    let (access, refresh) = fake.issue_tokens(athlete);
    let mut body = json!({
        "token_type": "Bearer", "access_token": access, "refresh_token": refresh,
        "expires_at": now_s() + 21600, "expires_in": 21600,
    });
    if f.get("grant_type").map(String::as_str) == Some("authorization_code") {
        body["athlete"] = json!({"id": athlete, "username": "tester"});
    }
    Json(body).into_response()
}

/// The athlete of the Bearer token, if it is valid.
fn bearer(fake: &Fake, headers: &HeaderMap) -> Option<i64> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?;
    fake.access.lock().unwrap().get(token).copied()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "Authorization Error", "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}]})),
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"message": "Record Not Found", "errors": [{"resource": "Activity", "field": "id", "code": "invalid"}]}))).into_response()
}

async fn activity(
    State(fake): State<Arc<Fake>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    if bearer(&fake, &headers).is_none() {
        return unauthorized();
    }
    let acts = fake.activities.lock().unwrap();
    match acts.iter().find(|a| a["id"] == id) {
        Some(a) => Json(a.clone()).into_response(),
        None => not_found(),
    }
}

async fn streams(
    State(fake): State<Arc<Fake>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    if bearer(&fake, &headers).is_none() {
        return unauthorized();
    }
    match fake.streams.lock().unwrap().get(&id) {
        Some(s) => Json(s.clone()).into_response(),
        None => not_found(),
    }
}

/// Ascending by start when `after` is given, as Strava lists.
async fn list(
    State(fake): State<Arc<Fake>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if bearer(&fake, &headers).is_none() {
        return unauthorized();
    }
    let after: i64 = q.get("after").and_then(|v| v.parse().ok()).unwrap_or(0);
    let per_page: usize = q.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(30);
    let start = |a: &Value| {
        hotpot::ingest::time::parse_timestamp(a["start_date"].as_str().unwrap()).unwrap() / 1000
    };
    let mut acts: Vec<Value> = fake
        .activities
        .lock()
        .unwrap()
        .iter()
        .filter(|a| start(a) > after)
        .cloned()
        .collect();
    acts.sort_by_key(start);
    acts.truncate(per_page);
    // Summaries carry no streams, description or gear.
    for a in &mut acts {
        a.as_object_mut().unwrap().remove("description");
    }
    Json(Value::Array(acts)).into_response()
}

/// Strava checks the callback before it answers, as documented.
async fn subscribe(Form(f): Form<HashMap<String, String>>) -> Response {
    let (Some(url), Some(verify)) = (
        f.get("callback_url").cloned(),
        f.get("verify_token").cloned(),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "callback_url and verify_token needed",
        )
            .into_response();
    };
    let echoed = tokio::task::spawn_blocking(move || {
        let mut res = ureq::get(&url)
            .query("hub.mode", "subscribe")
            .query("hub.verify_token", &verify)
            .query("hub.challenge", "15f7d1a91c1f40f8a748fd134752feb3")
            .call()
            .ok()?;
        let v: Value = serde_json::from_slice(&res.body_mut().read_to_vec().ok()?).ok()?;
        Some(v["hub.challenge"] == "15f7d1a91c1f40f8a748fd134752feb3")
    })
    .await
    .unwrap();
    if echoed != Some(true) {
        return (StatusCode::BAD_REQUEST, Json(json!({"message": "Bad Request", "errors": [{"resource": "PushSubscription", "field": "callback url", "code": "GET to callback URL does not return 200"}]}))).into_response();
    }
    Json(json!({"id": 777})).into_response()
}

fn basic_ok(headers: &HeaderMap) -> bool {
    use base64::Engine;
    let want = base64::engine::general_purpose::STANDARD.encode(format!("API_KEY:{INTERVALS_KEY}"));
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Basic {want}"))
}

async fn iv_list(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    if !basic_ok(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"status": 401, "error": "Unauthorized"})),
        )
            .into_response();
    }
    let list: Vec<Value> = fake
        .intervals
        .lock()
        .unwrap()
        .iter()
        .map(|(a, _)| a.clone())
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn iv_file(
    State(fake): State<Arc<Fake>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !basic_ok(&headers) {
        return (StatusCode::UNAUTHORIZED, "").into_response();
    }
    let acts = fake.intervals.lock().unwrap();
    match acts.iter().find(|(a, _)| a["id"] == id.as_str()) {
        Some((_, Some(bytes))) => (
            [("content-type", "application/octet-stream")],
            bytes.clone(),
        )
            .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"status": 404, "error": "Not Found"})),
        )
            .into_response(),
    }
}

/// A Strava activity from a real track of the corpus: details and the
/// latlng/time/altitude streams.
pub fn strava_activity(id: i64, file: &str, sport: &str, name: &str) -> (Value, Value) {
    let path = crate::support::corpus_dir().join(file);
    let parsed = hotpot::ingest::parse_bytes(file, &std::fs::read(&path).unwrap()).unwrap();
    let points: Vec<_> = parsed.activities[0].points().copied().collect();
    let t0 = points.iter().find_map(|p| p.time).unwrap();
    let detail = json!({
        "id": id, "name": name, "sport_type": sport, "type": sport,
        "start_date": hotpot::timefmt::iso8601(t0),
        "distance": 12345.6, "moving_time": 2400, "elapsed_time": 2700,
        "total_elevation_gain": 120.0, "commute": id % 2 == 1, "trainer": false,
        "private": false, "visibility": "everyone", "average_speed": 5.1, "max_speed": 12.3,
        "gear": {"id": "b1", "name": "Bianchi"}, "description": "from the corpus",
        "map": {"id": format!("a{id}"), "summary_polyline": "", "polyline": ""},
    });
    let streams = json!({
        "latlng": {"data": points.iter().map(|p| json!([p.lat, p.lon])).collect::<Vec<_>>(), "series_type": "distance", "resolution": "high"},
        "time": {"data": points.iter().map(|p| json!((p.time.unwrap_or(t0) - t0) / 1000)).collect::<Vec<_>>()},
        "altitude": {"data": points.iter().map(|p| json!(p.ele)).collect::<Vec<_>>()},
    });
    (detail, streams)
}

/// An activity without GPS (a gym session) starting at `start_s`.
pub fn indoor_activity(id: i64, sport: &str, start_s: i64, trainer: bool) -> Value {
    json!({
        "id": id, "name": "Indoor", "sport_type": sport, "type": sport, "trainer": trainer,
        "start_date": hotpot::timefmt::iso8601(start_s * 1000), "distance": 0.0,
        "map": {"id": format!("a{id}"), "summary_polyline": ""}, "manual": !trainer,
    })
}
