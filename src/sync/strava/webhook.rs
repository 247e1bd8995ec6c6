//! Strava's push subscription: the callback check, the event queue and the
//! worker that empties it.
//!
//! Strava wants a 200 within two seconds and retries up to three times
//! otherwise, so events are only queued (in the database, surviving a
//! restart) while answering, and processed by one background thread. The
//! queue's unique key makes a repeated delivery a no-op; processing is
//! idempotent as well (an activity is imported once, whatever the events).

use super::super::db::{self, Event};
use super::super::{Result, SyncError};
use super::fetch::{self, SERVICE};
use super::{Strava, oauth};
use crate::store::Store;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// A failing event is tried this often before it is given up as failed.
pub(crate) const MAX_ATTEMPTS: i64 = 5;
/// How long the worker sleeps when nothing wakes it (events queued by
/// another process, retries).
const IDLE: Duration = Duration::from_secs(30);
/// Pause before retrying after a transient failure, times the attempts.
const RETRY_PAUSE: Duration = Duration::from_secs(5);

/// The subscription check: `Some(challenge)` to echo when the mode is
/// `subscribe` and the token is ours.
pub fn verify(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    secret: &str,
) -> Option<String> {
    (mode == Some("subscribe") && token == Some(secret))
        .then(|| challenge.map(str::to_string))
        .flatten()
}

/// Creates the push subscription for `callback_url` (Strava calls it
/// back at once to check it) and remembers its id, so that events of any
/// other subscription are ignored.
pub fn subscribe(
    store: &mut Store,
    strava: &Strava,
    callback_url: &str,
    verify_token: &str,
) -> Result<i64> {
    let app = strava.app()?;
    let reply = strava.api.post_form(
        "/api/v3/push_subscriptions",
        &[
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("callback_url", callback_url),
            ("verify_token", verify_token),
        ],
        &super::super::http::Auth::None,
    )?;
    if !reply.ok() {
        return Err(SyncError::Http {
            url: reply.url.clone(),
            message: format!(
                "subscription refused (HTTP {}): {}",
                reply.status,
                reply.text()
            ),
        });
    }
    let id = reply.json()?["id"]
        .as_i64()
        .ok_or_else(|| oauth::malformed(&reply, "no id in the subscription answer"))?;
    db::set_state(store, "strava.subscription_id", &id.to_string())?;
    Ok(id)
}

/// What processing one event did: its final state and a line about it.
pub fn process(store: &mut Store, strava: &Strava, e: &Event) -> Result<(&'static str, String)> {
    if let Some(ours) = db::get_state(store, "strava.subscription_id")?
        && e.subscription_id.map(|s| s.to_string()) != Some(ours)
    {
        return Ok((
            "ignored",
            format!("unknown subscription {:?}", e.subscription_id),
        ));
    }
    if db::tokens(store, e.owner_id)?.is_none() {
        return Ok(("ignored", format!("unknown athlete {}", e.owner_id)));
    }
    let update = |k: &str| e.updates.get(k).and_then(Value::as_str);
    match (e.object_type.as_str(), e.aspect_type.as_str()) {
        ("athlete", "update") if update("authorized") == Some("false") => {
            db::delete_tokens(store, e.owner_id)?;
            Ok((
                "done",
                format!("athlete {} deauthorized: tokens removed", e.owner_id),
            ))
        }
        ("activity", "create") => {
            let token = oauth::access_token(store, strava, e.owner_id)?;
            let outcome = fetch::import_activity(store, strava, e.owner_id, &token, e.object_id)?;
            Ok(("done", outcome.to_string()))
        }
        ("activity", "update") => update_activity(store, e),
        ("activity", "delete") => delete_activity(store, e.object_id),
        _ => Ok((
            "ignored",
            format!("{} {} events are not used", e.object_type, e.aspect_type),
        )),
    }
}

fn stored_id(store: &mut Store, strava_id: i64) -> Result<Option<i64>> {
    Ok(db::external(store, SERVICE, &strava_id.to_string())?.and_then(|(id, _)| id))
}

