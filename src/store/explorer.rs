//! Explorer tiles in the database: which tiles (zoom 14 and 17) each
//! activity passes through, written in the same transaction as the
//! activity and deleted with it (`ON DELETE CASCADE`).
//!
//! Kept per activity, not as one "first visit" per tile, so that deleting
//! an activity needs no recomputation: the remaining rows still say which
//! tiles are visited and, joined with start times, when first. A 100 km
//! ride crosses some 60 z14 and 500 z17 tiles: a few hundred small rows
//! per activity.

use super::track::Track;
use super::{Result, Store, StoreError};
use crate::explorer::stats::Visit;
use crate::explorer::{TileXY, ZOOMS, cover};
use rusqlite::{Connection, Transaction, params};

/// Schema of the explorer tiles; one entry of the store's migration list.
/// Idempotent (`IF NOT EXISTS`, `INSERT OR REPLACE`): a database whose
/// `user_version` was set back re-runs it without losing rows.
pub(crate) const MIGRATION: &str = r#"
CREATE TABLE IF NOT EXISTS explorer_tiles (
    activity_id INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    zoom        INTEGER NOT NULL,
    x           INTEGER NOT NULL,
    y           INTEGER NOT NULL,
    PRIMARY KEY (activity_id, zoom, x, y)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS explorer_tiles_tile ON explorer_tiles(zoom, x, y);
-- Activities stored before this table existed are filled in on open.
INSERT OR REPLACE INTO meta (key, value) VALUES ('explorer_backfill', 'pending');
"#;

/// A tile at one of the kept zooms: (zoom, (x, y)).
pub(crate) type ZoomTile = (u8, TileXY);

/// The explorer tiles of `track` at every kept zoom, sorted as the primary
/// key. Pure, so the importer computes it on its worker threads with the
/// rest of the row and the single writer only inserts. Walked inside the
/// writer's transaction (after decoding the blob again), it made importing
/// the 360 demo files 0.55 s against 0.42 s before explorer tiles existed
/// (2f5e941); computed here, 0.49 s (import only, alternating, medians of
/// 7). What remains is the SQL for the 43k rows: about 45 ms on the writer,
/// one insert into the key and one into the tile index each (a 64-row
/// `INSERT` measured the same as this one-row statement).
pub(crate) fn tiles(track: &Track) -> Vec<ZoomTile> {
    let mut out = Vec::new();
    for zoom in ZOOMS {
        out.extend(
            cover::track_tiles(track, zoom)
                .into_iter()
                .map(|t| (zoom, t)),
        );
    }
    out
}

/// Records the explorer tiles of activity `id` (from [`tiles`]).
pub(super) fn record(tx: &Transaction, id: i64, tiles: &[ZoomTile]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO explorer_tiles (activity_id, zoom, x, y) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for &(zoom, (x, y)) in tiles {
        stmt.execute(params![id, zoom, x, y])?;
    }
    Ok(())
}

/// Fills in the tiles of activities stored before the table existed, once.
pub(super) fn backfill_if_pending(conn: &mut Connection) -> Result<()> {
    let pending: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'explorer_backfill' AND value = 'pending')",
        [],
        |r| r.get(0),
    )?;
    if !pending {
        return Ok(());
    }
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare("SELECT activity_id, data FROM tracks")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        for row in rows {
            let (id, blob) = row?;
            let track = Track::decode(&blob).map_err(|source| StoreError::Track { id, source })?;
            record(&tx, id, &tiles(&track))?;
        }
    }
    tx.execute("DELETE FROM meta WHERE key = 'explorer_backfill'", [])?;
    tx.commit()?;
    Ok(())
}

impl Store {
    /// Every visited tile at `zoom` with its first visit.
    pub fn explorer_visits(&self, zoom: u8) -> Result<Vec<Visit>> {
        let mut stmt = self.conn.prepare(
            "SELECT t.x, t.y, MIN(a.start_time) FROM explorer_tiles t
             JOIN activities a ON a.id = t.activity_id
             WHERE t.zoom = ?1 GROUP BY t.x, t.y ORDER BY t.y, t.x",
        )?;
        let rows = stmt.query_map([zoom], |r| {
            Ok(Visit {
                tile: (r.get(0)?, r.get(1)?),
                first_ms: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
