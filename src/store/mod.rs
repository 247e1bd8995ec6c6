//! The SQLite store: one file holding activities, their tracks and a spatial
//! index. Every write is a transaction, so a crash loses at most the batch in
//! flight and never leaves a half-written activity behind.

/// A struct read from a query row whose columns are its fields, in order:
/// defines the struct and its `from_row`, so that the fields are listed
/// once rather than again as `field: r.get(n)?` for every query.
macro_rules! row_struct {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_attr:meta])* $field_vis:vis $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$attr])*
        $vis struct $name {
            $($(#[$field_attr])* $field_vis $field: $ty,)*
        }

        impl $name {
            /// From a row whose columns are the fields, in their order.
            pub(crate) fn from_row(r: &rusqlite::Row) -> rusqlite::Result<$name> {
                let mut column = 0..;
                Ok($name {
                    $($field: r.get(column.next().expect("no end"))?,)*
                })
            }
        }
    };
}
pub(crate) use row_struct;

mod activities;
pub mod explorer;
mod manage;
mod schema;
pub use hotpot_model::track;

pub use activities::{ActivityRow, NewActivity, SportSummary, Summary};
pub(crate) use activities::{InsertOutcome, SourceFile};
pub(crate) use activities::{bump_generation, now_ms};
pub use manage::PropertyKey;

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Errors from the store, with the database path where it helps.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "database {path} was written by a newer hotpot (schema {found}, this one knows {known})"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database {0} does not exist (run `hotpot import` first)")]
    Missing(PathBuf),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("activity {id}: {source}")]
    Track {
        id: i64,
        source: track::TrackDecodeError,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with(path, OpenFlags::default())
    }

    /// Opens an existing database without creating one: commands that only
    /// read should say "import first" rather than leave an empty file behind.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_owned()));
        }
        Store::open_with(path, OpenFlags::default() - OpenFlags::SQLITE_OPEN_CREATE)
    }

    fn open_with(path: &Path, flags: OpenFlags) -> Result<Store> {
        let conn = Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For the sync module's own tables (tokens, event queue): it keeps
    /// their SQL beside the code that uses them.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn configure(&self) -> Result<()> {
        // WAL lets the tile server read while an import writes; NORMAL sync is
        // durable at each checkpoint and never corrupts on a crash in WAL mode.
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        self.conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let known = schema::MIGRATIONS.len() as i64;
        let found: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        explorer::backfill_if_pending(&mut self.conn)?;
        Ok(())
    }

    /// A number that grows whenever activities are added or removed; caches
    /// key on it.
    pub(crate) fn generation(&self) -> Result<u64> {
        let v: String =
            self.conn
                .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                    r.get(0)
                })?;
        Ok(v.parse().unwrap_or(0))
    }
}
