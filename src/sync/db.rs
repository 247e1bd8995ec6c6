//! The sync tables (schema in store/schema.rs): Strava tokens, the webhook
//! event queue, which stored activity each service's activity became, and a
//! small key-value table for cursors and the dashboard's sync status.

use super::Result;
use crate::store::{Store, bump_generation, now_ms};
use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

crate::store::row_struct! {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Tokens {
        pub athlete_id: i64,
        pub access_token: String,
        pub refresh_token: String,
        /// Unix seconds.
        pub expires_at: i64,
        pub scope: Option<String>,
    }
}

pub fn save_tokens(store: &mut Store, t: &Tokens) -> Result<()> {
    store.conn_mut().execute(
        "INSERT OR REPLACE INTO strava_tokens
           (athlete_id, access_token, refresh_token, expires_at, scope, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            t.athlete_id,
            t.access_token,
            t.refresh_token,
            t.expires_at,
            t.scope,
            now_ms()
        ],
    )?;
    Ok(())
}

pub fn tokens(store: &mut Store, athlete_id: i64) -> Result<Option<Tokens>> {
    Ok(store
        .conn_mut()
        .query_row(
            "SELECT athlete_id, access_token, refresh_token, expires_at, scope
             FROM strava_tokens WHERE athlete_id = ?1",
            [athlete_id],
            Tokens::from_row,
        )
        .optional()?)
}

/// Athletes with stored tokens, in id order.
pub fn athletes(store: &mut Store) -> Result<Vec<i64>> {
    let conn = store.conn_mut();
    let mut stmt = conn.prepare("SELECT athlete_id FROM strava_tokens ORDER BY athlete_id")?;
    let ids = stmt.query_map([], |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn delete_tokens(store: &mut Store, athlete_id: i64) -> Result<bool> {
    let n = store.conn_mut().execute(
        "DELETE FROM strava_tokens WHERE athlete_id = ?1",
        [athlete_id],
    )?;
    Ok(n > 0)
}

/// One webhook event as Strava sends it (and as it is queued).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Event {
    #[serde(default, skip_deserializing)]
    pub(crate) queue_id: i64,
    #[serde(default)]
    pub subscription_id: Option<i64>,
    pub owner_id: i64,
    pub object_type: String,
    pub object_id: i64,
    pub aspect_type: String,
    pub event_time: i64,
    #[serde(default)]
    pub updates: Map<String, Value>,
    #[serde(default, skip_deserializing)]
    pub(crate) attempts: i64,
}

/// Queues an event; false when the same event was queued before (Strava
/// delivers again when it did not get a 200 in time).
pub(crate) fn enqueue(store: &mut Store, e: &Event) -> Result<bool> {
    let n = store.conn_mut().execute(
        "INSERT OR IGNORE INTO strava_events
           (subscription_id, owner_id, object_type, object_id, aspect_type, event_time, updates, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            e.subscription_id,
            e.owner_id,
            e.object_type,
            e.object_id,
            e.aspect_type,
            e.event_time,
            Value::Object(e.updates.clone()).to_string(),
            now_ms()
        ],
    )?;
    Ok(n > 0)
}

/// The oldest queued event whose retry time has come.
pub(crate) fn next_queued(store: &mut Store) -> Result<Option<Event>> {
    Ok(store
        .conn_mut()
        .query_row(
            "SELECT id, subscription_id, owner_id, object_type, object_id, aspect_type,
                    event_time, updates, attempts
             FROM strava_events WHERE state = 'queued' ORDER BY id LIMIT 1",
            [],
            |r| {
                Ok(Event {
                    queue_id: r.get(0)?,
                    subscription_id: r.get(1)?,
                    owner_id: r.get(2)?,
                    object_type: r.get(3)?,
                    object_id: r.get(4)?,
                    aspect_type: r.get(5)?,
                    event_time: r.get(6)?,
                    updates: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
                    attempts: r.get(8)?,
                })
            },
        )
        .optional()?)
}

/// Marks an event done, ignored or failed, with what happened.
pub(crate) fn finish_event(
    store: &mut Store,
    queue_id: i64,
    state: &str,
    result: &str,
) -> Result<()> {
    store.conn_mut().execute(
        "UPDATE strava_events SET state = ?2, result = ?3, processed_at = ?4,
            attempts = attempts + 1 WHERE id = ?1",
        params![queue_id, state, result, now_ms()],
    )?;
    Ok(())
}

/// Leaves an event queued after a failure that may pass; returns the
/// attempts so far.
pub(crate) fn retry_event(store: &mut Store, queue_id: i64, result: &str) -> Result<i64> {
    let conn = store.conn_mut();
    conn.execute(
        // Only while queued: another server's worker may have finished it.
        "UPDATE strava_events SET attempts = attempts + 1, result = ?2 WHERE id = ?1 AND state = 'queued'",
        params![queue_id, result],
    )?;
    Ok(conn.query_row(
        "SELECT attempts FROM strava_events WHERE id = ?1",
        [queue_id],
        |r| r.get(0),
    )?)
}

/// Events per state (queued, done, ignored, failed).
pub(crate) fn event_counts(store: &mut Store) -> Result<Map<String, Value>> {
    let conn = store.conn_mut();
    let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM strava_events GROUP BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut m = Map::new();
    for row in rows {
        let (k, n) = row?;
        m.insert(k, n.into());
    }
    Ok(m)
}

/// The last processed event: (aspect, object type, object id, state, result, when ms).
pub(crate) fn last_event(store: &mut Store) -> Result<Option<Value>> {
    Ok(store
        .conn_mut()
        .query_row(
            "SELECT aspect_type, object_type, object_id, state, result, processed_at, received_at
             FROM strava_events ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok(serde_json::json!({
                    "aspect_type": r.get::<_, String>(0)?,
                    "object_type": r.get::<_, String>(1)?,
                    "object_id": r.get::<_, i64>(2)?,
                    "state": r.get::<_, String>(3)?,
                    "result": r.get::<_, Option<String>>(4)?,
                    "processed_at": r.get::<_, Option<i64>>(5)?.map(crate::timefmt::iso8601),
                    "received_at": crate::timefmt::iso8601(r.get::<_, i64>(6)?),
                }))
            },
        )
        .optional()?)
}

