//! Outputs appear under their final name only when complete.
//!
//! Everything is written under a hidden name beside the target (same
//! directory, so the final rename is atomic on one filesystem) and renamed
//! at the end. A killed export leaves only the hidden `.NAME.partial-PID`;
//! an export that fails removes it.

use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct Partial {
    tmp: PathBuf,
    target: PathBuf,
    done: bool,
}

impl Partial {
    /// A hidden name beside `target` for a file or directory.
    pub fn new(target: &Path) -> Partial {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".into());
        let tmp = target.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        Partial {
            tmp,
            target: target.to_owned(),
            done: false,
        }
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the finished output to its final name, replacing what was
    /// there (a directory is swapped out and then removed).
    pub fn commit(mut self) -> std::io::Result<()> {
        if self.tmp.is_dir() && self.target.is_dir() {
            let old =
                self.target
                    .with_file_name(format!(".{}.old-{}", self.name(), std::process::id()));
            std::fs::rename(&self.target, &old)?;
            std::fs::rename(&self.tmp, &self.target)?;
            let _ = std::fs::remove_dir_all(old);
        } else {
            if self.tmp.is_file() {
                std::fs::File::open(&self.tmp)?.sync_all()?;
            }
            std::fs::rename(&self.tmp, &self.target)?;
        }
        self.done = true;
        Ok(())
    }

    fn name(&self) -> String {
        self.target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}
