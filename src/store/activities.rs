//! Reading and writing activity rows, their tracks and the spatial index.

use super::track::Track;
use super::{Result, Store, StoreError};
use crate::filter::Filter;
use crate::geo::{self, WorldPoint};
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::BTreeMap;

/// An activity ready to be stored; built by the importer on worker threads so
/// that the single writer only runs SQL.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub(crate) hash: [u8; 16],
    pub source: String,
    pub kind: &'static str,
    pub start_time: Option<i64>,
    pub sport: Option<String>,
    pub title: Option<String>,
    pub distance_m: f64,
    pub num_points: u32,
    pub first: WorldPoint,
    pub last: WorldPoint,
    /// min_x, min_y, max_x, max_y in world units.
    pub bbox: [u32; 4],
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub track_blob: Vec<u8>,
    /// The explorer tiles of the track (`store::explorer::tiles`), computed
    /// with the rest of the row off the writer thread.
    pub explorer_tiles: Vec<super::explorer::ZoomTile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InsertOutcome {
    Added(i64),
    /// Already stored as activity `id`; `why` says how it was recognised.
    Duplicate {
        id: i64,
        why: &'static str,
    },
}

super::row_struct! {
    /// One activity as listed back (no track), from the columns `id, source,
    /// kind, start_time, sport, title, distance_m, num_points`.
    #[derive(Debug, Clone, serde::Serialize)]
    pub struct ActivityRow {
        pub id: i64,
        pub source: String,
        pub kind: String,
        pub start_time: Option<i64>,
        pub sport: Option<String>,
        pub title: Option<String>,
        pub distance_m: f64,
        pub num_points: u32,
    }
}

/// Totals over the whole store, for `hotpot stats`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub activities: u64,
    pub distance_km: f64,
    pub points: u64,
    pub first_start: Option<i64>,
    pub last_start: Option<i64>,
    /// west, south, east, north in degrees.
    pub bounds: Option<[f64; 4]>,
    pub per_sport: BTreeMap<String, SportSummary>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SportSummary {
    pub activities: u64,
    pub distance_km: f64,
}

/// Two recordings of one ride (say the device's FIT and Strava's GPX of it)
/// start within this many milliseconds of each other...
const SAME_START_MS: i64 = 10_000;
/// ...begin and end within this many metres...
const SAME_ENDS_M: f64 = 100.0;
/// ...and differ in length by less than this fraction.
const SAME_LENGTH: f64 = 0.03;

impl Store {
    /// Writes a batch of files' activities in one transaction. `files` pairs a
    /// source file (path, size, mtime) with its activities; the file is marked
    /// as read in the same transaction as its activities.
    pub(crate) fn insert_batch(
        &mut self,
        files: &[(SourceFile, Vec<NewActivity>)],
    ) -> Result<Vec<Vec<InsertOutcome>>> {
        let tx = self.conn.transaction()?;
        let mut outcomes = Vec::with_capacity(files.len());
        let mut added = 0;
        for (file, acts) in files {
            let mut per_file = Vec::with_capacity(acts.len());
            for a in acts {
                let outcome = insert_one(&tx, a)?;
                added += matches!(outcome, InsertOutcome::Added(_)) as u64;
                per_file.push(outcome);
            }
            tx.execute(
                "INSERT OR REPLACE INTO source_files (path, size, mtime_ns, activities, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![file.path, file.size as i64, file.mtime_ns, acts.len() as i64, now_ms()],
            )?;
            outcomes.push(per_file);
        }
        if added > 0 {
            bump_generation(&tx)?;
        }
        tx.commit()?;
        Ok(outcomes)
    }

