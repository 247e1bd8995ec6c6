//! The one way activities get into the store. Every source (the CLI's files
//! and folders, HTTP uploads, already-parsed activities from the demo or an
//! API) goes through [`Importer`]: parse → clean up → trim → dedup and store
//! in one transaction per batch → report what changed, with the ids and
//! world bounding boxes of the added activities so callers redraw exactly
//! the tiles they touch.
//!
//! Parsing, projection, encoding and hashing run on every core (rayon); the
//! single writer only runs SQL, in transactions of many files. Results are
//! written in input order, so importing the same folder twice gives the same
//! ids and the same dedup decisions.

use super::types::{Parsed, ParsedActivity};
use super::{activity, clock, jumps, parse_bytes, walk};
use crate::store::{InsertOutcome, NewActivity, SourceFile, Store, StoreError};
use indicatif::ProgressBar;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Read files again even when their size and mtime are unchanged.
    pub force: bool,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Cut this many metres off the start and end of every activity.
    pub trim_m: Option<f64>,
}

/// What an import did, file by file where it matters.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub files_found: usize,
    pub files_read: usize,
    pub files_unchanged: usize,
    pub activities_added: usize,
    pub duplicates: usize,
    pub points_added: u64,
    pub bytes_read: u64,
    /// Files that gave no activity, with the one-line reason.
    pub failed: Vec<(PathBuf, String)>,
    /// Files that were imported but had problems.
    pub warnings: Vec<(PathBuf, String)>,
    /// Paths that could not be walked (permissions, vanished, loops).
    pub walk_errors: Vec<(PathBuf, String)>,
    /// What each file that was read successfully gave.
    pub files: Vec<FileSummary>,
    /// Every activity this import stored, in id order.
    pub added: Vec<AddedActivity>,
    /// The stored activities that inputs turned out to duplicate (sync
    /// links a service's activity to the one already stored).
    pub(crate) duplicate_of: Vec<i64>,
}

/// One successfully read file's contribution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSummary {
    pub path: PathBuf,
    pub added: usize,
    pub duplicates: usize,
    /// Points in all the file's activities, added or not.
    pub points: u64,
}

/// An activity the import stored: enough to invalidate the tiles it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddedActivity {
    pub id: i64,
    /// min_x, min_y, max_x, max_y in world units (`geo.rs`).
    pub bounds: [u32; 4],
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One input's fate (a file, an upload, a batch of parsed activities),
/// produced on a worker thread.
struct Unit {
    /// Shown in the report.
    path: PathBuf,
    /// Recorded in the skip table with the unit's activities.
    stamp: SourceFile,
    bytes: u64,
    outcome: Result<(Vec<NewActivity>, Vec<String>), String>,
}

/// Commit at least this often so an interrupted import keeps its progress.
const COMMIT_EVERY: Duration = Duration::from_millis(500);
/// Files per transaction at most; `HOTPOT_IMPORT_BATCH` overrides it (small
/// batches let the crash test interrupt an import between commits).
fn commit_files() -> usize {
    std::env::var("HOTPOT_IMPORT_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(512)
}

/// Imports into one store; see the module documentation.
pub struct Importer<'a> {
    store: &'a mut Store,
    opts: ImportOptions,
}

impl<'a> Importer<'a> {
    pub fn new(store: &'a mut Store, opts: ImportOptions) -> Self {
        Importer { store, opts }
    }

