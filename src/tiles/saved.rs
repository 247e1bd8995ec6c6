//! Tiles saved on disk by the server's pre-rendering, so that a restart
//! keeps them: one SQLite file beside the database, holding the PNGs of
//! one style, the tracks and masks they were drawn from, and which zooms
//! are complete (every tile with data saved, so a tile not saved there is
//! empty and needs no render either).
//!
//! A file of its own rather than tables in the activity database: tiles
//! are a cache (deleting the file loses nothing), they weigh far more than
//! the activities, and writing them must not move the database's
//! generation that `hotpot serve` watches for other writers.
//!
//! Every change of the tracks drops the tiles their boxes touch and bumps
//! a generation; a [`SavedSink`] started before the change refuses to
//! write ([`SavedError::Stale`]), so no tile drawn from the old tracks
//! survives the change. On open, the tracks saved are compared with the
//! scene's: activities imported or deleted while the server was down drop
//! their tiles the same way, and other masks, another style or another
//! version of this program drop everything.

use super::Tile;
use super::pipeline::{SinkError, TileSink};
use crate::geo::UnitRect;
use crate::scene::Scene;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bumped when tiles drawn by an older build would differ.
const FORMAT: &str = concat!("hotpot-saved-tiles-1/", env!("CARGO_PKG_VERSION"));

/// Past this share of the tracks changed, dropping every tile is cheaper
/// than dropping areas one by one.
const CLEAR_ABOVE: f64 = 0.25;

#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    #[error("saved tiles {path}: {source}")]
    Sql {
        path: String,
        source: rusqlite::Error,
    },
    /// The tracks changed since the batch began: its tiles are not saved.
    #[error("the tracks changed while the tiles were drawn")]
    Stale,
}

impl SavedError {
    fn is_damage(&self) -> bool {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        matches!(self, SavedError::Sql { source: rusqlite::Error::SqliteFailure(f, _), .. }
            if matches!(f.code, DatabaseCorrupt | NotADatabase))
    }
}

/// What the saved tiles say about one tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Png(Vec<u8>),
    /// Its zoom is complete and the tile holds nothing.
    Empty,
    /// Not saved (yet): render it.
    Unknown,
}

pub struct SavedTiles {
    path: PathBuf,
    style: String,
    reader: Mutex<Connection>,
    /// Writes, invalidations and the generation move together under it.
    writer: Mutex<Connection>,
    generation: AtomicU64,
    /// (size, zoom) whose every tile with data is saved.
    complete: Mutex<HashSet<(u32, u8)>>,
}

/// How a track is recognised when the file is opened again: an id whose
/// box or point count moved is another track.
type TrackSig = (i64, [u32; 4], i64);

impl SavedTiles {
    /// Opens (or creates) the file at `path` for tiles of the style
    /// `style` (its canonical key) drawn from `scene`, dropping what the
    /// scene changed since. `margin` is how far past its tile (as a
    /// fraction of the tile) a line may reach. A file that cannot be read
    /// is replaced: it is a cache.
    pub fn open(
        path: &Path,
        style: &str,
        scene: &Scene,
        margin: f64,
    ) -> Result<SavedTiles, SavedError> {
        let saved = match Self::open_file(path, style) {
            Ok(s) => s,
            // Only a damaged file is replaced: a locked or unwritable one
            // may be another server's, and is an error.
            Err(e) if e.is_damage() => {
                tracing::warn!("{e}: starting the saved tiles afresh");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                Self::open_file(path, style)?
            }
            Err(e) => return Err(e),
        };
        saved.catch_up(scene, margin)?;
        Ok(saved)
    }

