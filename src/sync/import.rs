//! The one door through which sync writes activities: the [`Importer`]
//! that files and uploads use (parse, dedup, trim, store, report). One
//! service activity (or file) goes in at a time, so that each can be linked
//! to the stored activity it became.

use super::Result;
use crate::ingest::ParsedActivity;
use crate::ingest::importer::{ImportOptions, ImportReport, Importer};
use crate::store::Store;

/// What importing one service activity (or file) gave.
#[derive(Debug, Default, Clone)]
pub struct Imported {
    /// Ids of new activities.
    pub added: Vec<i64>,
    /// Ids of stored activities the input turned out to be.
    pub(crate) duplicate_of: Vec<i64>,
    /// Why the input gave nothing, when it did not parse.
    pub failed: Option<String>,
    pub warnings: Vec<String>,
}

impl Imported {
    /// The stored activity this input is, new or not.
    pub(crate) fn activity_id(&self) -> Option<i64> {
        self.added.first().or(self.duplicate_of.first()).copied()
    }

    fn from_report(r: ImportReport) -> Imported {
        Imported {
            added: r.added.iter().map(|a| a.id).collect(),
            duplicate_of: r.duplicate_of,
            failed: r.failed.into_iter().next().map(|(_, why)| why),
            warnings: r.warnings.into_iter().map(|(_, w)| w).collect(),
        }
    }
}

/// The importer, cutting `trim_m` metres off each activity's ends.
fn importer(store: &mut Store, trim_m: Option<f64>) -> Importer<'_> {
    let opts = ImportOptions {
        trim_m,
        ..ImportOptions::default()
    };
    Importer::new(store, opts)
}

/// Already-parsed activities (Strava streams) under the name `source`.
pub fn import_parsed(
    store: &mut Store,
    source: &str,
    acts: Vec<ParsedActivity>,
    trim_m: Option<f64>,
) -> Result<Imported> {
    let report = importer(store, trim_m).import_parsed(source, acts)?;
    Ok(Imported::from_report(report))
}

/// One file's bytes (an intervals.icu original), format sniffed, .gz ok.
pub fn import_bytes(
    store: &mut Store,
    name: &str,
    bytes: Vec<u8>,
    trim_m: Option<f64>,
) -> Result<Imported> {
    let report = importer(store, trim_m).import_bytes(vec![(name.to_string(), bytes)])?;
    Ok(Imported::from_report(report))
}