    /// Whether this exact file (path, size, mtime) was read before.
    pub(crate) fn file_unchanged(&self, file: &SourceFile) -> Result<bool> {
        let row: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT size, mtime_ns FROM source_files WHERE path = ?1",
                [&file.path],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row == Some((file.size as i64, file.mtime_ns)))
    }

    /// Merges `props` into the properties of every activity read from a file
    /// whose name is `file_name` (the last path component). Returns how many
    /// activities were updated.
    pub fn merge_properties_by_file_name(
        &mut self,
        entries: &[(String, serde_json::Map<String, serde_json::Value>)],
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut updated = 0;
        {
            let mut by_name: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
            let mut stmt = tx.prepare("SELECT id, source, properties FROM activities")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (id, source, props) = row?;
                by_name
                    .entry(file_name_key(&source))
                    .or_default()
                    .push((id, props));
            }
            let mut update = tx.prepare("UPDATE activities SET properties = ?2 WHERE id = ?1")?;
            for (name, extra) in entries {
                for (id, props) in by_name.get(&file_name_key(name)).into_iter().flatten() {
                    let mut map: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(props).unwrap_or_default();
                    for (k, v) in extra {
                        map.insert(k.clone(), v.clone());
                    }
                    update.execute(params![id, serde_json::Value::Object(map).to_string()])?;
                    updated += 1;
                }
            }
        }
        tx.commit()?;
        Ok(updated)
    }

    /// Tracks whose bounding box meets `rect` (world units, inclusive) and
    /// that pass `filter`, ordered by id so that every render sums them in
    /// the same order.
    pub fn load_tracks(
        &self,
        rect: Option<[u32; 4]>,
        filter: Option<&Filter>,
    ) -> Result<Vec<(i64, Track)>> {
        let mut sql = String::from(
            "SELECT t.activity_id, t.data FROM tracks t JOIN activities a ON a.id = t.activity_id WHERE 1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some([x0, y0, x1, y1]) = rect {
            sql.push_str(
                " AND a.id IN (SELECT id FROM activity_bounds
                   WHERE max_x >= ?1 AND min_x <= ?3 AND max_y >= ?2 AND min_y <= ?4)",
            );
            args.extend([x0, y0, x1, y1].map(|v| rusqlite::types::Value::Integer(v as i64)));
        }
        if let Some(f) = filter {
            let (clause, params) = f.to_sql_from(args.len() + 1);
            sql.push_str(" AND ");
            sql.push_str(&clause);
            args.extend(params);
        }
        sql.push_str(" ORDER BY t.activity_id");
        let mut stmt = self.conn.prepare(&sql)?;
        let blobs: Vec<(i64, Vec<u8>)> = stmt
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        use rayon::prelude::*;
        blobs
            .into_par_iter()
            .map(|(id, blob)| {
                Track::decode(&blob)
                    .map(|t| (id, t))
                    .map_err(|source| StoreError::Track { id, source })
            })
            .collect()
    }

    /// The tracks of these activities (those that exist), ordered by id:
    /// what an import just added, for a running server's scene.
    pub fn tracks_by_id(&self, ids: &[i64]) -> Result<Vec<(i64, Track)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT data FROM tracks WHERE activity_id = ?1")?;
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let blob: Option<Vec<u8>> = stmt.query_row([id], |r| r.get(0)).optional()?;
            if let Some(blob) = blob {
                let t = Track::decode(&blob).map_err(|source| StoreError::Track { id, source })?;
                out.push((id, t));
            }
        }
        Ok(out)
    }

    /// Bounding box of all stored tracks in world units, if any.
    pub fn data_bounds(&self) -> Result<Option<[u32; 4]>> {
        let row: (Option<i64>, Option<i64>, Option<i64>, Option<i64>) = self.conn.query_row(
            "SELECT MIN(min_x), MIN(min_y), MAX(max_x), MAX(max_y) FROM activities",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        Ok(match row {
            (Some(a), Some(b), Some(c), Some(d)) => Some([a as u32, b as u32, c as u32, d as u32]),
            _ => None,
        })
    }

    pub fn activities(&self) -> Result<Vec<ActivityRow>> {
        self.list(None)
    }

    /// The stored properties JSON of one activity.
    pub fn properties(&self, id: i64) -> Result<Option<serde_json::Value>> {
        let s: Option<String> = self
            .conn
            .query_row(
                "SELECT properties FROM activities WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(s.and_then(|s| serde_json::from_str(&s).ok()))
    }

    pub fn summary(&self) -> Result<Summary> {
        let mut s: Summary = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(distance_m), 0), COALESCE(SUM(num_points), 0),
                    MIN(start_time), MAX(start_time)
             FROM activities",
            [],
            |r| {
                Ok(Summary {
                    activities: r.get::<_, i64>(0)? as u64,
                    distance_km: r.get::<_, f64>(1)? / 1000.0,
                    points: r.get::<_, i64>(2)? as u64,
                    first_start: r.get(3)?,
                    last_start: r.get(4)?,
                    ..Summary::default()
                })
            },
        )?;
        s.bounds = self.data_bounds()?.map(|[x0, y0, x1, y1]| {
            let (west, north) = WorldPoint { x: x0, y: y0 }.to_lonlat();
            let (east, south) = WorldPoint { x: x1, y: y1 }.to_lonlat();
            [west, south, east, north]
        });
        let mut stmt = self.conn.prepare(
            "SELECT COALESCE(sport, 'unknown'), COUNT(*), SUM(distance_m) FROM activities
             GROUP BY 1 ORDER BY 2 DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })?;
        for row in rows {
            let (sport, n, d) = row?;
            s.per_sport.insert(
                sport,
                SportSummary {
                    activities: n as u64,
                    distance_km: d / 1000.0,
                },
            );
        }
        Ok(s)
    }
}

