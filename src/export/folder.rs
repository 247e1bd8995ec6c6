//! A folder of `z/x/y.png` with a TileJSON 3.0 `tiles.json` and a viewer
//! page: copy it to any static host (nginx, S3, GitHub Pages). Identical
//! tiles are written once each: a folder has no way to share them that
//! every host follows (links are not uploaded as links).

use super::atomic::Partial;
use super::{ArchiveInfo, ExportError, Output};
use crate::tiles::{Tile, TileSink, pipeline::SinkError};
use std::path::{Path, PathBuf};

pub struct FolderOutput {
    partial: Partial,
    /// The last `z/x` directory made, to skip asking again.
    last_dir: Option<(u8, u32)>,
    tilejson: serde_json::Value,
    info: ArchiveInfo,
}

impl FolderOutput {
    pub fn create(path: &Path, info: &ArchiveInfo) -> Result<FolderOutput, ExportError> {
        let partial = Partial::new(path);
        std::fs::create_dir_all(partial.path()).map_err(ExportError::io(path))?;
        let mut tilejson = info.metadata();
        let extra = serde_json::json!({
            "tilejson": "3.0.0",
            // Relative to tiles.json: the folder works wherever it is put.
            "tiles": ["{z}/{x}/{y}.png"],
            "scheme": "xyz",
        });
        if let (Some(t), Some(e)) = (tilejson.as_object_mut(), extra.as_object()) {
            t.extend(e.clone());
        }
        Ok(FolderOutput {
            partial,
            last_dir: None,
            tilejson,
            info: info.clone(),
        })
    }

    fn tile_path(&self, t: Tile) -> PathBuf {
        self.partial
            .path()
            .join(format!("{}/{}/{}.png", t.z, t.x, t.y))
    }
}

impl TileSink for FolderOutput {
    fn put(&mut self, tile: Tile, png: &[u8]) -> Result<(), SinkError> {
        let path = self.tile_path(tile);
        if self.last_dir != Some((tile.z, tile.x)) {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            self.last_dir = Some((tile.z, tile.x));
        }
        std::fs::write(&path, png)?;
        Ok(())
    }
}

impl Output for FolderOutput {
    fn finish(self: Box<Self>) -> Result<(), ExportError> {
        let dir = self.partial.path().to_owned();
        let json = serde_json::to_vec_pretty(&self.tilejson).unwrap_or_default();
        let tj = dir.join("tiles.json");
        std::fs::write(&tj, json).map_err(ExportError::io(&tj))?;
        super::viewer::write(&dir, &self.info, super::viewer::Source::Folder)?;
        let target = self.partial.target().to_owned();
        self.partial.commit().map_err(ExportError::io(&target))
    }
}

/// Every `z/x/y.png` under `dir`, in tile-id order.
pub fn read_all(dir: &Path) -> Result<super::TileList, ExportError> {
    let num = |p: &Path| -> Option<u32> {
        let name = p.file_name()?.to_str()?;
        name.strip_suffix(".png").unwrap_or(name).parse().ok()
    };
    let mut tiles = Vec::new();
    for zd in std::fs::read_dir(dir).map_err(ExportError::io(dir))? {
        let zp = zd.map_err(ExportError::io(dir))?.path();
        let Some(z) = num(&zp).filter(|&z| z <= 30 && zp.is_dir()) else {
            continue;
        };
        for xd in std::fs::read_dir(&zp).map_err(ExportError::io(&zp))? {
            let xp = xd.map_err(ExportError::io(&zp))?.path();
            let Some(x) = num(&xp).filter(|_| xp.is_dir()) else {
                continue;
            };
            for yd in std::fs::read_dir(&xp).map_err(ExportError::io(&xp))? {
                let yp = yd.map_err(ExportError::io(&xp))?.path();
                if let Some(y) = num(&yp).filter(|_| yp.extension().is_some_and(|e| e == "png")) {
                    let bytes = std::fs::read(&yp).map_err(ExportError::io(&yp))?;
                    tiles.push((Tile::new(z as u8, x, y), bytes));
                }
            }
        }
    }
    tiles.sort_by_key(|(t, _)| t.id());
    Ok(tiles)
}
