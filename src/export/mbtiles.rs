//! MBTiles 1.3 through rusqlite: the spec's deduplicating layout (`map`
//! and `images` tables behind a `tiles` view, as mbutil and GDAL read it),
//! rows counted from the south (TMS), and the `metadata` table.

use super::atomic::Partial;
use super::{ArchiveInfo, ExportError, Output};
use crate::tiles::{Tile, TileSink, pipeline::SinkError};
use rusqlite::{Connection, params};
use std::collections::HashSet;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE metadata (name TEXT NOT NULL, value TEXT);
CREATE UNIQUE INDEX metadata_name ON metadata (name);
CREATE TABLE map (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_id TEXT);
CREATE UNIQUE INDEX map_index ON map (zoom_level, tile_column, tile_row);
CREATE TABLE images (tile_id TEXT, tile_data BLOB);
CREATE UNIQUE INDEX images_id ON images (tile_id);
CREATE VIEW tiles AS
  SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column,
         map.tile_row AS tile_row, images.tile_data AS tile_data
  FROM map JOIN images ON images.tile_id = map.tile_id;
";

pub struct MbtilesOutput {
    conn: Connection,
    /// Contents already stored, by hash.
    seen: HashSet<u128>,
    partial: Partial,
}

fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> ExportError + '_ {
    move |source| ExportError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

impl MbtilesOutput {
    pub fn create(path: &Path, info: &ArchiveInfo) -> Result<MbtilesOutput, ExportError> {
        let partial = Partial::new(path);
        let err = sql_error(path);
        let conn = Connection::open(partial.path()).map_err(&err)?;
        // One transaction for the whole export: the file is only renamed to
        // its final name once committed, so journaling buys nothing.
        conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
            .map_err(&err)?;
        conn.execute_batch(SCHEMA).map_err(&err)?;
        conn.execute_batch("BEGIN").map_err(&err)?;
        let [w, s, e, n] = info.bounds;
        let (cx, cy, cz) = info.center;
        let rows = [
            ("name", info.name.clone()),
            ("format", "png".into()),
            ("type", "overlay".into()),
            ("version", "1".into()),
            ("description", "GPS activity heatmap".into()),
            ("attribution", info.attribution.clone()),
            ("bounds", format!("{w},{s},{e},{n}")),
            ("center", format!("{cx},{cy},{cz}")),
            ("minzoom", info.minzoom.to_string()),
            ("maxzoom", info.maxzoom.to_string()),
            ("json", info.metadata().to_string()),
        ];
        for (k, v) in rows {
            conn.execute(
                "INSERT INTO metadata (name, value) VALUES (?1, ?2)",
                params![k, v],
            )
            .map_err(&err)?;
        }
        Ok(MbtilesOutput {
            conn,
            seen: HashSet::new(),
            partial,
        })
    }
}

impl TileSink for MbtilesOutput {
    fn put(&mut self, tile: Tile, png: &[u8]) -> Result<(), SinkError> {
        let hash = xxhash_rust::xxh3::xxh3_128(png);
        let id = format!("{hash:032x}");
        if self.seen.insert(hash) {
            self.conn
                .prepare_cached("INSERT INTO images (tile_id, tile_data) VALUES (?1, ?2)")?
                .execute(params![id, png])?;
        }
        self.conn
            .prepare_cached(
                "INSERT INTO map (zoom_level, tile_column, tile_row, tile_id) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![tile.z, tile.x, tile.tms_y(), id])?;
        Ok(())
    }
}

impl Output for MbtilesOutput {
    fn finish(self: Box<Self>) -> Result<(), ExportError> {
        let MbtilesOutput { conn, partial, .. } = *self;
        let target = partial.target().to_owned();
        conn.execute_batch("COMMIT").map_err(sql_error(&target))?;
        conn.close().map_err(|(_, e)| sql_error(&target)(e))?;
        partial.commit().map_err(ExportError::io(&target))
    }
}

/// Every tile with its bytes (XYZ rows).
pub fn read_all(path: &Path) -> Result<super::TileList, ExportError> {
    let err = sql_error(path);
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(&err)?;
    let mut stmt = conn
        .prepare("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")
        .map_err(&err)?;
    let rows = stmt
        .query_map([], |r| {
            let (z, x, row): (u8, u32, u32) = (r.get(0)?, r.get(1)?, r.get(2)?);
            // Rows outside their zoom's grid (a foreign file) are skipped.
            let y = (z <= 30)
                .then(|| (1u32 << z).checked_sub(row)?.checked_sub(1))
                .flatten()
                .filter(|_| x < 1u32 << z.min(30));
            Ok(y.map(|y| Tile::new(z, x, y))
                .zip(Some(r.get::<_, Vec<u8>>(3)?)))
        })
        .map_err(&err)?;
    let rows = rows.collect::<Result<Vec<_>, _>>().map_err(&err)?;
    let mut tiles: super::TileList = rows.into_iter().flatten().collect();
    tiles.sort_by_key(|(t, _)| t.id());
    Ok(tiles)
}
