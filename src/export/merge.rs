//! `hotpot export merge`: joins PMTiles parts (`--shard`) into one archive.
//!
//! Streams: only directory entries are held in memory, tile bytes are
//! copied one by one in tile-id order, so the result is clustered and the
//! writer stores identical tiles once across parts. Parts must come from
//! the same style and tile size; a tile in two parts must be the same.

use super::info::ArchiveInfo;
use super::{ExportError, pmtiles::PmtilesOutput};
use crate::tiles::{Tile, TileSink};
use futures_util::TryStreamExt;
use pmtiles::{AsyncPmTilesReader, MmapBackend};
use std::path::{Path, PathBuf};

/// What a merge did.
#[derive(Debug, Clone, Default)]
pub struct MergeReport {
    pub tiles: u64,
    pub parts: usize,
}

pub fn merge(inputs: &[PathBuf], output: &Path) -> Result<MergeReport, ExportError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(ExportError::io(output))?;
    rt.block_on(merge_async(inputs, output))
}

type Reader = AsyncPmTilesReader<MmapBackend>;

async fn merge_async(inputs: &[PathBuf], output: &Path) -> Result<MergeReport, ExportError> {
    let invalid = |path: &Path, message: String| ExportError::Invalid {
        path: path.to_owned(),
        message,
    };
    let mut readers: Vec<std::sync::Arc<Reader>> = Vec::new();
    let mut infos: Vec<ArchiveInfo> = Vec::new();
    // Every tile's id and part: 16 bytes a tile, no tile data.
    let mut entries: Vec<(u64, usize)> = Vec::new();
    for (i, path) in inputs.iter().enumerate() {
        let err = |source| ExportError::Pmtiles {
            path: path.clone(),
            source,
        };
        let backend = MmapBackend::try_from(path.as_path()).await.map_err(err)?;
        let reader = std::sync::Arc::new(Reader::try_from_source(backend).await.map_err(err)?);
        let meta = reader.get_metadata().await.map_err(err)?;
        let info: ArchiveInfo = serde_json::from_str(&meta)
            .map_err(|e| invalid(path, format!("not a hotpot export ({e})")))?;
        if let Some(first) = infos.first()
            && (first.hotpot.style_key != info.hotpot.style_key
                || first.hotpot.tile_size != info.hotpot.tile_size)
        {
            return Err(invalid(
                path,
                format!(
                    "made with another style or tile size than {}",
                    inputs[0].display()
                ),
            ));
        }
        let part: Vec<pmtiles::DirEntry> =
            reader.clone().entries().try_collect().await.map_err(err)?;
        entries.extend(
            part.iter()
                .flat_map(|e| e.iter_coords())
                .map(|c| (c.value(), i)),
        );
        readers.push(reader);
        infos.push(info);
    }
    let Some(mut info) = infos.first().cloned() else {
        return Err(invalid(output, "nothing to merge".into()));
    };
    info.minzoom = infos.iter().map(|i| i.minzoom).min().unwrap_or(0);
    info.maxzoom = infos.iter().map(|i| i.maxzoom).max().unwrap_or(0);
    info.hotpot.shard = None;
    entries.sort_unstable();
    let mut out = Box::new(PmtilesOutput::create(output, &info)?);
    let mut last: Option<(u64, Vec<u8>)> = None;
    let mut tiles = 0;
    for (id, part) in entries {
        let path = &inputs[part];
        let err = |source| ExportError::Pmtiles {
            path: path.clone(),
            source,
        };
        let tid = pmtiles::TileId::new(id).map_err(err)?;
        let Some(bytes) = readers[part].get_tile(tid).await.map_err(err)? else {
            continue;
        };
        if let Some((prev, data)) = &last
            && *prev == id
        {
            if data[..] != bytes[..] {
                return Err(invalid(
                    path,
                    format!("tile id {id} differs from another part's"),
                ));
            }
            continue;
        }
        let tile = Tile::from_id(id).ok_or_else(|| invalid(path, format!("bad tile id {id}")))?;
        out.put(tile, &bytes)
            .map_err(|e| invalid(output, e.to_string()))?;
        tiles += 1;
        last = Some((id, bytes.to_vec()));
    }
    super::Output::finish(out)?;
    Ok(MergeReport {
        tiles,
        parts: inputs.len(),
    })
}
