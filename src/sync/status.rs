//! What the dashboard shows about syncing: who is connected, the event
//! queue, the last fetches and the last errors.

use super::{Result, db};
use crate::store::Store;
use serde_json::{Value, json};

pub(crate) fn sync_status(store: &mut Store) -> Result<Value> {
    let strava = db::states(store, "strava.")?;
    let intervals = db::states(store, "intervals.")?;
    let get =
        |m: &serde_json::Map<String, Value>, k: &str| m.get(k).cloned().unwrap_or(Value::Null);
    Ok(json!({
        "strava": {
            "athletes": db::athletes(store)?,
            "subscription_id": get(&strava, "strava.subscription_id"),
            "events": db::event_counts(store)?,
            "last_event": db::last_event(store)?,
            "last_fetch": get(&strava, "strava.last_fetch"),
            "error": get(&strava, "strava.error"),
        },
        "intervals": {
            "last_fetch": get(&intervals, "intervals.last_fetch"),
            "error": get(&intervals, "intervals.error"),
        },
    }))
}
