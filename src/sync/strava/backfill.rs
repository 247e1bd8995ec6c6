//! `hotpot fetch strava`: the whole history, oldest first, resumable.
//!
//! Strava lists an athlete's activities in ascending order when asked for
//! those `after` a time, so the start time of the last activity handled is
//! a cursor: it is saved after every activity, and an interrupted backfill
//! (Ctrl-C, a rate limit for the day, a network failure) continues where it
//! stopped. Activities seen before cost no request beyond the listing.

use super::super::{FetchReport, Result, SyncError, db};
use super::convert;
use super::fetch::{self, Outcome};
use super::{Strava, oauth};
use crate::store::Store;
use indicatif::ProgressBar;
use serde_json::{Value, json};

/// The most Strava lists per page.
const PER_PAGE: usize = 200;

fn cursor_key(athlete: i64) -> String {
    format!("strava.backfill.{athlete}.after")
}

/// Backfills every connected athlete. `after` (unix seconds) overrides the
/// saved resume point. The bar shows activities handled.
pub fn backfill(
    store: &mut Store,
    strava: &Strava,
    after: Option<i64>,
    bar: &ProgressBar,
) -> Result<FetchReport> {
    let athletes = db::athletes(store)?;
    if athletes.is_empty() {
        return Err(SyncError::NoStravaAthlete);
    }
    let mut report = FetchReport::default();
    for athlete in athletes {
        let result = backfill_athlete(store, strava, athlete, after, bar, &mut report);
        if let Err(e) = &result {
            super::webhook::record_error(store, e)?;
        }
        result?;
    }
    let summary = json!({
        "at": crate::timefmt::iso8601(crate::store::now_ms()),
        "imported": report.imported,
        "duplicates": report.duplicates,
        "skipped": report.skipped.len(),
        "failed": report.failed.len(),
    });
    db::set_state(store, "strava.last_fetch", &summary.to_string())?;
    Ok(report)
}

fn backfill_athlete(
    store: &mut Store,
    strava: &Strava,
    athlete: i64,
    after: Option<i64>,
    bar: &ProgressBar,
    report: &mut FetchReport,
) -> Result<()> {
    let saved = db::get_state(store, &cursor_key(athlete))?.and_then(|v| v.parse().ok());
    let mut cursor: i64 = after.or(saved).unwrap_or(0);
    loop {
        let token = oauth::access_token(store, strava, athlete)?;
        let reply = strava.get(
            athlete,
            &token,
            "/api/v3/athlete/activities",
            &[
                ("after", cursor.to_string()),
                ("per_page", PER_PAGE.to_string()),
                ("page", "1".to_string()),
            ],
        )?;
        if !reply.ok() {
            return Err(SyncError::Http {
                url: reply.url.clone(),
                message: format!("HTTP {}: {}", reply.status, reply.text()),
            });
        }
        let page = match reply.json()? {
            Value::Array(items) => items,
            _ => return Err(oauth::malformed(&reply, "the activity list is not a list")),
        };
        if page.is_empty() {
            return Ok(());
        }
        let full = page.len() >= PER_PAGE;
        report.listed += page.len();
        bar.inc_length(page.len() as u64);
        let mut next = cursor;
        for summary in &page {
            let start = summary["start_date"]
                .as_str()
                .and_then(crate::ingest::time::parse_timestamp)
                .map(|ms| ms / 1000);
            let Some(id) = summary["id"].as_i64() else {
                report
                    .failed
                    .push(("?".into(), "an activity without id in the list".into()));
                continue;
            };
            let token = oauth::access_token(store, strava, athlete)?;
            let outcome = match (fetch::known(store, id)?, convert::skip_reason(summary)) {
                (Some(status), _) => Ok(Outcome::AlreadyKnown(status)),
                (None, Some(why)) => {
                    db::set_external(
                        store,
                        fetch::SERVICE,
                        &id.to_string(),
                        None,
                        &format!("skipped: {why}"),
                    )?;
                    Ok(Outcome::Skipped(why))
                }
                (None, None) => fetch::import_activity(store, strava, athlete, &token, id),
            };
            match outcome {
                Ok(o) => {
                    bar.set_message(format!("{id}: {o}"));
                    count(report, id, o);
                }
                // The account or the network: stop, resumable from here.
                Err(e @ (SyncError::StravaRevoked { .. } | SyncError::Http { .. })) => {
                    return Err(e);
                }
                Err(e) => report.failed.push((id.to_string(), e.to_string())),
            }
            bar.inc(1);
            // Strava's `after` is exclusive: a second earlier keeps another
            // activity of the same second in the next page (seen ones are free).
            if let Some(s) = start {
                next = next.max(s - 1);
                db::set_state(store, &cursor_key(athlete), &next.to_string())?;
            }
        }
        if !full {
            return Ok(());
        }
        cursor = next.max(cursor + 1);
    }
}

fn count(report: &mut FetchReport, id: i64, o: Outcome) {
    match o {
        Outcome::Imported(_) => report.imported += 1,
        Outcome::Duplicate(_) => report.duplicates += 1,
        Outcome::AlreadyKnown(_) => report.already_known += 1,
        Outcome::Skipped(why) => report.skipped.push((id.to_string(), why)),
    }
}
