//! Managing what is stored: privacy masks, listing and deleting activities,
//! the property keys in use.

use super::activities::{ActivityRow, bump_generation, now_ms};
use super::{Result, Store};
use crate::filter::Filter;
use hotpot_model::mask::Mask;
use rusqlite::params;
use std::collections::BTreeMap;

/// How often a property key occurs, with a few example values.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PropertyKey {
    pub activities: u64,
    pub examples: Vec<serde_json::Value>,
}

impl Store {
    /// Adds or replaces the mask called `mask.name`; true when it replaced one.
    pub fn put_mask(&mut self, mask: &Mask) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let existed: bool = tx.query_row(
            "SELECT COUNT(*) FROM masks WHERE name = ?1",
            [&mask.name],
            |r| r.get::<_, i64>(0),
        )? > 0;
        tx.execute(
            "INSERT OR REPLACE INTO masks (name, lat, lon, radius_m, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![mask.name, mask.lat, mask.lon, mask.radius_m, now_ms()],
        )?;
        bump_generation(&tx)?;
        tx.commit()?;
        Ok(existed)
    }

    pub fn masks(&self) -> Result<Vec<Mask>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, lat, lon, radius_m FROM masks ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(Mask {
                name: r.get(0)?,
                lat: r.get(1)?,
                lon: r.get(2)?,
                radius_m: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Removes a mask; false when there was none of that name.
    pub fn remove_mask(&mut self, name: &str) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("DELETE FROM masks WHERE name = ?1", [name])?;
        if n > 0 {
            bump_generation(&tx)?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Activities passing `filter` (all without one), oldest first.
    pub fn list(&self, filter: Option<&Filter>) -> Result<Vec<ActivityRow>> {
        let (clause, args) = filter.map_or(("1".to_string(), Vec::new()), |f| f.to_sql());
        let sql = format!(
            "SELECT a.id, a.source, a.kind, a.start_time, a.sport, a.title, a.distance_m, a.num_points
             FROM activities a WHERE {clause} ORDER BY a.start_time, a.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), ActivityRow::from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The keys `filter` names that no stored activity has, for a warning
    /// (see [`Filter::unknown_keys`]).
    pub fn unknown_keys(&self, filter: &Filter) -> Result<Vec<String>> {
        Ok(filter.unknown_keys(&self.conn)?)
    }

    /// Deletes activities by id (tracks and index entries go with them);
    /// returns how many existed.
    pub fn delete(&mut self, ids: &[i64]) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        for id in ids {
            n += tx.execute("DELETE FROM activities WHERE id = ?1", [id])?;
        }
        if n > 0 {
            bump_generation(&tx)?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Every property key in use, with how many activities have it and up
    /// to three distinct example values.
    pub fn property_keys(&self) -> Result<BTreeMap<String, PropertyKey>> {
        let mut keys: BTreeMap<String, PropertyKey> = BTreeMap::new();
        let mut stmt = self.conn.prepare("SELECT properties FROM activities")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        for row in rows {
            let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&row?) else {
                continue;
            };
            for (k, v) in map {
                let entry = keys.entry(k).or_default();
                entry.activities += 1;
                if entry.examples.len() < 3 && !entry.examples.contains(&v) {
                    entry.examples.push(v);
                }
            }
        }
        Ok(keys)
    }
}