    /// Files and directories (the CLI). Directories are searched recursively
    /// for GPS file names; files named explicitly are read whatever their
    /// name. Files whose size and mtime are unchanged since the last import
    /// are skipped unless `force`.
    pub fn import_paths(&mut self, paths: &[PathBuf]) -> Result<ImportReport, ImportError> {
        let mut report = ImportReport::default();
        let files = walk::collect(paths, &mut report.walk_errors);
        report.files_found = files.len();
        if files.is_empty() && report.walk_errors.is_empty() {
            for p in paths {
                report
                    .warnings
                    .push((p.clone(), "no GPX, TCX or FIT files here (also .gz)".into()));
            }
        }

        let mut todo = Vec::with_capacity(files.len());
        for path in files {
            match walk::stamp(&path) {
                Ok(st) if !self.opts.force && self.store.file_unchanged(&st)? => {
                    report.files_unchanged += 1
                }
                Ok(st) => todo.push((path, st)),
                Err(e) => report.failed.push((path, e)),
            }
        }
        let bar = crate::progress::bar(
            self.opts.progress,
            todo.len() as u64,
            "{spinner} importing [{bar:30}] {pos}/{len} files ({per_sec}, eta {eta}) {msg}",
        );
        let trim_m = self.opts.trim_m;
        self.run(&todo, &mut report, &bar, |(path, st)| {
            let source = path.to_string_lossy();
            let (bytes, outcome) = match walk::read(path) {
                Err(e) => (0, Err(e)),
                Ok(data) => (data.len() as u64, parse_prepare(&source, &data, trim_m)),
            };
            Unit {
                path: path.clone(),
                stamp: st.clone(),
                bytes,
                outcome,
            }
        })?;
        bar.finish_and_clear();
        Ok(report)
    }

