//! `hotpot export`: the heatmap as a tile pyramid in a PMTiles archive, an
//! MBTiles database or a folder of PNGs, made by the batch pipeline
//! ([`crate::tiles`]).
//!
//! Each format is a [`TileSink`] that writes under a hidden name and
//! renames on success ([`atomic`]). [`shard`] splits a pyramid across
//! machines and [`merge`] joins the parts; [`viewer`] writes the static
//! page that shows an archive with no server of ours.

pub mod atomic;
pub mod folder;
pub mod info;
pub mod job;
pub mod mbtiles;
pub mod merge;
pub mod pmtiles;
pub mod shard;
pub mod viewer;

pub use info::ArchiveInfo;

use crate::tiles::{Tile, TileSink};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Pmtiles {
        path: PathBuf,
        source: ::pmtiles::PmtError,
    },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl ExportError {
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
        move |source| ExportError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// What an export writes, from the output's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pmtiles,
    Mbtiles,
    /// `z/x/y.png` and `tiles.json`.
    Folder,
}

impl Format {
    /// `.pmtiles` and `.mbtiles` by extension; anything else is a folder.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("pmtiles") => Format::Pmtiles,
            Some(e) if e.eq_ignore_ascii_case("mbtiles") => Format::Mbtiles,
            _ => Format::Folder,
        }
    }
}

/// A sink that becomes a finished output.
pub trait Output: TileSink {
    /// Writes what remains (directories, metadata) and moves the output to
    /// its final name.
    fn finish(self: Box<Self>) -> Result<(), ExportError>;
}

/// Opens the output for `path` in its format.
pub fn open(path: &Path, info: &ArchiveInfo) -> Result<Box<dyn Output>, ExportError> {
    Ok(match Format::of(path) {
        Format::Pmtiles => Box::new(pmtiles::PmtilesOutput::create(path, info)?),
        Format::Mbtiles => Box::new(mbtiles::MbtilesOutput::create(path, info)?),
        Format::Folder => Box::new(folder::FolderOutput::create(path, info)?),
    })
}

/// Tiles with their PNG bytes.
pub type TileList = Vec<(Tile, Vec<u8>)>;

/// Every tile of an output with its bytes, in tile-id order (tests, tools).
pub fn read_all(path: &Path) -> Result<TileList, ExportError> {
    match Format::of(path) {
        Format::Pmtiles => pmtiles::read_all(path),
        Format::Mbtiles => mbtiles::read_all(path),
        Format::Folder => folder::read_all(path),
    }
}
