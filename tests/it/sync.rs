//! Strava and intervals.icu against local fakes (sync_fake.rs): OAuth and
//! token refresh, a revoked token, rate limits, 5xx, malformed JSON,
//! activities without GPS, webhook events (twice, of strangers, updates,
//! deletes, across a restart), the backfill and the intervals.icu fetch.

use crate::support::TempDir;
use crate::support::server::{Served, serve_hotpot, serve_router};
use crate::sync_fake::{self, ATHLETE, CLIENT_ID, CLIENT_SECRET, Fake, Fault, INTERVALS_KEY};
use hotpot::render::cpu::CpuRenderer;
use hotpot::serve::ServeOptions;
use hotpot::serve::sync_routes::SyncOptions;
use hotpot::store::Store;
use hotpot::sync::db::{self, Tokens};
use hotpot::sync::strava::{Strava, StravaApp, backfill};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RIDE_A: &str = "gpx/commons-dost__1651066759000.gpx";
const RIDE_B: &str = "gpx/geo-activity-playground__2025-08-31 09_57_05.835 Zwin und Nieuwvliet.gpx";
const RIDE_C: &str = "gpx/georust-gpx__garmin-activity.gpx";
const SECRET: &str = "hook-secret";

fn app_creds() -> StravaApp {
    StravaApp {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
    }
}

fn fake() -> (Arc<Fake>, Served) {
    let fake = Arc::new(Fake::default());
    let served = serve_router(sync_fake::router(fake.clone()), 2);
    (fake, served)
}

