//! Removing half-written files when the user stops a long command.
//!
//! A poster is written to `NAME.partial` and renamed when complete; a
//! failure removes the partial file in the library, but Ctrl-C and SIGTERM
//! end the process before any destructor runs. The handler (the `ctrlc`
//! crate: one portable handler thread for SIGINT and SIGTERM) removes
//! every file registered here, then exits with 130 as a shell would.

use std::path::PathBuf;
use std::sync::{Mutex, Once};

static FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static HANDLER: Once = Once::new();

/// Registers `files` for removal on Ctrl-C/SIGTERM until the guard drops.
pub fn remove_on_signal(files: Vec<PathBuf>) -> Guard {
    HANDLER.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            for f in FILES.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                let _ = std::fs::remove_file(f);
            }
            eprintln!("\ninterrupted: partial files removed");
            std::process::exit(130);
        });
        if let Err(e) = installed {
            tracing::warn!(
                "cannot watch for Ctrl-C ({e}): an interrupted poster leaves its .partial file"
            );
        }
    });
    FILES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(files.iter().cloned());
    Guard(files)
}

/// Unregisters its files when dropped.
pub struct Guard(Vec<PathBuf>);

impl Drop for Guard {
    fn drop(&mut self) {
        FILES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|f| !self.0.contains(f));
    }
}
