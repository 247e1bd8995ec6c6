//! Finding the files an import reads, and reading them safely.
//!
//! Directories are walked with `walkdir`, following symlinks: it detects a
//! link back to an ancestor (`ln -s . a`, `ln -s .. loop`) and does not
//! descend, where the hand-written walker it replaced recursed until memory
//! ran out (two self-links: exponential, 800 MB after 30 s). Files reached
//! twice (through a link to a sibling folder, or named twice) are read once:
//! they are recognised by device and inode, not by name.
//!
//! Only regular files are read, and at most [`MAX_FILE_BYTES`] of them: a
//! FIFO named `x.gpx` would block the import forever and a link to
//! `/dev/zero` would read until memory runs out.

use super::is_gps_file_name;
use crate::store::SourceFile;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files larger than this are refused, like gzip's 1 GiB cap on what a file
/// decompresses to: the largest real activities are ~100 MB.
pub(crate) const MAX_FILE_BYTES: u64 = 1 << 30;

/// The files under `paths`, sorted by path, each file once. Explicitly named
/// files are taken whatever their name (content is sniffed); inside
/// directories only GPS-looking names are. Problems (unreadable folders,
/// missing paths) go to `errors`; links back to an ancestor folder are
/// skipped silently, as their files are reached through the real folder.
pub fn collect(paths: &[PathBuf], errors: &mut Vec<(PathBuf, String)>) -> Vec<PathBuf> {
    let mut found: Vec<(PathBuf, FileId)> = Vec::new();
    for root in paths {
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .follow_root_links(true);
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) if e.loop_ancestor().is_some() => {
                    tracing::debug!("{e}: not followed again");
                    continue;
                }
                Err(e) => {
                    let path = e.path().unwrap_or(root).to_owned();
                    errors.push((path, walk_error_message(&e)));
                    continue;
                }
            };
            if entry.file_type().is_dir() {
                continue;
            }
            let explicit = entry.depth() == 0;
            if !explicit && !is_gps_file_name(&entry.file_name().to_string_lossy()) {
                continue;
            }
            let id = match entry.metadata() {
                Ok(m) => FileId::of(entry.path(), &m),
                Err(e) => {
                    errors.push((entry.path().to_owned(), walk_error_message(&e)));
                    continue;
                }
            };
            found.push((entry.into_path(), id));
        }
    }
    found.sort();
    let mut seen = HashSet::new();
    found
        .into_iter()
        .filter(|(_, id)| seen.insert(id.clone()))
        .map(|(p, _)| p)
        .collect()
}

/// walkdir's messages repeat the path, which the report prints already.
fn walk_error_message(e: &walkdir::Error) -> String {
    match e.io_error() {
        Some(io) => io.to_string(),
        None => e.to_string(),
    }
}

/// What makes two paths the same file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum FileId {
    #[cfg(unix)]
    Inode { dev: u64, ino: u64 },
    #[cfg(not(unix))]
    Path(PathBuf),
}

impl FileId {
    fn of(path: &Path, meta: &std::fs::Metadata) -> FileId {
        #[cfg(unix)]
        {
            let _ = path;
            use std::os::unix::fs::MetadataExt;
            FileId::Inode {
                dev: meta.dev(),
                ino: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            FileId::Path(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()))
        }
    }
}

/// The file's identity for the skip table.
pub(crate) fn stamp(path: &Path) -> Result<SourceFile, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot stat: {e}"))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    Ok(SourceFile {
        path: path_key(path),
        size: meta.len(),
        mtime_ns,
    })
}

/// The skip table's key for a path: its raw bytes, so that two names that
/// differ only in invalid UTF-8 stay two keys.
fn path_key(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    // Windows paths are UTF-16; only unpaired surrogates are lost here.
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned().into_bytes()
    }
}

/// The file's bytes; the error is the one-line reason.
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    // Checked before opening: opening a FIFO for reading blocks until a
    // writer appears.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(format!("not a regular file ({})", describe(&meta)));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut data = Vec::with_capacity(meta.len().min(MAX_FILE_BYTES) as usize);
    // The length is read again through the cap: a file can grow, and some
    // (in /proc) report 0 bytes.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot read: {e}"))?;
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err("larger than 1 GiB, the most a GPS file is read".into());
    }
    Ok(data)
}

fn describe(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        } else if t.is_char_device() {
            return "a character device";
        } else if t.is_block_device() {
            return "a block device";
        } else if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}
