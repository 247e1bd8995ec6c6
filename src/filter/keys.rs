//! Which keys a filter names, and which of them no stored activity has.
//!
//! A misspelt key (`sprot = cycling`) is not an error in the language: it
//! is false for every activity, so the filter quietly matches nothing.
//! Telling the user (a CLI warning, a response header on the server) turns
//! an empty map into a fixable mistake.

use super::alias::{Alias, alias};
use super::sql::column_key;
use super::{Expr, Filter};
use rusqlite::{Connection, OptionalExtension};

impl Filter {
    /// The keys the filter names, each once, in order of appearance.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys = Vec::new();
        collect(&self.expr, &mut keys);
        keys
    }

    /// The keys the filter names that no activity in the `activities` table
    /// has, in order; none when the table is empty (everything would be
    /// "unknown"). Columns (`id`, `source`, ...) are always known, and
    /// hotpot's names are known when what they stand for is.
    ///
    /// One query per key, which reads the whole table only for a key that
    /// is missing; a server should keep the answer per store generation.
    pub fn unknown_keys(&self, conn: &Connection) -> rusqlite::Result<Vec<String>> {
        let any: Option<i64> = conn
            .query_row("SELECT 1 FROM activities LIMIT 1", [], |r| r.get(0))
            .optional()?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        let mut stmt = conn.prepare(
            "SELECT EXISTS (SELECT 1 FROM activities WHERE json_type(properties, ?1) IS NOT NULL)",
        )?;
        let mut present = |key: &str| -> rusqlite::Result<bool> {
            stmt.query_row([super::sql::json_path(key)], |r| r.get(0))
        };
        let mut unknown = Vec::new();
        for key in self.keys() {
            if !known(key, &mut present)? {
                unknown.push(key.to_string());
            }
        }
        Ok(unknown)
    }
}

fn known(
    key: &str,
    present: &mut impl FnMut(&str) -> rusqlite::Result<bool>,
) -> rusqlite::Result<bool> {
    if column_key(key) || present(key)? {
        return Ok(true);
    }
    match alias(key) {
        Some(Alias::Key(other)) => known(other, present),
        Some(Alias::Number { stored, .. }) => present(stored),
        None => Ok(false),
    }
}

fn collect<'a>(e: &'a Expr, keys: &mut Vec<&'a str>) {
    let mut add = |k: &'a str| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    match e {
        Expr::Cmp { key, .. } | Expr::In { key, .. } | Expr::Like { key, .. } | Expr::Has(key) => {
            add(key)
        }
        Expr::Not(inner) => collect(inner, keys),
        Expr::And(list) | Expr::Or(list) => list.iter().for_each(|e| collect(e, keys)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(props: &[&str]) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE activities (id INTEGER PRIMARY KEY, properties TEXT)")
            .unwrap();
        for p in props {
            conn.execute("INSERT INTO activities (properties) VALUES (?1)", [p])
                .unwrap();
        }
        conn
    }

    #[test]
    fn keys_are_listed_once_in_order() {
        let f = Filter::parse("!(b = 1) && (a in [1] || has? b) || \"c d\" like 'x'").unwrap();
        assert_eq!(f.keys(), ["b", "a", "c d"]);
    }

    #[test]
    fn unknown_keys_are_the_ones_no_activity_has() {
        let conn = db(&[
            r#"{"sport": "cycling", "distance_km": 12.5, "Activity Gear": null}"#,
            r#"{"sport": "running", "elevation_gain_m": 12}"#,
        ]);
        let f = Filter::parse(
            "sprot = cycling && \"Activity Gear\" = x && id > 1 && source like '%' \
             && total_distance > 1 && elevation_gain > 2 && max_speed > 3 && name = x",
        )
        .unwrap();
        // `name` stands for the title column, always known; `max_speed` for
        // `max_speed_kmh`, which no activity has.
        assert_eq!(f.unknown_keys(&conn).unwrap(), ["sprot", "max_speed"]);
        assert!(f.unknown_keys(&db(&[])).unwrap().is_empty());
    }
}