/// A file as seen on disk, to recognise it on the next import.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    /// The path's raw bytes (on Unix; see `ingest::walk`), or a source name.
    pub path: Vec<u8>,
    pub size: u64,
    pub mtime_ns: i64,
}

fn insert_one(tx: &Transaction, a: &NewActivity) -> Result<InsertOutcome> {
    let same_hash: Option<i64> = tx
        .query_row(
            "SELECT id FROM activities WHERE hash = ?1",
            [&a.hash[..]],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = same_hash {
        return Ok(InsertOutcome::Duplicate {
            id,
            why: "same track",
        });
    }
    if let Some(id) = same_recording(tx, a)? {
        return Ok(InsertOutcome::Duplicate {
            id,
            why: "same start time and route",
        });
    }
    let props = serde_json::Value::Object(a.properties.clone()).to_string();
    tx.execute(
        "INSERT INTO activities (hash, source, kind, start_time, sport, title, distance_m,
            num_points, start_x, start_y, end_x, end_y, min_x, min_y, max_x, max_y,
            properties, imported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        params![
            &a.hash[..],
            a.source,
            a.kind,
            a.start_time,
            a.sport,
            a.title,
            a.distance_m,
            a.num_points,
            a.first.x,
            a.first.y,
            a.last.x,
            a.last.y,
            a.bbox[0],
            a.bbox[1],
            a.bbox[2],
            a.bbox[3],
            props,
            now_ms(),
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO tracks (activity_id, data) VALUES (?1, ?2)",
        params![id, a.track_blob],
    )?;
    tx.execute(
        "INSERT INTO activity_bounds (id, min_x, max_x, min_y, max_y) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, a.bbox[0], a.bbox[2], a.bbox[1], a.bbox[3]],
    )?;
    super::explorer::record(tx, id, &a.explorer_tiles)?;
    Ok(InsertOutcome::Added(id))
}

/// Finds a stored activity that is the same recording exported differently:
/// same start time, same ends, nearly the same length.
fn same_recording(tx: &Transaction, a: &NewActivity) -> Result<Option<i64>> {
    let Some(t) = a.start_time else {
        return Ok(None);
    };
    let mut stmt = tx.prepare_cached(
        "SELECT id, distance_m, start_x, start_y, end_x, end_y FROM activities
         WHERE start_time BETWEEN ?1 AND ?2",
    )?;
    let rows = stmt.query_map(params![t - SAME_START_MS, t + SAME_START_MS], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, f64>(1)?,
            WorldPoint {
                x: r.get(2)?,
                y: r.get(3)?,
            },
            WorldPoint {
                x: r.get(4)?,
                y: r.get(5)?,
            },
        ))
    })?;
    for row in rows {
        let (id, dist, first, last) = row?;
        let longer = dist.max(a.distance_m).max(1.0);
        if (dist - a.distance_m).abs() / longer <= SAME_LENGTH
            && ground_m(first, a.first) <= SAME_ENDS_M
            && ground_m(last, a.last) <= SAME_ENDS_M
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn ground_m(p: WorldPoint, q: WorldPoint) -> f64 {
    let (lon1, lat1) = p.to_lonlat();
    let (lon2, lat2) = q.to_lonlat();
    geo::haversine_m(lat1, lon1, lat2, lon2)
}

pub(crate) fn bump_generation(tx: &Transaction) -> Result<()> {
    tx.execute(
        "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'",
        [],
    )?;
    Ok(())
}

/// Strava's CSV names files `activities/123.fit.gz`; the importer stores the
/// path it was given. Both reduce to the last component.
fn file_name_key(path: &str) -> String {
    path.rsplit(['/', '\\']).next().unwrap_or(path).to_string()
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
