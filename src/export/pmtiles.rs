//! PMTiles v3 through the `pmtiles` crate's writer (the one martin uses):
//! tiles arrive in tile-id order, so the archive is clustered, and the
//! writer stores identical tiles once (by content hash).

use super::atomic::Partial;
use super::{ArchiveInfo, ExportError, Output};
use crate::tiles::{Tile, TileSink, pipeline::SinkError};
use pmtiles::{PmTilesStreamWriter, PmTilesWriter, TileCoord, TileType};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

pub struct PmtilesOutput {
    writer: PmTilesStreamWriter<BufWriter<File>>,
    partial: Partial,
}

impl PmtilesOutput {
    pub fn create(path: &Path, info: &ArchiveInfo) -> Result<PmtilesOutput, ExportError> {
        let partial = Partial::new(path);
        let file = File::create(partial.path()).map_err(ExportError::io(path))?;
        let [w, s, e, n] = info.bounds;
        let writer = PmTilesWriter::new(TileType::Png)
            .min_zoom(info.minzoom)
            .max_zoom(info.maxzoom)
            .bounds(w, s, e, n)
            .center(info.center.0, info.center.1)
            .center_zoom(info.center.2)
            .metadata(info.metadata().to_string())
            .create(BufWriter::with_capacity(1 << 20, file))
            .map_err(|source| pm_error(path, source))?;
        Ok(PmtilesOutput { writer, partial })
    }
}

fn pm_error(path: &Path, source: pmtiles::PmtError) -> ExportError {
    ExportError::Pmtiles {
        path: path.to_owned(),
        source,
    }
}

impl TileSink for PmtilesOutput {
    fn put(&mut self, tile: Tile, png: &[u8]) -> Result<(), SinkError> {
        let coord = TileCoord::new(tile.z, tile.x, tile.y)?;
        self.writer.add_tile(coord, png)?;
        Ok(())
    }
}

impl Output for PmtilesOutput {
    fn finish(self: Box<Self>) -> Result<(), ExportError> {
        let PmtilesOutput { writer, partial } = *self;
        writer
            .finalize()
            .map_err(|e| pm_error(partial.target(), e))?;
        let target = partial.target().to_owned();
        partial.commit().map_err(ExportError::io(&target))
    }
}

/// Every tile of an archive with its bytes, in tile-id order.
pub fn read_all(path: &Path) -> Result<super::TileList, ExportError> {
    use futures_util::TryStreamExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(ExportError::io(path))?;
    rt.block_on(async {
        let err = |e| pm_error(path, e);
        let backend = pmtiles::MmapBackend::try_from(path).await.map_err(err)?;
        let reader = std::sync::Arc::new(
            pmtiles::AsyncPmTilesReader::try_from_source(backend)
                .await
                .map_err(err)?,
        );
        let entries: Vec<pmtiles::DirEntry> =
            reader.clone().entries().try_collect().await.map_err(err)?;
        let mut tiles = Vec::new();
        for e in entries {
            for c in e.iter_coords() {
                let Some(bytes) = reader.get_tile(c).await.map_err(err)? else {
                    continue;
                };
                if let Some(t) = Tile::from_id(c.value()) {
                    tiles.push((t, bytes.to_vec()));
                }
            }
        }
        Ok(tiles)
    })
}
