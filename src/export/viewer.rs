//! The static viewer: an `index.html` with the vendored Leaflet and the
//! browser build of npm `pmtiles`, which reads tiles from the archive with
//! HTTP range requests. Uploading the page, its assets and the archive to
//! any static host that answers ranges (S3, GitHub Pages, nginx) shows the
//! heatmap with no server of ours.

use super::{ArchiveInfo, ExportError};
use std::path::Path;

const PAGE: &str = include_str!("../../assets/viewer/index.html");
const FILES: [(&str, &[u8]); 8] = [
    (
        "pmtiles.js",
        include_bytes!("../../assets/viewer/pmtiles.js"),
    ),
    (
        "leaflet/leaflet.js",
        include_bytes!("../../assets/leaflet/leaflet.js"),
    ),
    (
        "leaflet/leaflet.css",
        include_bytes!("../../assets/leaflet/leaflet.css"),
    ),
    (
        "leaflet/images/layers.png",
        include_bytes!("../../assets/leaflet/images/layers.png"),
    ),
    (
        "leaflet/images/layers-2x.png",
        include_bytes!("../../assets/leaflet/images/layers-2x.png"),
    ),
    (
        "leaflet/images/marker-icon.png",
        include_bytes!("../../assets/leaflet/images/marker-icon.png"),
    ),
    (
        "leaflet/images/marker-icon-2x.png",
        include_bytes!("../../assets/leaflet/images/marker-icon-2x.png"),
    ),
    (
        "leaflet/images/marker-shadow.png",
        include_bytes!("../../assets/leaflet/images/marker-shadow.png"),
    ),
];

/// Where the page takes its tiles from.
pub enum Source<'a> {
    /// A PMTiles archive at this URL, relative to the page.
    Pmtiles(&'a str),
    /// `z/x/y.png` beside the page.
    Folder,
}

/// Writes `index.html` and its assets into `dir`.
pub fn write(dir: &Path, info: &ArchiveInfo, source: Source) -> Result<(), ExportError> {
    let (kind, url) = match source {
        Source::Pmtiles(url) => ("pmtiles", url),
        Source::Folder => ("folder", "{z}/{x}/{y}.png"),
    };
    let config = serde_json::json!({
        "source": kind,
        "url": url,
        "bounds": info.bounds,
        "minzoom": info.minzoom,
        "maxzoom": info.maxzoom,
        "tileSize": info.hotpot.tile_size,
        "attribution": info.attribution,
    });
    // `</` cannot appear in JSON we make, but a name could hold it: escape
    // so that the script element cannot be closed from inside.
    let config = config.to_string().replace("</", "<\\/");
    let page = PAGE.replace("/*CONFIG*/{}/*END*/", &config);
    for (name, bytes) in FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(ExportError::io(parent))?;
        }
        std::fs::write(&path, bytes).map_err(ExportError::io(&path))?;
    }
    let index = dir.join("index.html");
    std::fs::write(&index, page).map_err(ExportError::io(&index))
}
