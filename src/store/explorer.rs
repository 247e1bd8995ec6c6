//! Explorer tiles in the database: which tiles (zoom 14 and 17) each
//! activity passes through, written in the same transaction as the
//! activity and deleted with it (`ON DELETE CASCADE`).
//!
//! Kept per activity, not as one "first visit" per tile, so that deleting
//! an activity needs no recomputation: the remaining rows still say which
//! tiles are visited and, joined with start times, when first. A 100 km
//! ride crosses some 60 z14 and 500 z17 tiles; they are packed into one
//! row per activity and zoom (migration 6). One row per tile (migration 5)
//! cost the single writer 43,000 inserts for the 360 demo files, each into
//! the key and a tile index: importing them took 0.50 s against 0.42 s
//! before explorer tiles existed.

use super::track::Track;
use super::{Result, Store, StoreError};
use crate::explorer::stats::Visit;
use crate::explorer::{TileXY, ZOOMS, cover};
use rusqlite::{Connection, Transaction, params};
use std::collections::HashMap;

/// Schema of the explorer tiles, one row per tile; one entry of the
/// store's migration list, replaced by [`MIGRATION_PACKED`]. Idempotent
/// (`IF NOT EXISTS`, `INSERT OR REPLACE`): a database whose `user_version`
/// was set back re-runs it without losing rows.
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

/// The explorer tiles packed per activity and zoom: `tiles` holds (x, y)
/// as little-endian u32 pairs. The rows of [`MIGRATION`] are computed
/// again from the tracks on open (the backfill), like a database from
/// before explorer tiles.
pub(crate) const MIGRATION_PACKED: &str = r#"
DROP INDEX IF EXISTS explorer_tiles_tile;
DROP TABLE IF EXISTS explorer_tiles;
CREATE TABLE IF NOT EXISTS explorer_cover (
    activity_id INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    zoom        INTEGER NOT NULL,
    tiles       BLOB NOT NULL,
    PRIMARY KEY (activity_id, zoom)
);
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
        "INSERT OR REPLACE INTO explorer_cover (activity_id, zoom, tiles) VALUES (?1, ?2, ?3)",
    )?;
    for zoom in ZOOMS {
        let packed: Vec<u8> = tiles
            .iter()
            .filter(|t| t.0 == zoom)
            .flat_map(|&(_, (x, y))| x.to_le_bytes().into_iter().chain(y.to_le_bytes()))
            .collect();
        if !packed.is_empty() {
            stmt.execute(params![id, zoom, packed])?;
        }
    }
    Ok(())
}

/// The tiles of a packed row; a trailing partial pair is ignored.
fn unpack(blob: &[u8]) -> impl Iterator<Item = TileXY> + '_ {
    blob.chunks_exact(8).map(|c| {
        let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        (word(&c[..4]), word(&c[4..]))
    })
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
    /// Every visited tile at `zoom` with its first visit, by row then
    /// column.
    pub fn explorer_visits(&self, zoom: u8) -> Result<Vec<Visit>> {
        let mut stmt = self.conn.prepare(
            "SELECT c.tiles, a.start_time FROM explorer_cover c
             JOIN activities a ON a.id = c.activity_id WHERE c.zoom = ?1",
        )?;
        let mut first: HashMap<TileXY, Option<i64>> = HashMap::new();
        let mut rows = stmt.query([zoom])?;
        while let Some(row) = rows.next()? {
            let blob: Vec<u8> = row.get(0)?;
            let start: Option<i64> = row.get(1)?;
            for tile in unpack(&blob) {
                let seen = first.entry(tile).or_insert(start);
                // The earliest start; activities without one count last.
                *seen = match (*seen, start) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        let mut visits: Vec<Visit> = first
            .into_iter()
            .map(|(tile, first_ms)| Visit { tile, first_ms })
            .collect();
        visits.sort_by_key(|v| (v.tile.1, v.tile.0));
        Ok(visits)
    }
}