/// Stores tokens for `ATHLETE` that expired an hour ago, so the first use
/// must refresh them.
fn connect_expired(db: &Path, fake: &Fake) {
    let (access, refresh) = fake.issue_tokens(ATHLETE);
    let mut store = Store::open(db).unwrap();
    db::save_tokens(
        &mut store,
        &Tokens {
            athlete_id: ATHLETE,
            access_token: access,
            refresh_token: refresh,
            expires_at: now_s() - 3600,
            scope: Some("read,activity:read_all".into()),
        },
    )
    .unwrap();
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn hotpot_server(db: &Path, sync_url: &str, token: Option<&str>) -> Served {
    let opts = ServeOptions {
        db: db.to_owned(),
        cache_mb: 8,
        uploads: true,
        upload_token: token.map(str::to_string),
        max_upload_mb: 8,
        empty_204: false,
        upload_trim_m: None,
        tiles: None,
        sync: SyncOptions {
            strava: Some(app_creds()),
            strava_url: sync_url.into(),
            webhook_secret: Some(SECRET.into()),
            intervals_url: sync_url.into(),
            intervals_key: Some(INTERVALS_KEY.into()),
            fetch: true,
            trim_m: None,
        },
        ..Default::default()
    };
    serve_hotpot(&opts, Box::new(CpuRenderer::new()), None).0
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn post_event(base: &str, event: Value) -> u16 {
    agent()
        .post(&format!("{base}/strava/webhook"))
        .content_type("application/json")
        .send(event.to_string().as_bytes())
        .unwrap()
        .status()
        .as_u16()
}

fn event(aspect: &str, object: &str, id: i64, owner: i64, t: i64, updates: Value) -> Value {
    json!({"aspect_type": aspect, "event_time": t, "object_id": id, "object_type": object,
           "owner_id": owner, "subscription_id": 777, "updates": updates})
}

/// Polls until `f` gives something (the event thread works in the background).
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// (state, result) of every queued event, oldest first.
fn events(db: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT state, COALESCE(result, '') FROM strava_events ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn all_processed(db: &Path, n: usize) -> Option<Vec<(String, String)>> {
    let e = events(db);
    (e.len() == n && e.iter().all(|(s, _)| s != "queued")).then_some(e)
}

fn props_of(db: &Path, id: i64) -> Value {
    Store::open(db).unwrap().properties(id).unwrap().unwrap()
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn webhook_imports_updates_deletes_and_ignores_strangers() {
    let dir = TempDir::new("sync-webhook");
    let db = dir.path().join("h.sqlite3");
    let (fake, strava) = fake();
    let (detail, streams) = sync_fake::strava_activity(1001, RIDE_A, "Ride", "Morning Ride");
    fake.add_activity(detail, Some(streams));
    fake.add_activity(
        sync_fake::indoor_activity(1002, "Yoga", 1_700_000_000, false),
        None,
    );
    connect_expired(&db, &fake);
    let server = hotpot_server(&db, &strava.base, None);

    // The same create twice (Strava retries), one for a stranger, one
    // without GPS.
    let t = now_s();
    assert_eq!(
        post_event(
            &server.base,
            event("create", "activity", 1001, ATHLETE, t, json!({}))
        ),
        200
    );
    assert_eq!(
        post_event(
            &server.base,
            event("create", "activity", 1001, ATHLETE, t, json!({}))
        ),
        200
    );
    assert_eq!(
        post_event(
            &server.base,
            event("create", "activity", 5555, 999, t, json!({}))
        ),
        200
    );
    assert_eq!(
        post_event(
            &server.base,
            event("create", "activity", 1002, ATHLETE, t, json!({}))
        ),
        200
    );
    let done = wait_for("events", || all_processed(&db, 3));
    assert!(done[0].1.contains("imported as activity"), "{done:?}");
    assert_eq!(done[1].0, "ignored");
    assert!(done[1].1.contains("unknown athlete 999"), "{done:?}");
    assert!(done[2].1.contains("skipped: no GPS"), "{done:?}");
    // The expired token was refreshed once, before the first request.
    assert_eq!(fake.requests("/oauth/token").len(), 1);
    assert_eq!(fake.requests("/api/v3/activities/5555").len(), 0);

    let rows = Store::open(&db).unwrap().activities().unwrap();
    assert_eq!(rows.len(), 1);
    let id = rows[0].id;
    assert_eq!(rows[0].sport.as_deref(), Some("cycling"));
    assert_eq!(rows[0].source, "strava/1001");
    // Full resolution: every point of the real file.
    let file = std::fs::read(crate::support::corpus_dir().join(RIDE_A)).unwrap();
    let parsed = hotpot::ingest::parse_bytes(RIDE_A, &file).unwrap();
    let from_file = hotpot::ingest::activity::prepare(&parsed.activities[0], RIDE_A);
    assert_eq!(rows[0].num_points, from_file.num_points);
    let p = props_of(&db, id);
    assert_eq!(p["Activity Name"], "Morning Ride");
    assert_eq!(p["Activity Gear"], "Bianchi");
    assert_eq!(p["Commute"], true);
    assert_eq!(p["Distance"], 12.35);
    assert_eq!(p["Activity Type"], "Ride");

    // Update: title, type and privacy, as Strava sends them (strings).
    post_event(
        &server.base,
        event(
            "update",
            "activity",
            1001,
            ATHLETE,
            t + 1,
            json!({"title": "Renamed", "type": "Run", "private": "true"}),
        ),
    );
    let done = wait_for("update", || all_processed(&db, 4));
    assert!(done[3].1.contains("updated"), "{done:?}");
    let row = Store::open(&db).unwrap().activities().unwrap().remove(0);
    assert_eq!(
        (row.title.as_deref(), row.sport.as_deref()),
        (Some("Renamed"), Some("running"))
    );
    let p = props_of(&db, id);
    assert_eq!(
        (p["private"].clone(), p["Activity Name"].clone()),
        (json!(true), json!("Renamed"))
    );
    // A filter on the new sport finds it, as for a file with a CSV join.
    let f = hotpot::filter::Filter::parse("sport = \"running\" && \"Activity Gear\" = \"Bianchi\"")
        .unwrap();
    assert_eq!(Store::open(&db).unwrap().list(Some(&f)).unwrap().len(), 1);

    // Delete, then the athlete deauthorizes: tokens go.
    post_event(
        &server.base,
        event("delete", "activity", 1001, ATHLETE, t + 2, json!({})),
    );
    post_event(
        &server.base,
        event(
            "update",
            "athlete",
            ATHLETE,
            ATHLETE,
            t + 3,
            json!({"authorized": "false"}),
        ),
    );
    let done = wait_for("delete", || all_processed(&db, 6));
    assert!(done[4].1.contains("deleted"), "{done:?}");
    assert!(done[5].1.contains("deauthorized"), "{done:?}");
    let mut store = Store::open(&db).unwrap();
    assert!(store.activities().unwrap().is_empty());
    assert!(db::athletes(&mut store).unwrap().is_empty());

    // Malformed deliveries are a 400, not a crash.
    let res = agent()
        .post(&format!("{}/strava/webhook", server.base))
        .content_type("application/json")
        .send("{\"aspect_type\": ")
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[test]
fn subscription_check_and_foreign_subscriptions() {
    let dir = TempDir::new("sync-subscribe");
    let db = dir.path().join("h.sqlite3");
    let (fake, strava) = fake();
    connect_expired(&db, &fake);
    let server = hotpot_server(&db, &strava.base, None);
    let check = |token: &str| {
        let mut res = agent()
            .get(&format!("{}/strava/webhook", server.base))
            .query("hub.mode", "subscribe")
            .query("hub.verify_token", token)
            .query("hub.challenge", "abc123")
            .call()
            .unwrap();
        (
            res.status().as_u16(),
            res.body_mut().read_to_string().unwrap(),
        )
    };
    let (status, body) = check(SECRET);
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"hub.challenge": "abc123"})
    );
    assert_eq!(check("guessed").0, 403);

    // strava-subscribe: the fake calls the server back before answering.
    let mut store = Store::open(&db).unwrap();
    let s = Strava::new(&strava.base, Some(app_creds()));
    let url = format!("{}/strava/webhook", server.base);
    assert_eq!(
        hotpot::sync::strava::webhook::subscribe(&mut store, &s, &url, SECRET).unwrap(),
        777
    );
    assert!(hotpot::sync::strava::webhook::subscribe(&mut store, &s, &url, "wrong").is_err());

    let mut e = event("delete", "activity", 1, ATHLETE, now_s(), json!({}));
    e["subscription_id"] = json!(12);
    post_event(&server.base, e);
    let done = wait_for("event", || all_processed(&db, 1));
    assert_eq!(done[0].0, "ignored");
    assert!(done[0].1.contains("unknown subscription"), "{done:?}");
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn revoked_access_says_to_authorize_again() {
    let dir = TempDir::new("sync-revoked");
    let db = dir.path().join("h.sqlite3");
    let (fake, strava) = fake();
    let (detail, streams) = sync_fake::strava_activity(2001, RIDE_B, "Ride", "Zwin");
    fake.add_activity(detail, Some(streams));
    connect_expired(&db, &fake);
    fake.revoke_all();
    let server = hotpot_server(&db, &strava.base, None);
    post_event(
        &server.base,
        event("create", "activity", 2001, ATHLETE, now_s(), json!({})),
    );
    let done = wait_for("event", || all_processed(&db, 1));
    assert_eq!(done[0].0, "failed");
    assert!(
        done[0].1.contains("run `hotpot strava-auth` again"),
        "{done:?}"
    );
    // The dashboard shows it.
    let mut res = agent()
        .get(&format!("{}/api/dashboard", server.base))
        .call()
        .unwrap();
    let dash: Value = serde_json::from_slice(&res.body_mut().read_to_vec().unwrap()).unwrap();
    assert!(
        dash["sync"]["strava"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("strava-auth")
    );
    assert_eq!(dash["sync"]["strava"]["events"]["failed"], 1);

    // A valid-looking token that Strava refuses (401) says the same.
    let mut store = Store::open(&db).unwrap();
    db::save_tokens(
        &mut store,
        &Tokens {
            athlete_id: ATHLETE,
            access_token: "revoked".into(),
            refresh_token: "revoked".into(),
            expires_at: now_s() + 20_000,
            scope: None,
        },
    )
    .unwrap();
    let s = Strava::new(&strava.base, Some(app_creds()));
    let err =
        backfill::backfill(&mut store, &s, None, &indicatif::ProgressBar::hidden()).unwrap_err();
    assert!(err.to_string().contains("hotpot strava-auth"), "{err}");
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn events_queued_before_a_restart_are_processed_after_it() {
    let dir = TempDir::new("sync-restart");
    let db = dir.path().join("h.sqlite3");
    let (fake, strava) = fake();
    let (detail, streams) = sync_fake::strava_activity(3001, RIDE_C, "Ride", "Garmin");
    fake.add_activity(detail, Some(streams));
    connect_expired(&db, &fake);
    {
        // Strava unreachable (nothing listens there): the event stays queued.
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_url = format!("http://{}", dead.local_addr().unwrap());
        drop(dead);
        let first = hotpot_server(&db, &dead_url, None);
        assert_eq!(
            post_event(
                &first.base,
                event("create", "activity", 3001, ATHLETE, now_s(), json!({}))
            ),
            200
        );
        assert_eq!(events(&db)[0].0, "queued");
        first.rt.shutdown_background();
    }
    assert!(Store::open(&db).unwrap().activities().unwrap().is_empty());
    let _second = hotpot_server(&db, &strava.base, None);
    let done = wait_for("queued event", || {
        let e = events(&db);
        (e[0].0 == "done").then_some(e)
    });
    assert!(done[0].1.contains("imported"), "{done:?}");
    assert_eq!(Store::open(&db).unwrap().activities().unwrap().len(), 1);
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn backfill_waits_out_rate_limits_retries_and_resumes() {
    let dir = TempDir::new("sync-backfill");
    let db = dir.path().join("h.sqlite3");
    let (fake, strava) = fake();
    for (id, file, name) in [(11, RIDE_A, "A"), (12, RIDE_B, "B"), (13, RIDE_C, "C")] {
        let (d, s) = sync_fake::strava_activity(id, file, "Ride", name);
        fake.add_activity(d, Some(s));
    }
    fake.add_activity(
        sync_fake::indoor_activity(14, "VirtualRide", 1_760_000_000, false),
        None,
    );
    fake.add_activity(
        sync_fake::indoor_activity(15, "Ride", 1_760_100_000, true),
        None,
    );
    connect_expired(&db, &fake);
    let mut store = Store::open(&db).unwrap();
    let notices = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = notices.clone();
    let mut s = Strava::new(&strava.base, Some(app_creds()));
    s.api = hotpot::sync::http::Api::new(&strava.base)
        .with_wait_notice(Box::new(move |m| seen.lock().unwrap().push(m.to_string())));

    // Interrupted: the third activity's details fail on every try.
    fake.fault("/api/v3/athlete/activities", Fault::RateLimited);
    fake.fault("/api/v3/activities/11", Fault::ServerError);
    for _ in 0..4 {
        fake.fault("/api/v3/activities/13", Fault::ServerError);
    }
    let bar = indicatif::ProgressBar::hidden();
    let ids = {
        let mut acts = fake.activities.lock().unwrap().clone();
        acts.sort_by_key(|a| a["start_date"].as_str().unwrap().to_string());
        acts.iter()
            .map(|a| a["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(&ids[..3], &[13, 11, 12], "the corpus rides' order");
    let err = backfill::backfill(&mut store, &s, None, &bar).unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    assert!(
        store.activities().unwrap().is_empty(),
        "the first in order failed"
    );
    let waited = notices.lock().unwrap().clone();
    assert_eq!(waited.len(), 1, "{waited:?}");
    assert!(
        waited[0].contains("waiting until") && waited[0].contains("201/200"),
        "{waited:?}"
    );

    // Resumed: 13 goes through now; 11 gets a 503 once and is retried.
    let r = backfill::backfill(&mut store, &s, None, &bar).unwrap();
    assert_eq!(
        (r.imported, r.duplicates, r.failed.len()),
        (3, 0, 0),
        "{r:?}"
    );
    let skipped: Vec<&str> = r.skipped.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(
        skipped[0].contains("virtual") && skipped[1].contains("trainer"),
        "{skipped:?}"
    );
    assert_eq!(store.activities().unwrap().len(), 3);
    // Skipped activities cost no detail request.
    assert!(fake.requests("/api/v3/activities/14").is_empty());

    // A third run lists from the cursor and fetches nothing again.
    let details_before = fake.requests("/api/v3/activities/").len();
    let r = backfill::backfill(&mut store, &s, None, &bar).unwrap();
    assert_eq!((r.imported, r.listed), (0, r.already_known), "{r:?}");
    assert!(r.listed <= 1, "resumes at the last start: {r:?}");
    assert_eq!(fake.requests("/api/v3/activities/").len(), details_before);
    let lists = fake.requests("/api/v3/athlete/activities");
    assert!(lists.last().unwrap().contains("after=17"), "{lists:?}");
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn malformed_json_fails_one_activity_not_the_backfill() {
    let dir = TempDir::new("sync-malformed");
    let db = dir.path().join("h.sqlite3");
    let (fake, strava) = fake();
    for (id, file) in [(21, RIDE_A), (22, RIDE_B)] {
        let (d, s) = sync_fake::strava_activity(id, file, "Ride", "x");
        fake.add_activity(d, Some(s));
    }
    connect_expired(&db, &fake);
    fake.fault("/api/v3/activities/21", Fault::Malformed);
    let mut store = Store::open(&db).unwrap();
    let s = Strava::new(&strava.base, Some(app_creds()));
    let r = backfill::backfill(&mut store, &s, None, &indicatif::ProgressBar::hidden()).unwrap();
    assert_eq!(r.imported, 1, "{r:?}");
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert!(r.failed[0].1.contains("not JSON"), "{r:?}");
    // A malformed token answer is an error too, never a panic.
    fake.fault("/oauth/token", Fault::Malformed);
    let mut t = db::tokens(&mut store, ATHLETE).unwrap().unwrap();
    t.expires_at = 0;
    db::save_tokens(&mut store, &t).unwrap();
    let err = hotpot::sync::strava::oauth::access_token(&mut store, &s, ATHLETE).unwrap_err();
    assert!(err.to_string().contains("not JSON"), "{err}");
}

#[test]
fn oauth_flow_stores_tokens() {
    let dir = TempDir::new("sync-oauth");
    let db = dir.path().join("h.sqlite3");
    let (_fake, strava) = fake();
    let server = hotpot_server(&db, &strava.base, None);
    let res = agent()
        .get(&format!("{}/strava/auth", server.base))
        .call()
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&format!("{}/oauth/authorize?", strava.base)),
        "{location}"
    );
    assert!(
        location.contains("client_id=4711") && location.contains("activity%3Aread_all"),
        "{location}"
    );
    assert!(location.contains("exchange_token"), "{location}");

    let exchange = |code: &str, scope: &str| {
        let mut res = agent()
            .get(&format!("{}/strava/auth/exchange_token", server.base))
            .query("code", code)
            .query("scope", scope)
            .call()
            .unwrap();
        (
            res.status().as_u16(),
            res.body_mut().read_to_string().unwrap(),
        )
    };
    let (status, body) = exchange("good-code", "read");
    assert_eq!(status, 400);
    assert!(body.contains("activity:read_all"), "{body}");
    let (status, body) = exchange("bad-code", "read,activity:read_all");
    assert_eq!(status, 502, "{body}");
    let (status, body) = exchange("good-code", "read,activity:read_all");
    assert_eq!(status, 200, "{body}");
    let mut store = Store::open(&db).unwrap();
    assert_eq!(db::athletes(&mut store).unwrap(), vec![ATHLETE]);
    let t = db::tokens(&mut store, ATHLETE).unwrap().unwrap();
    assert!(t.expires_at > now_s() + 3600);
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn corpus(file: &str) -> Vec<u8> {
    std::fs::read(crate::support::corpus_dir().join(file)).unwrap()
}

fn intervals_fixture(fake: &Fake) {
    let mut acts = fake.intervals.lock().unwrap();
    acts.push((
        json!({"id": "i101", "name": "Trek", "type": "Hike", "file_type": "gpx"}),
        Some(gz(&corpus("gpx/gpx-cli__short_trek.gpx"))),
    ));
    acts.push((
        json!({"id": "i102", "name": "Run", "type": "Run", "file_type": "fit"}),
        Some(corpus("fit/gpsbabel__fit-sample.fit")),
    ));
    acts.push((json!({"id": "i103", "source": "STRAVA", "_note": "STRAVA activities are not available via the API"}), None));
    acts.push((
        json!({"id": "i104", "name": "Manual", "type": "Yoga"}),
        None,
    ));
    acts.push((
        json!({"id": "i105", "name": "Broken", "type": "Ride", "file_type": "fit"}),
        Some(b"PK\x03\x04 not a fit".to_vec()),
    ));
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn intervals_fetch_over_http_with_the_upload_token() {
    let dir = TempDir::new("sync-intervals");
    let db = dir.path().join("h.sqlite3");
    let (fake, iv) = fake();
    intervals_fixture(&fake);
    let server = hotpot_server(&db, &iv.base, Some("tok"));
    let post = |token: Option<&str>, q: &str| {
        let mut req = agent().post(&format!("{}/fetch/intervals-icu{q}", server.base));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let mut res = req.send_empty().unwrap();
        (
            res.status().as_u16(),
            res.body_mut().read_to_string().unwrap(),
        )
    };
    assert_eq!(post(None, "").0, 401);
    assert_eq!(post(Some("tok"), "?lookback=soon").0, 400);
    let (status, body) = post(Some("tok"), "?lookback=30");
    assert_eq!(status, 200, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["imported"], 2, "{r}");
    let skipped = r["skipped"].to_string();
    assert!(
        skipped.contains("Strava")
            && skipped.contains("no original file")
            && skipped.contains("ZIP"),
        "{skipped}"
    );
    let lists = fake.requests("/api/v1/athlete/0/activities");
    assert!(
        lists[0].contains("oldest=") && lists[0].contains("newest="),
        "{lists:?}"
    );
    let rows = Store::open(&db).unwrap().activities().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r.source == "intervals.icu/i101"));

    // Again: nothing is downloaded twice.
    let files = fake.requests("/api/v1/activity/").len();
    let (_, body) = post(Some("tok"), "");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (r["imported"].clone(), r["already_known"].clone()),
        (json!(0), json!(5)),
        "{r}"
    );
    assert_eq!(fake.requests("/api/v1/activity/").len(), files);
}

fn hotpot_bin(db: &Path, envs: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotpot"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("INTERVALS_ICU_API_KEY")
        .env_remove("STRAVA_CLIENT_ID")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn cli_fetches_read_the_environment() {
    let dir = TempDir::new("sync-cli");
    let db: PathBuf = dir.path().join("h.sqlite3");
    let (fake, base) = fake();
    intervals_fixture(&fake);
    let (d, s) = sync_fake::strava_activity(31, RIDE_C, "Ride", "C");
    fake.add_activity(d, Some(s));
    let (code, _, err) = hotpot_bin(&db, &[], &["fetch", "intervals-icu", "--lookback", "7"]);
    assert_eq!(code, 2);
    assert!(err.contains("INTERVALS_ICU_API_KEY is not set"), "{err}");
    let env = [
        ("HOTPOT_INTERVALS_API_URL", base.base.as_str()),
        ("HOTPOT_STRAVA_API_URL", base.base.as_str()),
        ("INTERVALS_ICU_API_KEY", INTERVALS_KEY),
        ("STRAVA_CLIENT_ID", CLIENT_ID),
        ("STRAVA_CLIENT_SECRET", CLIENT_SECRET),
    ];
    let (code, out, err) = hotpot_bin(&db, &env, &["fetch", "intervals-icu", "--lookback", "7"]);
    // One file is broken: a soft failure would be 1; it is a skip with its reason.
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 imported"), "{out}");
    assert!(
        err.contains("skipped: intervals.icu i105: unsupported file: ZIP"),
        "{err}"
    );
    assert!(fake.requests("/api/v1/athlete/0/activities")[0].contains("oldest="));

    let (code, _, err) = hotpot_bin(&db, &env, &["fetch", "strava"]);
    assert_eq!(code, 2);
    assert!(err.contains("hotpot strava-auth"), "{err}");
    connect_expired(&db, &fake);
    let (code, out, err) = hotpot_bin(&db, &env, &["fetch", "strava", "--after", "2000-01-01"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 imported"), "{out}");
    assert!(fake.requests("/api/v3/athlete/activities")[0].contains("after=946684800"));
}

/// `hotpot strava-auth` serves the callback until Strava redirects back,
/// stores the tokens and exits.
#[test]
fn strava_auth_command_waits_for_the_redirect() {
    let dir = TempDir::new("sync-auth-cli");
    let db = dir.path().join("h.sqlite3");
    let (_fake, strava) = fake();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_hotpot"))
        .arg("--db")
        .arg(&db)
        .args(["strava-auth", "--port", &port.to_string()])
        .env("HOTPOT_STRAVA_API_URL", &strava.base)
        .env("STRAVA_CLIENT_ID", CLIENT_ID)
        .env("STRAVA_CLIENT_SECRET", CLIENT_SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let res = wait_for("the callback server", || {
        agent().get(&format!("{base}/strava/auth")).call().ok()
    });
    assert_eq!(res.status(), 303);
    drop(res);
    let res = agent()
        .get(&format!("{base}/strava/auth/exchange_token"))
        .query("code", sync_fake::GOOD_CODE)
        .query("scope", "read,activity:read_all")
        .call()
        .unwrap();
    assert_eq!(res.status(), 200);
    drop(res);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("connected Strava athlete 42"), "{stdout}");
    let mut store = Store::open(&db).unwrap();
    assert_eq!(db::athletes(&mut store).unwrap(), vec![ATHLETE]);
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn fetched_activities_are_trimmed_like_uploads() {
    use hotpot::sync::intervals::{self, Intervals};
    let (fake, iv) = fake();
    intervals_fixture(&fake);
    let points = |trim_m: Option<f64>, name: &str| {
        let dir = TempDir::new(name);
        let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
        let mut client = Intervals::new(&iv.base, INTERVALS_KEY);
        client.trim_m = trim_m;
        let hidden = indicatif::ProgressBar::hidden();
        intervals::fetch(&mut store, &client, 30, &hidden).unwrap();
        hotpot::scene::Scene::load(&store, None, None)
            .unwrap()
            .num_points()
    };
    let (all, trimmed) = (points(None, "iv-whole"), points(Some(200.0), "iv-trim"));
    assert!(
        trimmed > 0 && trimmed < all,
        "200 m off each end: {trimmed} of {all} points"
    );
    // Strava's backfill (and webhook events, through the same import).
    let (d, streams) = sync_fake::strava_activity(11, RIDE_A, "Ride", "A");
    fake.add_activity(d, Some(streams));
    let points = |trim_m: Option<f64>, name: &str| {
        let dir = TempDir::new(name);
        let db = dir.path().join("h.sqlite3");
        connect_expired(&db, &fake);
        let mut store = Store::open(&db).unwrap();
        let mut s = Strava::new(&iv.base, Some(app_creds()));
        s.trim_m = trim_m;
        let hidden = indicatif::ProgressBar::hidden();
        backfill::backfill(&mut store, &s, None, &hidden).unwrap();
        hotpot::scene::Scene::load(&store, None, None)
            .unwrap()
            .num_points()
    };
    let (all, trimmed) = (points(None, "st-whole"), points(Some(200.0), "st-trim"));
    assert!(
        trimmed > 0 && trimmed < all,
        "Strava: {trimmed} of {all} points"
    );
}