    /// In-memory files as (name, bytes): uploads, API downloads. The format
    /// is sniffed, `.gz` is unwrapped; `name` is stored as the source and in
    /// the skip table (with the current time), never used to skip.
    pub fn import_bytes(
        &mut self,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<ImportReport, ImportError> {
        let mut report = ImportReport {
            files_found: files.len(),
            ..ImportReport::default()
        };
        let now = now_ns();
        let trim_m = self.opts.trim_m;
        self.run(
            &files,
            &mut report,
            &ProgressBar::hidden(),
            |(name, data)| Unit {
                path: PathBuf::from(name),
                stamp: SourceFile {
                    path: name.clone().into_bytes(),
                    size: data.len() as u64,
                    mtime_ns: now,
                },
                bytes: data.len() as u64,
                outcome: parse_prepare(name, data, trim_m),
            },
        )?;
        Ok(report)
    }

    /// Activities parsed elsewhere (the demo generator, API streams), all
    /// stored with `source` as their source, in one transaction.
    pub fn import_parsed(
        &mut self,
        source: &str,
        acts: Vec<ParsedActivity>,
    ) -> Result<ImportReport, ImportError> {
        let mut report = ImportReport {
            files_found: 1,
            ..ImportReport::default()
        };
        let trim_m = self.opts.trim_m;
        let parsed = Parsed {
            activities: acts,
            warnings: Vec::new(),
        };
        let unit = Unit {
            path: PathBuf::from(source),
            stamp: SourceFile {
                path: source.as_bytes().to_vec(),
                size: 0,
                mtime_ns: 0,
            },
            bytes: 0,
            outcome: Ok(prepare(source, parsed, trim_m)),
        };
        commit(self.store, vec![unit], &mut report, &ProgressBar::hidden())?;
        Ok(report)
    }

    /// Turns `items` into units on every core and writes them in order.
    fn run<T: Sync>(
        &mut self,
        items: &[T],
        report: &mut ImportReport,
        bar: &ProgressBar,
        to_unit: impl Fn(&T) -> Unit + Sync,
    ) -> Result<(), ImportError> {
        let (tx, rx) = mpsc::sync_channel::<(usize, Unit)>(256);
        let store = &mut *self.store;
        std::thread::scope(|scope| -> Result<(), ImportError> {
            let to_unit = &to_unit;
            scope.spawn(move || {
                items
                    .par_iter()
                    .enumerate()
                    .for_each_with(tx, |tx, (i, item)| {
                        // The receiver only goes away on a store error; then stop quietly.
                        let _ = tx.send((i, to_unit(item)));
                    });
            });
            write_in_order(store, rx, report, bar)
        })
    }
}

/// Parses one file and prepares its rows; the error is the one-line reason.
fn parse_prepare(
    source: &str,
    data: &[u8],
    trim_m: Option<f64>,
) -> Result<(Vec<NewActivity>, Vec<String>), String> {
    parse_bytes(source, data)
        .map(|parsed| prepare(source, parsed, trim_m))
        .map_err(|e| e.to_string())
}

/// The steps every source shares between parsing and storing: impossible
/// times and jumps out, ends trimmed, rows built.
fn prepare(
    source: &str,
    mut parsed: Parsed,
    trim_m: Option<f64>,
) -> (Vec<NewActivity>, Vec<String>) {
    for a in &mut parsed.activities {
        // Times first: the jump check trusts the times that are left.
        parsed.warnings.extend(clock::clear_impossible_times(a));
        parsed.warnings.extend(jumps::clean(a).warning());
    }
    if let Some(m) = trim_m {
        // Trimming happens before anything is stored: the cut-off ends never
        // reach the database.
        for a in &mut parsed.activities {
            super::trim::trim_activity(a, m);
        }
        parsed.activities.retain(|a| a.num_points() > 0);
    }
    let rows = parsed
        .activities
        .par_iter()
        .map(|a| activity::prepare(a, source))
        .collect();
    (rows, parsed.warnings)
}

/// Receives results in any order and writes them in input order, batching
/// many units per transaction.
fn write_in_order(
    store: &mut Store,
    rx: mpsc::Receiver<(usize, Unit)>,
    report: &mut ImportReport,
    bar: &ProgressBar,
) -> Result<(), ImportError> {
    let mut pending: BTreeMap<usize, Unit> = BTreeMap::new();
    let mut next = 0;
    let mut batch: Vec<Unit> = Vec::new();
    let mut last_commit = Instant::now();
    let max_files = commit_files();
    loop {
        let received = rx.recv_timeout(COMMIT_EVERY);
        let done = matches!(received, Err(mpsc::RecvTimeoutError::Disconnected));
        if let Ok((i, r)) = received {
            pending.insert(i, r);
        }
        loop {
            while batch.len() < max_files {
                let Some(r) = pending.remove(&next) else {
                    break;
                };
                batch.push(r);
                next += 1;
            }
            let full = batch.len() >= max_files;
            if !batch.is_empty() && (full || done || last_commit.elapsed() >= COMMIT_EVERY) {
                commit(store, std::mem::take(&mut batch), report, bar)?;
                last_commit = Instant::now();
            }
            if !full {
                break;
            }
        }
        if done {
            return Ok(());
        }
    }
}

/// Stores one batch in one transaction and adds what it did to `report`.
fn commit(
    store: &mut Store,
    batch: Vec<Unit>,
    report: &mut ImportReport,
    bar: &ProgressBar,
) -> Result<(), ImportError> {
    let mut rows = Vec::new();
    let mut paths = Vec::new();
    for r in batch {
        report.files_read += 1;
        report.bytes_read += r.bytes;
        match r.outcome {
            Ok((acts, warnings)) => {
                for w in warnings {
                    report.warnings.push((r.path.clone(), w));
                }
                rows.push((r.stamp, acts));
                paths.push(r.path);
            }
            Err(reason) => report.failed.push((r.path, reason)),
        }
    }
    let outcomes = store.insert_batch(&rows)?;
    for (((_, acts), per_file), path) in rows.iter().zip(&outcomes).zip(paths) {
        let mut summary = FileSummary {
            path,
            ..FileSummary::default()
        };
        for (a, o) in acts.iter().zip(per_file) {
            summary.points += a.num_points as u64;
            match o {
                InsertOutcome::Added(id) => {
                    summary.added += 1;
                    report.points_added += a.num_points as u64;
                    report.added.push(AddedActivity {
                        id: *id,
                        bounds: a.bbox,
                    });
                }
                InsertOutcome::Duplicate { id, .. } => {
                    summary.duplicates += 1;
                    report.duplicate_of.push(*id);
                }
            }
        }
        report.activities_added += summary.added;
        report.duplicates += summary.duplicates;
        report.files.push(summary);
    }
    // Counted only after the commit: what the bar says was added is on disk.
    tracing::info!(
        files = report.files_read,
        activities_added = report.activities_added,
        "committed"
    );
    bar.set_position(report.files_read as u64);
    bar.set_message(format!(
        "{} added, {} duplicates, {} failed",
        report.activities_added,
        report.duplicates,
        report.failed.len()
    ));
    Ok(())
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
