//! Finding the files an import reads, and reading them.

use super::is_gps_file_name;
use crate::store::SourceFile;
use std::path::{Path, PathBuf};

/// The files under `paths`, sorted and without repeats. Explicitly named
/// files are taken whatever their extension (content is sniffed); inside
/// directories only GPS-looking names are.
pub fn collect(paths: &[PathBuf], errors: &mut Vec<(PathBuf, String)>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, true, &mut files, errors);
    }
    files.sort();
    files.dedup();
    files
}

/// The file's identity for the skip table.
pub fn stamp(path: &Path) -> Result<SourceFile, String> {
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

/// The file's bytes; the error is the one-line reason.
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read: {e}"))
}

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