/// What a service's activity became: the stored activity (if any) and a
/// status ("imported", "duplicate", "skipped: ...", "deleted").
pub(crate) fn external(
    store: &mut Store,
    service: &str,
    external_id: &str,
) -> Result<Option<(Option<i64>, String)>> {
    Ok(store
        .conn_mut()
        .query_row(
            "SELECT activity_id, status FROM external_activities
             WHERE service = ?1 AND external_id = ?2",
            [service, external_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub(crate) fn set_external(
    store: &mut Store,
    service: &str,
    external_id: &str,
    activity_id: Option<i64>,
    status: &str,
) -> Result<()> {
    store.conn_mut().execute(
        "INSERT OR REPLACE INTO external_activities (service, external_id, activity_id, status, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![service, external_id, activity_id, status, now_ms()],
    )?;
    Ok(())
}

pub(crate) fn get_state(store: &mut Store, key: &str) -> Result<Option<String>> {
    Ok(store
        .conn_mut()
        .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

pub(crate) fn set_state(store: &mut Store, key: &str, value: &str) -> Result<()> {
    store.conn_mut().execute(
        "INSERT OR REPLACE INTO sync_state (key, value, updated_at) VALUES (?1, ?2, ?3)",
        params![key, value, now_ms()],
    )?;
    Ok(())
}

/// Every `sync_state` entry whose key starts with `prefix`, as JSON values
/// where they parse.
pub fn states(store: &mut Store, prefix: &str) -> Result<Map<String, Value>> {
    let conn = store.conn_mut();
    let mut stmt = conn.prepare("SELECT key, value FROM sync_state WHERE key LIKE ?1 || '%'")?;
    let rows = stmt.query_map([prefix], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut m = Map::new();
    for row in rows {
        let (k, v) = row?;
        m.insert(k, serde_json::from_str(&v).unwrap_or(Value::String(v)));
    }
    Ok(m)
}

/// Changes an activity's title and sport and merges `props` into its
/// properties (a Strava `update` event); false when it no longer exists.
pub(crate) fn update_activity(
    store: &mut Store,
    id: i64,
    title: Option<&str>,
    sport: Option<&str>,
    props: &Map<String, Value>,
) -> Result<bool> {
    // Immediate: the write lock first, so a writer in between cannot make
    // the read-then-write fail.
    let tx = store
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some(old): Option<String> = tx
        .query_row(
            "SELECT properties FROM activities WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?
    else {
        return Ok(false);
    };
    let mut map: Map<String, Value> = serde_json::from_str(&old).unwrap_or_default();
    map.extend(props.clone());
    if let Some(t) = title {
        tx.execute(
            "UPDATE activities SET title = ?2 WHERE id = ?1",
            params![id, t],
        )?;
        map.insert("title".into(), t.into());
    }
    if let Some(s) = sport {
        tx.execute(
            "UPDATE activities SET sport = ?2 WHERE id = ?1",
            params![id, s],
        )?;
        map.insert("sport".into(), s.into());
    }
    tx.execute(
        "UPDATE activities SET properties = ?2 WHERE id = ?1",
        params![id, Value::Object(map).to_string()],
    )?;
    // Filters on sport or title select other tracks now.
    bump_generation(&tx)?;
    tx.commit()?;
    Ok(true)
}

/// The newest activities by start time, for the dashboard.
pub(crate) fn latest_activities(store: &mut Store, n: usize) -> Result<Vec<Value>> {
    let conn = store.conn_mut();
    let mut stmt = conn.prepare(
        "SELECT id, start_time, sport, title, distance_m, source FROM activities
         ORDER BY start_time DESC, id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([n as i64], |r| {
        Ok(serde_json::json!({
            "id": r.get::<_, i64>(0)?,
            "start_time": r.get::<_, Option<i64>>(1)?.map(crate::timefmt::iso8601),
            "sport": r.get::<_, Option<String>>(2)?,
            "title": r.get::<_, Option<String>>(3)?,
            "distance_km": (r.get::<_, f64>(4)? / 10.0).round() / 100.0,
            "source": r.get::<_, String>(5)?,
        }))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Activities and kilometres per year and sport: `{year: {sport: {activities, distance_km}}}`.
pub(crate) fn per_year(store: &mut Store) -> Result<Map<String, Value>> {
    let conn = store.conn_mut();
    let mut stmt = conn.prepare(
        "SELECT COALESCE(strftime('%Y', start_time / 1000, 'unixepoch'), 'unknown'),
                COALESCE(sport, 'unknown'), COUNT(*), SUM(distance_m)
         FROM activities GROUP BY 1, 2 ORDER BY 1, 2",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, f64>(3)?,
        ))
    })?;
    let mut years = Map::new();
    for row in rows {
        let (year, sport, n, m) = row?;
        let entry = years
            .entry(year)
            .or_insert_with(|| Value::Object(Map::new()));
        entry.as_object_mut().expect("inserted as object").insert(
            sport,
            serde_json::json!({"activities": n, "distance_km": (m / 10.0).round() / 100.0}),
        );
    }
    Ok(years)
}