    fn open_file(path: &Path, style: &str) -> Result<SavedTiles, SavedError> {
        let sql = |source| SavedError::Sql {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS tiles (
                 size INTEGER NOT NULL, z INTEGER NOT NULL, x INTEGER NOT NULL,
                 y INTEGER NOT NULL, png BLOB NOT NULL, PRIMARY KEY (size, z, x, y));
             CREATE TABLE IF NOT EXISTS tracks (
                 id INTEGER PRIMARY KEY, x0 INTEGER, y0 INTEGER, x1 INTEGER, y1 INTEGER,
                 points INTEGER);
             CREATE TABLE IF NOT EXISTS complete (
                 size INTEGER NOT NULL, z INTEGER NOT NULL, PRIMARY KEY (size, z));",
        )
        .map_err(sql)?;
        let reader = Connection::open(path).map_err(sql)?;
        reader
            .execute_batch("PRAGMA busy_timeout = 5000;")
            .map_err(sql)?;
        let saved = SavedTiles {
            path: path.to_owned(),
            style: style.to_owned(),
            reader: Mutex::new(reader),
            writer: Mutex::new(conn),
            generation: AtomicU64::new(0),
            complete: Mutex::new(HashSet::new()),
        };
        let held = (saved.meta("format")?, saved.meta("style")?);
        if held != (Some(FORMAT.into()), Some(style.into())) {
            saved.clear_all()?;
            saved.set_meta("format", FORMAT)?;
            saved.set_meta("style", style)?;
        }
        let complete: HashSet<(u32, u8)> = {
            let conn = lock(&saved.writer);
            let mut st = conn
                .prepare("SELECT size, z FROM complete")
                .map_err(|e| saved.sql(e))?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
                .map_err(|e| saved.sql(e))?
        };
        *lock(&saved.complete) = complete;
        Ok(saved)
    }

    /// The style key the tiles are drawn in.
    pub fn style(&self) -> &str {
        &self.style
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counts the changes of the tracks; a sink writes only while it is
    /// the one it was made at.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The tile `t` of `size` px in the style `style`.
    pub fn get(&self, style: &str, size: u32, t: Tile) -> Result<Lookup, SavedError> {
        if style != self.style {
            return Ok(Lookup::Unknown);
        }
        let png: Option<Vec<u8>> = lock(&self.reader)
            .prepare_cached(
                "SELECT png FROM tiles WHERE size = ?1 AND z = ?2 AND x = ?3 AND y = ?4",
            )
            .and_then(|mut st| {
                st.query_row(params![size, t.z, t.x, t.y], |r| r.get(0))
                    .optional()
            })
            .map_err(|e| self.sql(e))?;
        Ok(match png {
            Some(png) => Lookup::Png(png),
            None if self.is_complete(size, t.z) => Lookup::Empty,
            None => Lookup::Unknown,
        })
    }

    pub fn is_complete(&self, size: u32, z: u8) -> bool {
        lock(&self.complete).contains(&(size, z))
    }

    /// Records that every tile with data of (`size`, `z`) is saved, if the
    /// tracks have not changed since `generation`.
    pub fn mark_complete(&self, size: u32, z: u8, generation: u64) -> Result<bool, SavedError> {
        let conn = lock(&self.writer);
        if self.generation() != generation {
            return Ok(false);
        }
        conn.execute(
            "INSERT OR IGNORE INTO complete (size, z) VALUES (?1, ?2)",
            params![size, z],
        )
        .map_err(|e| self.sql(e))?;
        lock(&self.complete).insert((size, z));
        Ok(true)
    }

    /// The tiles of `size` at `z` already saved, as (x, y).
    pub fn saved_at(&self, size: u32, z: u8) -> Result<HashSet<(u32, u32)>, SavedError> {
        let conn = lock(&self.reader);
        let mut st = conn
            .prepare_cached("SELECT x, y FROM tiles WHERE size = ?1 AND z = ?2")
            .map_err(|e| self.sql(e))?;
        st.query_map(params![size, z], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sql(e))
    }

    /// Tiles and bytes of PNG saved.
    pub fn totals(&self) -> Result<(u64, u64), SavedError> {
        lock(&self.reader)
            .query_row(
                "SELECT count(*), coalesce(sum(length(png)), 0) FROM tiles",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| self.sql(e))
    }

    /// A sink for tiles of `size` drawn at `generation`.
    pub fn sink(&self, size: u32, generation: u64) -> SavedSink<'_> {
        SavedSink {
            saved: self,
            size,
            generation,
            pending: Vec::new(),
        }
    }

