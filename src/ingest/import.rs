//! The import pipeline: find files, parse them in parallel, write them from
//! one thread in file order, report.
//!
//! Parsing, projection, encoding and hashing run on every core (rayon); the
//! single writer only runs SQL, in transactions of many files. Results are
//! written in the order of the sorted file list, so importing the same folder
//! twice gives the same ids and the same dedup decisions.

use super::{activity, is_gps_file_name, parse_bytes};
use crate::store::{InsertOutcome, NewActivity, SourceFile, Store, StoreError};
use indicatif::ProgressBar;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
    /// Paths that could not be walked (permissions, vanished).
    pub walk_errors: Vec<(PathBuf, String)>,
    /// What each file that was read successfully gave.
    pub files: Vec<FileSummary>,
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

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One file's fate, produced on a worker thread.
struct FileResult {
    path: PathBuf,
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

pub fn import_paths(
    store: &mut Store,
    paths: &[PathBuf],
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, true, &mut files, &mut report.walk_errors);
    }
    files.sort();
    files.dedup();
    report.files_found = files.len();

    let mut todo = Vec::with_capacity(files.len());
    for path in files {
        match stamp(&path) {
            Ok(st) if !opts.force && store.file_unchanged(&st)? => report.files_unchanged += 1,
            Ok(st) => todo.push((path, st)),
            Err(e) => report.failed.push((path, e)),
        }
    }

    let bar = crate::progress::bar(
        opts.progress,
        todo.len() as u64,
        "{spinner} importing [{bar:30}] {pos}/{len} files ({per_sec}, eta {eta}) {msg}",
    );
    let (tx, rx) = mpsc::sync_channel::<(usize, FileResult)>(256);
    std::thread::scope(|scope| -> Result<(), ImportError> {
        let todo = &todo;
        scope.spawn(move || {
            todo.par_iter()
                .enumerate()
                .for_each_with(tx, |tx, (i, (path, st))| {
                    // The receiver only goes away on a store error; then stop quietly.
                    let _ = tx.send((i, read_one(path, st, opts.trim_m)));
                });
        });
        write_in_order(store, rx, &mut report, &bar)
    })?;
    bar.finish_and_clear();
    Ok(report)
}

/// Receives results in any order and writes them in file order, batching
/// many files per transaction.
fn write_in_order(
    store: &mut Store,
    rx: mpsc::Receiver<(usize, FileResult)>,
    report: &mut ImportReport,
    bar: &ProgressBar,
) -> Result<(), ImportError> {
    let mut pending: BTreeMap<usize, FileResult> = BTreeMap::new();
    let mut next = 0;
    let mut batch: Vec<FileResult> = Vec::new();
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

fn commit(
    store: &mut Store,
    batch: Vec<FileResult>,
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
                InsertOutcome::Added(_) => {
                    summary.added += 1;
                    report.points_added += a.num_points as u64;
                }
                InsertOutcome::Duplicate { .. } => summary.duplicates += 1,
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

fn read_one(path: &Path, st: &SourceFile, trim_m: Option<f64>) -> FileResult {
    let source = path.to_string_lossy();
    let (bytes, outcome) = match std::fs::read(path) {
        Err(e) => (0, Err(format!("cannot read: {e}"))),
        Ok(data) => {
            let outcome = parse_bytes(&source, &data)
                .map(|mut parsed| {
                    if let Some(m) = trim_m {
                        // Trimming happens before anything is stored: the
                        // cut-off ends never reach the database.
                        for a in &mut parsed.activities {
                            super::trim::trim_activity(a, m);
                        }
                        parsed.activities.retain(|a| a.num_points() > 0);
                    }
                    let acts = parsed
                        .activities
                        .iter()
                        .map(|a| activity::prepare(a, &source))
                        .collect();
                    (acts, parsed.warnings)
                })
                .map_err(|e| e.to_string());
            (data.len() as u64, outcome)
        }
    };
    FileResult {
        path: path.to_owned(),
        stamp: st.clone(),
        bytes,
        outcome,
    }
}

fn stamp(path: &Path) -> Result<SourceFile, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot stat: {e}"))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    Ok(SourceFile {
        path: path.to_string_lossy().into_owned(),
        size: meta.len(),
        mtime_ns,
    })
}

/// Explicitly named files are taken whatever their extension (content is
/// sniffed); inside directories only GPS-looking names are.
fn collect_files(
    path: &Path,
    explicit: bool,
    out: &mut Vec<PathBuf>,
    errors: &mut Vec<(PathBuf, String)>,
) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return errors.push((path.to_owned(), e.to_string())),
    };
    if meta.is_dir() {
        let entries = match std::fs::read_dir(path) {
            Ok(e) => e,
            Err(e) => return errors.push((path.to_owned(), e.to_string())),
        };
        for entry in entries.flatten() {
            collect_files(&entry.path(), false, out, errors);
        }
    } else if explicit || is_gps_file_name(&path.file_name().unwrap_or_default().to_string_lossy())
    {
        out.push(path.to_owned());
    }
}

/// Stores already-parsed activities (the demo generator's, for one) under
/// the source name `source`, without files. Returns how many were added.
pub fn import_parsed(
    store: &mut Store,
    source: &str,
    acts: &[crate::ingest::ParsedActivity],
) -> Result<usize, StoreError> {
    let rows: Vec<_> = acts.iter().map(|a| activity::prepare(a, source)).collect();
    let file = SourceFile {
        path: source.into(),
        size: 0,
        mtime_ns: 0,
    };
    let outcomes = store.insert_batch(&[(file, rows)])?;
    Ok(outcomes[0]
        .iter()
        .filter(|o| matches!(o, InsertOutcome::Added(_)))
        .count())
}
