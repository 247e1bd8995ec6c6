//! What an archive says about itself: the header fields and metadata every
//! format carries, and the `hotpot` block that lets `serve --tiles` know
//! which requests the archive answers.

use crate::geo::UnitRect;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveInfo {
    pub name: String,
    pub attribution: String,
    /// Where the data is (for viewers to frame it): west, south, east,
    /// north in degrees.
    pub bounds: [f64; 4],
    /// lon, lat, zoom.
    pub center: (f64, f64, u8),
    pub minzoom: u8,
    pub maxzoom: u8,
    /// What made the tiles: the server's style key, tile size and area.
    pub hotpot: HotpotBlock,
}

/// Enough for `serve --tiles` to know which requests the archive answers
/// exactly as live rendering would.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotpotBlock {
    /// The canonical style key of `hotpot serve` (palette, background,
    /// line width, filter).
    pub style_key: String,
    /// The style in words, for people.
    pub style: serde_json::Value,
    pub tile_size: u32,
    /// The area the export covered, normalized Mercator `[x0, y0, x1, y1]`:
    /// inside it (and its zooms) a tile missing from the archive is empty.
    pub area: [f64; 4],
    /// The database generation the tiles were made from.
    pub generation: u64,
    pub generator: String,
    /// `[index, count]` of a `--shard` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[u32; 2]>,
}

impl ArchiveInfo {
    /// The metadata JSON (PMTiles metadata, MBTiles `json`, TileJSON extras).
    pub fn metadata(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "description": "GPS activity heatmap",
            "attribution": self.attribution,
            "type": "overlay",
            "format": "png",
            "version": "1",
            "generator": self.hotpot.generator,
            "bounds": self.bounds,
            "center": [self.center.0, self.center.1, self.center.2],
            "minzoom": self.minzoom,
            "maxzoom": self.maxzoom,
            "tileSize": self.hotpot.tile_size,
            "style": self.hotpot.style,
            "hotpot": self.hotpot,
        })
    }

    /// The `hotpot` block of metadata written by [`ArchiveInfo::metadata`].
    pub fn hotpot_from_metadata(meta: &serde_json::Value) -> Option<HotpotBlock> {
        serde_json::from_value(meta.get("hotpot")?.clone()).ok()
    }

    pub fn area(&self) -> UnitRect {
        let [x0, y0, x1, y1] = self.hotpot.area;
        UnitRect { x0, y0, x1, y1 }
    }
}

/// The generator string written into archives.
pub fn generator() -> String {
    format!("hotpot {}", env!("CARGO_PKG_VERSION"))
}