    /// The tracks changed to `scene`'s: drops the tiles that `areas` touch
    /// (all of them for `None`, as when the masks changed) and remembers
    /// the scene's tracks.
    pub fn update(
        &self,
        scene: &Scene,
        areas: Option<&[UnitRect]>,
        margin: f64,
    ) -> Result<(), SavedError> {
        let mut conn = lock(&self.writer);
        self.generation.fetch_add(1, Ordering::AcqRel);
        lock(&self.complete).clear();
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        let run = || -> rusqlite::Result<()> {
            tx.execute("DELETE FROM complete", [])?;
            match areas {
                None => {
                    tx.execute("DELETE FROM tiles", [])?;
                }
                Some(areas) => drop_areas(&tx, areas, margin)?,
            }
            tx.execute("DELETE FROM tracks", [])?;
            let mut st = tx.prepare(
                "INSERT INTO tracks (id, x0, y0, x1, y1, points) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (id, b, points) in signatures(scene) {
                st.execute(params![id, b[0], b[1], b[2], b[3], points])?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('masks', ?1)",
                [masks_key(scene)],
            )?;
            Ok(())
        };
        run().map_err(|e| self.sql(e))?;
        tx.commit().map_err(|e| self.sql(e))
    }

    /// Brings a file opened again up to `scene`.
    fn catch_up(&self, scene: &Scene, margin: f64) -> Result<(), SavedError> {
        let held: HashMap<i64, TrackSig> = {
            let conn = lock(&self.writer);
            let mut st = conn
                .prepare("SELECT id, x0, y0, x1, y1, points FROM tracks")
                .map_err(|e| self.sql(e))?;
            st.query_map([], |r| {
                let id: i64 = r.get(0)?;
                Ok((
                    id,
                    (id, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?], r.get(5)?),
                ))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sql(e))?
        };
        let now: HashMap<i64, TrackSig> = signatures(scene).map(|s| (s.0, s)).collect();
        let changed: Vec<UnitRect> = held
            .values()
            .filter(|s| now.get(&s.0) != Some(s))
            .chain(now.values().filter(|s| held.get(&s.0) != Some(s)))
            .map(|s| UnitRect::from_world_box(s.1))
            .collect();
        let same_masks = self.meta("masks")?.as_deref() == Some(masks_key(scene).as_str());
        if same_masks && changed.is_empty() && held.len() == now.len() {
            return Ok(());
        }
        let many = changed.len() as f64 > CLEAR_ABOVE * now.len().max(1) as f64;
        let areas = (same_masks && !many).then_some(changed.as_slice());
        tracing::info!(
            changed = changed.len(),
            all = areas.is_none(),
            "saved tiles: tracks changed since they were drawn"
        );
        self.update(scene, areas, margin)
    }

    fn clear_all(&self) -> Result<(), SavedError> {
        lock(&self.writer)
            .execute_batch(
                "DELETE FROM tiles; DELETE FROM tracks; DELETE FROM complete;
                 DELETE FROM meta;",
            )
            .map_err(|e| self.sql(e))?;
        lock(&self.complete).clear();
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, SavedError> {
        lock(&self.writer)
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), SavedError> {
        lock(&self.writer)
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                [key, value],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    fn sql(&self, source: rusqlite::Error) -> SavedError {
        SavedError::Sql {
            path: self.path.display().to_string(),
            source,
        }
    }
}

/// Writes the tiles of one run, a batch per transaction, while the tracks
/// stay those of its generation.
pub struct SavedSink<'a> {
    saved: &'a SavedTiles,
    size: u32,
    generation: u64,
    pending: Vec<(Tile, Vec<u8>)>,
}

impl TileSink for SavedSink<'_> {
    fn put(&mut self, tile: Tile, png: &[u8]) -> Result<(), SinkError> {
        self.pending.push((tile, png.to_vec()));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        let saved = self.saved;
        let mut conn = lock(&saved.writer);
        if saved.generation() != self.generation {
            self.pending.clear();
            return Err(Box::new(SavedError::Stale));
        }
        let tx = conn.transaction().map_err(|e| saved.sql(e))?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO tiles (size, z, x, y, png) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| saved.sql(e))?;
            for (t, png) in self.pending.drain(..) {
                st.execute(params![self.size, t.z, t.x, t.y, png])
                    .map_err(|e| saved.sql(e))?;
            }
        }
        tx.commit().map_err(|e| saved.sql(e))?;
        Ok(())
    }
}

