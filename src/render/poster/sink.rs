//! One poster file, encoded on its own thread while the next strip renders.
//!
//! The file is written under a temporary name beside the target and renamed
//! when complete, so an interrupted or failed render never leaves a
//! truncated PNG under the name the user asked for.

use super::PosterError;
use crate::render::encode::{PngHeader, write_png_blocks};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Duration;

pub(super) struct Sink<'scope> {
    tx: SyncSender<Vec<u8>>,
    handle: ScopedJoinHandle<'scope, Result<Duration, PosterError>>,
    partial: PathBuf,
    path: PathBuf,
}

impl<'scope> Sink<'scope> {
    /// Creates the file and starts its encoder. One block waits in the
    /// channel while another is encoded: enough to keep rendering and
    /// encoding overlapped, and a bound on the memory blocks take.
    pub fn spawn<'env>(
        scope: &'scope Scope<'scope, 'env>,
        path: &Path,
        header: PngHeader,
    ) -> Result<Sink<'scope>, PosterError> {
        let partial = super::partial_path(path);
        let file = std::fs::File::create(&partial).map_err(|e| write_error(path, e))?;
        let (tx, rx) = sync_channel::<Vec<u8>>(1);
        let (target, tmp) = (path.to_path_buf(), partial.clone());
        let handle = scope.spawn(move || {
            let out = std::io::BufWriter::new(file);
            let r = write_png_blocks(out, &header, rx);
            if r.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            r.map_err(|e| match e {
                crate::render::encode::EncodeError::Io(io) => write_error(&target, io),
                e => PosterError::Encode(e),
            })
        });
        Ok(Sink {
            tx,
            handle,
            partial,
            path: path.to_path_buf(),
        })
    }

    /// Hands a block of rows to the encoder; `false` when the encoder has
    /// stopped (its error comes from [`Sink::finish`]).
    pub fn send(&self, block: Vec<u8>) -> bool {
        self.tx.send(block).is_ok()
    }

    /// Waits for the encoder and puts the file in place. Returns the time
    /// the encoder was busy.
    pub fn finish(self) -> Result<Duration, PosterError> {
        drop(self.tx);
        let busy = self.handle.join().expect("PNG encoder thread panicked")?;
        std::fs::rename(&self.partial, &self.path).map_err(|e| write_error(&self.path, e))?;
        Ok(busy)
    }

    /// Stops the encoder short and deletes its unfinished file.
    pub fn abandon(self) {
        drop(self.tx);
        let _ = self.handle.join();
        let _ = std::fs::remove_file(&self.partial);
    }
}

fn write_error(path: &Path, source: std::io::Error) -> PosterError {
    PosterError::Write {
        path: path.display().to_string(),
        source,
    }
}
