//! One Strava activity into the store: details, streams, the importer, and
//! the note of which stored activity it became. Shared by webhook `create`
//! events and the backfill, so both treat an activity the same way.

use super::super::db;
use super::super::import::import_parsed;
use super::super::{Result, SyncError};
use super::Strava;
use super::convert::{self, Converted};
use crate::store::Store;

pub(crate) const SERVICE: &str = "strava";

/// What became of one Strava activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Imported(i64),
    /// The same track was stored already (from a file, say): it gets
    /// Strava's properties and is remembered as this activity.
    Duplicate(i64),
    /// Seen before (a repeated event, a resumed backfill).
    AlreadyKnown(String),
    Skipped(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Outcome::Imported(id) => write!(f, "imported as activity {id}"),
            Outcome::Duplicate(id) => write!(f, "already stored as activity {id}"),
            Outcome::AlreadyKnown(status) => write!(f, "seen before ({status})"),
            Outcome::Skipped(why) => write!(f, "skipped: {why}"),
        }
    }
}

/// Imports Strava activity `id` of `athlete` unless it was before.
pub(crate) fn import_activity(
    store: &mut Store,
    strava: &Strava,
    athlete: i64,
    token: &str,
    id: i64,
) -> Result<Outcome> {
    let key = id.to_string();
    if let Some(status) = known(store, id)? {
        return Ok(Outcome::AlreadyKnown(status));
    }
    let reply = strava.get(athlete, token, &format!("/api/v3/activities/{id}"), &[])?;
    if matches!(reply.status, 403 | 404) {
        // Gone before we got to it, or private without the scope for it.
        let why = format!("Strava answered HTTP {} for it", reply.status);
        db::set_external(store, SERVICE, &key, None, &format!("skipped: {why}"))?;
        return Ok(Outcome::Skipped(why));
    }
    if !reply.ok() {
        return Err(SyncError::Http {
            url: reply.url.clone(),
            message: format!("HTTP {}: {}", reply.status, reply.text()),
        });
    }
    let detail = reply.json()?;
    if detail["id"].as_i64() != Some(id) {
        return Err(super::oauth::malformed(
            &reply,
            "no activity id in the answer",
        ));
    }
    let streams = match convert::skip_reason(&detail) {
        Some(_) => None,
        None => streams(strava, athlete, token, id)?,
    };
    let parsed = match convert::to_parsed(&detail, streams.as_ref()) {
        Converted::Activity(a) => a,
        Converted::Skipped(why) => {
            db::set_external(store, SERVICE, &key, None, &format!("skipped: {why}"))?;
            return Ok(Outcome::Skipped(why));
        }
    };
    let source = format!("strava/{id}");
    let imported = import_parsed(store, &source, vec![parsed], strava.trim_m)?;
    let Some(stored) = imported.activity_id() else {
        let why = imported
            .failed
            .unwrap_or_else(|| "no points left after import".into());
        db::set_external(store, SERVICE, &key, None, &format!("skipped: {why}"))?;
        return Ok(Outcome::Skipped(why));
    };
    db::update_activity(store, stored, None, None, &convert::properties(&detail))?;
    let (outcome, status) = if imported.added.is_empty() {
        (Outcome::Duplicate(stored), "duplicate")
    } else {
        (Outcome::Imported(stored), "imported")
    };
    db::set_external(store, SERVICE, &key, Some(stored), status)?;
    Ok(outcome)
}

/// What became of an activity seen before ("imported", "skipped: ..."),
/// unless it was deleted since (a re-created one is new again).
pub fn known(store: &mut Store, id: i64) -> Result<Option<String>> {
    Ok(db::external(store, SERVICE, &id.to_string())?
        .map(|(_, status)| status)
        .filter(|s| s != "deleted"))
}

/// The streams, or `None` when Strava has none for the activity (404).
fn streams(
    strava: &Strava,
    athlete: i64,
    token: &str,
    id: i64,
) -> Result<Option<serde_json::Value>> {
    let reply = strava.get(
        athlete,
        token,
        &format!("/api/v3/activities/{id}/streams"),
        &[
            ("keys", "latlng,time,altitude".to_string()),
            ("key_by_type", "true".to_string()),
        ],
    )?;
    if reply.status == 404 {
        return Ok(None);
    }
    if !reply.ok() {
        return Err(SyncError::Http {
            url: reply.url.clone(),
            message: format!("HTTP {}: {}", reply.status, reply.text()),
        });
    }
    let v = reply.json()?;
    // key_by_type=true gives an object; without it Strava sends a list of
    // {type, data}: accept both.
    Ok(Some(match v {
        serde_json::Value::Array(list) => serde_json::Value::Object(
            list.into_iter()
                .filter_map(|s| Some((s["type"].as_str()?.to_string(), s)))
                .collect(),
        ),
        other => other,
    }))
}