/// `update` events carry `title`, `type` and `private` (as strings).
fn update_activity(store: &mut Store, e: &Event) -> Result<(&'static str, String)> {
    let Some(id) = stored_id(store, e.object_id)? else {
        return Ok((
            "ignored",
            format!("activity {} is not stored here", e.object_id),
        ));
    };
    let title = e.updates.get("title").and_then(Value::as_str);
    let kind = e.updates.get("type").and_then(Value::as_str);
    let mut props = serde_json::Map::new();
    if let Some(t) = title {
        props.insert("Activity Name".into(), json!(t));
    }
    if let Some(k) = kind {
        props.insert(
            "Activity Type".into(),
            json!(super::convert::display_type(k)),
        );
    }
    if let Some(p) = e.updates.get("private") {
        let private = p.as_bool().or_else(|| p.as_str().map(|s| s == "true"));
        props.insert("private".into(), json!(private));
    }
    let sport = kind.map(crate::ingest::activity::normalize_sport);
    if !db::update_activity(store, id, title, sport.as_deref(), &props)? {
        return Ok(("ignored", format!("activity {id} was deleted here")));
    }
    let changed: Vec<&str> = e.updates.keys().map(String::as_str).collect();
    Ok((
        "done",
        format!("activity {id} updated ({})", changed.join(", ")),
    ))
}

fn delete_activity(store: &mut Store, strava_id: i64) -> Result<(&'static str, String)> {
    let Some(id) = stored_id(store, strava_id)? else {
        return Ok((
            "ignored",
            format!("activity {strava_id} is not stored here"),
        ));
    };
    let n = store.delete(&[id])?;
    db::set_external(store, SERVICE, &strava_id.to_string(), None, "deleted")?;
    Ok(("done", format!("activity {id} deleted ({n} removed)")))
}

/// Processes queued events until the queue is empty; `Ok(true)` when one
/// is left to retry later.
pub(crate) fn drain(store: &mut Store, strava: &Strava) -> Result<bool> {
    while let Some(e) = db::next_queued(store)? {
        match process(store, strava, &e) {
            Ok((state, result)) => {
                tracing::info!(event = e.queue_id, state, "{result}");
                db::finish_event(store, e.queue_id, state, &result)?;
            }
            Err(err) if err.is_transient() => {
                let attempts = db::retry_event(store, e.queue_id, &err.to_string())?;
                record_error(store, &err)?;
                if attempts < MAX_ATTEMPTS {
                    tracing::warn!(event = e.queue_id, attempts, "will retry: {err}");
                    return Ok(true);
                }
                db::finish_event(store, e.queue_id, "failed", &err.to_string())?;
            }
            Err(err) => {
                tracing::warn!(event = e.queue_id, "event failed: {err}");
                record_error(store, &err)?;
                db::finish_event(store, e.queue_id, "failed", &err.to_string())?;
            }
        }
    }
    Ok(false)
}

/// Keeps the latest error for the dashboard's sync status.
pub(crate) fn record_error(store: &mut Store, err: &SyncError) -> Result<()> {
    let v =
        json!({"at": crate::timefmt::iso8601(crate::store::now_ms()), "message": err.to_string()});
    db::set_state(store, "strava.error", &v.to_string())
}

/// The server's event thread: drains the queue at start (events left from
/// before a restart), whenever `wake` says an event arrived, and every
/// [`IDLE`]. Ends when every sender of `wake` is gone.
pub(crate) fn run_worker(db_path: &Path, strava: &Strava, wake: mpsc::Receiver<()>) {
    let mut pause = Duration::ZERO;
    let mut attempts = 0u32;
    loop {
        match wake.recv_timeout(pause) {
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
            Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let retry = Store::open(db_path)
            .map_err(SyncError::from)
            .and_then(|mut store| drain(&mut store, strava));
        pause = match retry {
            Ok(false) => {
                attempts = 0;
                IDLE
            }
            Ok(true) => {
                attempts += 1;
                RETRY_PAUSE * attempts
            }
            Err(e) => {
                tracing::warn!("Strava event queue: {e}");
                IDLE
            }
        };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_our_token_is_echoed() {
        let v = |m, t, c| super::verify(m, t, c, "s3cret");
        assert_eq!(
            v(Some("subscribe"), Some("s3cret"), Some("abc")),
            Some("abc".into())
        );
        assert_eq!(v(Some("subscribe"), Some("guess"), Some("abc")), None);
        assert_eq!(v(Some("unsubscribe"), Some("s3cret"), Some("abc")), None);
        assert_eq!(v(Some("subscribe"), Some("s3cret"), None), None);
    }
}