/// Deletes the tiles (every size and zoom held) that `areas`, grown by
/// `margin` of a tile, touch.
fn drop_areas(tx: &rusqlite::Transaction, areas: &[UnitRect], margin: f64) -> rusqlite::Result<()> {
    let levels: Vec<(u32, u8)> = {
        let mut st = tx.prepare("SELECT DISTINCT size, z FROM tiles")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut st = tx.prepare(
        "DELETE FROM tiles WHERE size = ?1 AND z = ?2 AND x BETWEEN ?3 AND ?4
         AND y BETWEEN ?5 AND ?6",
    )?;
    for (size, z) in levels {
        let n = (1u64 << z) as f64;
        let tile = |v: f64| (v * n).floor().clamp(0.0, n - 1.0) as u32;
        for a in areas {
            let grow = margin / n;
            st.execute(params![
                size,
                z,
                tile(a.x0 - grow),
                tile(a.x1 + grow),
                tile(a.y0 - grow),
                tile(a.y1 + grow)
            ])?;
        }
    }
    Ok(())
}

fn signatures(scene: &Scene) -> impl Iterator<Item = TrackSig> + '_ {
    scene
        .tracks
        .iter()
        .map(|t| (t.id, t.bbox, t.track.points.len() as i64))
}

/// The masks as text: tiles drawn under other masks are all wrong.
fn masks_key(scene: &Scene) -> String {
    format!("{:?}", scene.masks)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::WorldPoint;
    use crate::store::track::Track;

    fn scene(lon: f64) -> Scene {
        let line: Vec<WorldPoint> = (0..20)
            .map(|i| WorldPoint::from_lonlat(lon + i as f64 * 0.001, 52.45))
            .collect();
        Scene::from_tracks(vec![(1, Track::from_segments(&[line]))])
    }

    fn temp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("hotpot-saved-{name}-{}", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
        p
    }

    #[test]
    fn a_sink_of_an_older_generation_writes_nothing() {
        let path = temp("stale");
        let s = SavedTiles::open(&path, "style", &scene(13.3), 0.05).unwrap();
        let t = Tile::new(12, 2199, 1344);
        let mut sink = s.sink(256, s.generation());
        sink.put(t, b"png").unwrap();
        sink.flush().unwrap();
        assert_eq!(
            s.get("style", 256, t).unwrap(),
            Lookup::Png(b"png".to_vec())
        );
        assert_eq!(s.get("other", 256, t).unwrap(), Lookup::Unknown);
        let mut late = s.sink(256, s.generation());
        s.update(&scene(13.3), None, 0.05).unwrap();
        late.put(t, b"png").unwrap();
        let e = late.flush().unwrap_err();
        assert!(matches!(
            e.downcast_ref::<SavedError>(),
            Some(SavedError::Stale)
        ));
        assert_eq!(s.get("style", 256, t).unwrap(), Lookup::Unknown);
    }

    #[test]
    fn a_damaged_file_is_replaced_and_another_style_starts_empty() {
        let path = temp("damaged");
        std::fs::write(&path, vec![7u8; 8192]).unwrap();
        let s = SavedTiles::open(&path, "a", &scene(13.3), 0.05).unwrap();
        let t = Tile::new(3, 4, 2);
        let mut sink = s.sink(256, s.generation());
        sink.put(t, b"x").unwrap();
        sink.flush().unwrap();
        assert!(s.mark_complete(256, 3, s.generation()).unwrap());
        assert_eq!(s.get("a", 256, Tile::new(3, 0, 0)).unwrap(), Lookup::Empty);
        drop(s);
        let s = SavedTiles::open(&path, "a", &scene(13.3), 0.05).unwrap();
        assert_eq!(s.get("a", 256, t).unwrap(), Lookup::Png(b"x".to_vec()));
        // The same id with another path: its old tiles go.
        let moved = SavedTiles::open(&path, "a", &scene(2.35), 0.05).unwrap();
        assert_eq!(moved.get("a", 256, t).unwrap(), Lookup::Unknown);
        drop(moved);
        let other = SavedTiles::open(&path, "b", &scene(13.3), 0.05).unwrap();
        assert_eq!(other.totals().unwrap(), (0, 0));
    }
}
