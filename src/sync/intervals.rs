//! `hotpot fetch intervals-icu --lookback N`: the original files of the
//! last N days from intervals.icu, through the importer.
//!
//! intervals.icu keeps each upload's original (FIT, GPX, TCX, often
//! gzipped) and serves it at `/api/v1/activity/{id}/file`, with HTTP basic
//! auth as user `API_KEY` and the key as password. Activities it mirrors
//! from Strava come without a file (Strava's terms): those are skipped with
//! that reason, as Strava is better fetched directly.

use super::http::{Api, Auth};
use super::import::import_bytes;
use super::{FetchReport, Result, SyncError, db};
use crate::store::Store;
use indicatif::ProgressBar;
use serde_json::{Value, json};

pub(crate) const SERVICE: &str = "intervals.icu";
pub(crate) const KEY_ENV: &str = "INTERVALS_ICU_API_KEY";

pub struct Intervals {
    pub api: Api,
    key: String,
    /// Metres cut off the start and end of every imported activity.
    pub trim_m: Option<f64>,
}

impl Intervals {
    pub fn new(base_url: &str, key: &str) -> Intervals {
        Intervals {
            api: Api::new(base_url),
            key: key.to_string(),
            trim_m: None,
        }
    }

    /// `HOTPOT_INTERVALS_API_URL` (or intervals.icu) and `INTERVALS_ICU_API_KEY`.
    pub fn from_env() -> Result<Intervals> {
        let key = std::env::var(KEY_ENV)
            .ok()
            .filter(|k| !k.trim().is_empty())
            .ok_or(SyncError::MissingEnv(KEY_ENV))?;
        Ok(Intervals::new(&super::intervals_base_url(), key.trim()))
    }

    fn auth(&self) -> Auth<'_> {
        Auth::Basic {
            user: "API_KEY",
            password: &self.key,
        }
    }
}

/// Imports the activities of the last `lookback_days` days.
pub fn fetch(
    store: &mut Store,
    iv: &Intervals,
    lookback_days: u32,
    bar: &ProgressBar,
) -> Result<FetchReport> {
    let result = fetch_inner(store, iv, lookback_days, bar);
    let status = match &result {
        Ok(r) => json!({
            "at": crate::timefmt::iso8601(crate::store::now_ms()),
            "lookback_days": lookback_days,
            "imported": r.imported, "duplicates": r.duplicates,
            "skipped": r.skipped.len(), "failed": r.failed.len(),
        }),
        Err(e) => {
            json!({"at": crate::timefmt::iso8601(crate::store::now_ms()), "error": e.to_string()})
        }
    };
    let key = if result.is_ok() {
        "intervals.last_fetch"
    } else {
        "intervals.error"
    };
    db::set_state(store, key, &status.to_string())?;
    result
}

fn fetch_inner(
    store: &mut Store,
    iv: &Intervals,
    lookback_days: u32,
    bar: &ProgressBar,
) -> Result<FetchReport> {
    let now = crate::store::now_ms();
    let day = 86_400_000;
    let query = [
        (
            "oldest",
            crate::timefmt::date(now - lookback_days as i64 * day),
        ),
        // Tomorrow: "today" in the athlete's zone may be ahead of UTC.
        ("newest", crate::timefmt::date(now + day)),
    ];
    let reply = iv
        .api
        .get("/api/v1/athlete/0/activities", &query, &iv.auth())?;
    if matches!(reply.status, 401 | 403) {
        return Err(SyncError::IntervalsAuth(format!(
            "HTTP {}: {}",
            reply.status,
            reply.text()
        )));
    }
    if !reply.ok() {
        return Err(SyncError::Http {
            url: reply.url.clone(),
            message: format!("HTTP {}: {}", reply.status, reply.text()),
        });
    }
    let Value::Array(list) = reply.json()? else {
        return Err(SyncError::Malformed {
            url: reply.url.clone(),
            message: "the activity list is not a list".into(),
        });
    };
    let mut report = FetchReport {
        listed: list.len(),
        ..Default::default()
    };
    bar.set_length(list.len() as u64);
    for a in &list {
        let id = match &a["id"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => {
                report
                    .failed
                    .push(("?".into(), "an activity without id in the list".into()));
                continue;
            }
        };
        match one(store, iv, &id, a) {
            Ok(Some(Ok(true))) => report.imported += 1,
            Ok(Some(Ok(false))) => report.duplicates += 1,
            Ok(Some(Err(why))) => report.skipped.push((id.clone(), why)),
            Ok(None) => report.already_known += 1,
            Err(e @ SyncError::Http { .. }) => return Err(e),
            Err(e) => report.failed.push((id.clone(), e.to_string())),
        }
        bar.inc(1);
    }
    Ok(report)
}

/// `None` when seen before, `Some(Ok(new?))` when stored, `Some(Err(why))`
/// when skipped.
fn one(
    store: &mut Store,
    iv: &Intervals,
    id: &str,
    a: &Value,
) -> Result<Option<Result<bool, String>>> {
    if db::external(store, SERVICE, id)?.is_some() {
        return Ok(None);
    }
    let skip = |store: &mut Store, why: String| -> Result<Option<Result<bool, String>>> {
        db::set_external(store, SERVICE, id, None, &format!("skipped: {why}"))?;
        Ok(Some(Err(why)))
    };
    if a["source"].as_str() == Some("STRAVA") && a["file_type"].is_null() {
        return skip(
            store,
            "mirrored from Strava without a file (fetch strava instead)".into(),
        );
    }
    let reply = iv
        .api
        .get(&format!("/api/v1/activity/{id}/file"), &[], &iv.auth())?;
    if matches!(reply.status, 404 | 422) {
        return skip(store, format!("no original file (HTTP {})", reply.status));
    }
    if !reply.ok() {
        return Err(SyncError::Http {
            url: reply.url.clone(),
            message: format!("HTTP {}: {}", reply.status, reply.text()),
        });
    }
    let name = format!("{SERVICE}/{id}");
    let imported = import_bytes(store, &name, reply.body, iv.trim_m)?;
    let Some(stored) = imported.activity_id() else {
        let why = imported
            .failed
            .unwrap_or_else(|| "no track in the file".into());
        return skip(store, why);
    };
    let mut props = serde_json::Map::new();
    props.insert("intervals_id".into(), json!(id));
    props.insert("service".into(), json!(SERVICE));
    if let Some(n) = a["name"].as_str() {
        props.insert("Activity Name".into(), json!(n));
    }
    db::update_activity(store, stored, None, None, &props)?;
    let new = !imported.added.is_empty();
    db::set_external(
        store,
        SERVICE,
        id,
        Some(stored),
        if new { "imported" } else { "duplicate" },
    )?;
    Ok(Some(Ok(new)))
}
