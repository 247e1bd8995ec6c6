//! The one door through which sync writes activities: the importer that
//! files and uploads use (parse, dedup, trim, store, report). Kept in one
//! function per kind of input so that the rest of the module does not care
//! how the importer is called.

use super::Result;
use crate::ingest::{ParsedActivity, activity, parse_bytes};
use crate::store::{InsertOutcome, SourceFile, Store};

/// What importing one service activity (or file) gave.
#[derive(Debug, Default, Clone)]
pub struct Imported {
    /// Ids of new activities.
    pub added: Vec<i64>,
    /// Ids of stored activities the input turned out to be.
    pub duplicate_of: Vec<i64>,
    /// Why the input gave nothing, when it did not parse.
    pub failed: Option<String>,
    pub warnings: Vec<String>,
}

impl Imported {
    /// The stored activity this input is, new or not.
    pub fn activity_id(&self) -> Option<i64> {
        self.added.first().or(self.duplicate_of.first()).copied()
    }
}

/// Already-parsed activities (Strava streams) under the name `source`.
pub fn import_parsed(
    store: &mut Store,
    source: &str,
    acts: Vec<ParsedActivity>,
) -> Result<Imported> {
    let mut out = Imported::default();
    store_rows(store, source, 0, &acts, &mut out)?;
    Ok(out)
}

/// One file's bytes (an intervals.icu original), format sniffed, .gz ok.
pub fn import_bytes(store: &mut Store, name: &str, bytes: &[u8]) -> Result<Imported> {
    let mut out = Imported::default();
    match parse_bytes(name, bytes) {
        Err(e) => out.failed = Some(e.to_string()),
        Ok(parsed) => {
            out.warnings = parsed.warnings;
            store_rows(
                store,
                name,
                bytes.len() as u64,
                &parsed.activities,
                &mut out,
            )?;
        }
    }
    Ok(out)
}

fn store_rows(
    store: &mut Store,
    source: &str,
    size: u64,
    acts: &[ParsedActivity],
    out: &mut Imported,
) -> Result<()> {
    let rows: Vec<_> = acts.iter().map(|a| activity::prepare(a, source)).collect();
    let stamp = SourceFile {
        path: source.to_string(),
        size,
        mtime_ns: 0,
    };
    for outcome in store.insert_batch(&[(stamp, rows)])?.remove(0) {
        match outcome {
            InsertOutcome::Added(id) => out.added.push(id),
            InsertOutcome::Duplicate { id, .. } => out.duplicate_of.push(id),
        }
    }
    Ok(())
}
