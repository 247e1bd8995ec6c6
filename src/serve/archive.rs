//! `hotpot serve --tiles ARCHIVE`: pre-rendered tiles straight from a
//! PMTiles or MBTiles export, in front of live rendering.
//!
//! A middleware, so that the handlers stay as they are: a tile request
//! whose style, size, zoom and place the archive was made for is answered
//! from it (a tile the archive lacks there is empty: exports hold every
//! tile with data); anything else (another palette, a filter, a zoom past
//! the export's) goes on to live rendering.

use super::cache::CachedTile;
use super::routes::{HttpError, respond};
use super::state::AppState;
use super::style::{StyleQuery, TileStyle};
use crate::export::info::{ArchiveInfo, HotpotBlock};
use crate::export::{ExportError, Format};
use crate::tiles::Tile;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use pmtiles::{AsyncPmTilesReader, MmapBackend};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// An opened export and what it was made for.
pub struct TileArchive {
    pub hotpot: HotpotBlock,
    pub minzoom: u8,
    pub maxzoom: u8,
    source: Source,
}

enum Source {
    Pmtiles(AsyncPmTilesReader<MmapBackend>),
    Mbtiles(Mutex<rusqlite::Connection>),
}

impl TileArchive {
    pub async fn open(path: &Path) -> Result<TileArchive, ExportError> {
        let invalid = |message: String| ExportError::Invalid {
            path: path.to_owned(),
            message,
        };
        let pm = |source| ExportError::Pmtiles {
            path: path.to_owned(),
            source,
        };
        let (meta, source) = match Format::of(path) {
            Format::Pmtiles => {
                let backend = MmapBackend::try_from(path).await.map_err(pm)?;
                let reader = AsyncPmTilesReader::try_from_source(backend)
                    .await
                    .map_err(pm)?;
                let meta = reader.get_metadata().await.map_err(pm)?;
                (meta, Source::Pmtiles(reader))
            }
            Format::Mbtiles => {
                let sql = |source| ExportError::Sqlite {
                    path: path.to_owned(),
                    source,
                };
                let conn = rusqlite::Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .map_err(sql)?;
                let meta: String = conn
                    .query_row("SELECT value FROM metadata WHERE name = 'json'", [], |r| {
                        r.get(0)
                    })
                    .map_err(sql)?;
                (meta, Source::Mbtiles(Mutex::new(conn)))
            }
            Format::Folder => {
                return Err(invalid("--tiles takes a .pmtiles or .mbtiles file".into()));
            }
        };
        let info: ArchiveInfo = serde_json::from_str(&meta)
            .map_err(|e| invalid(format!("not a hotpot export: {e}")))?;
        Ok(TileArchive {
            hotpot: info.hotpot,
            minzoom: info.minzoom,
            maxzoom: info.maxzoom,
            source,
        })
    }

    /// Whether the archive holds the answer for this tile in this look.
    pub fn answers(&self, style_key: &str, size: u32, t: Tile) -> bool {
        let [x0, y0, x1, y1] = self.hotpot.area;
        let r = t.rect();
        self.hotpot.style_key == style_key
            && self.hotpot.tile_size == size
            && (self.minzoom..=self.maxzoom).contains(&t.z)
            && r.x0 < x1
            && x0 < r.x1
            && r.y0 < y1
            && y0 < r.y1
    }

    /// The tile's PNG, or `None` where the archive has no tile (empty).
    pub async fn get(&self, t: Tile) -> Result<Option<Bytes>, String> {
        match &self.source {
            Source::Pmtiles(r) => {
                let c = pmtiles::TileCoord::new(t.z, t.x, t.y).map_err(|e| e.to_string())?;
                r.get_tile(c).await.map_err(|e| e.to_string())
            }
            Source::Mbtiles(conn) => {
                let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                let row = conn.query_row(
                    "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                    rusqlite::params![t.z, t.x, t.tms_y()],
                    |r| r.get::<_, Vec<u8>>(0),
                );
                match row {
                    Ok(b) => Ok(Some(Bytes::from(b))),
                    Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}

#[derive(Clone)]
struct ArchiveState {
    app: Arc<AppState>,
    archive: Arc<TileArchive>,
}

/// Puts `archive` in front of the tile routes of `router`.
pub fn with_archive(router: Router, app: Arc<AppState>, archive: TileArchive) -> Router {
    tracing::info!(
        style = archive.hotpot.style_key,
        zooms = format!("{}-{}", archive.minzoom, archive.maxzoom),
        "serving pre-rendered tiles"
    );
    let now = app
        .loaded_generation
        .load(std::sync::atomic::Ordering::Relaxed);
    if now != archive.hotpot.generation {
        tracing::warn!(
            "the database changed since the archive was exported (generation {} vs {now}): \
             its tiles show the data as it was then; export again to update them",
            archive.hotpot.generation
        );
    }
    let state = ArchiveState {
        app,
        archive: Arc::new(archive),
    };
    router.layer(middleware::from_fn_with_state(state, from_archive))
}

async fn from_archive(State(s): State<ArchiveState>, req: Request, next: Next) -> Response {
    let Some((tile, size)) = tile_of(req.uri().path()) else {
        return next.run(req).await;
    };
    let Ok(Query(q)) = Query::<StyleQuery>::try_from_uri(req.uri()) else {
        return next.run(req).await;
    };
    let Ok(style) = TileStyle::from_query(&q) else {
        return next.run(req).await;
    };
    if !s.archive.answers(&style.key, size, tile) {
        return next.run(req).await;
    }
    let png = match s.archive.get(tile).await {
        Ok(png) => png.unwrap_or_default(),
        Err(e) => {
            return HttpError(StatusCode::INTERNAL_SERVER_ERROR, format!("archive: {e}"))
                .into_response();
        }
    };
    respond(&s.app, CachedTile::new(png), size, req.headers())
}

/// The tile and size a request path asks for, in any of the server's URL
/// forms; `None` for anything else (left to the router).
fn tile_of(path: &str) -> Option<(Tile, u32)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let [kind, z, x, last] = parts[..] else {
        return None;
    };
    let (y, size) = match kind {
        "tile" => {
            let (y, size) = super::routes::parse_hotpot_file(last);
            (y.to_string(), size)
        }
        "tiles" | "tms" => super::routes::parse_tile_file(last).ok()?,
        _ => return None,
    };
    let z: u8 = z.parse().ok().filter(|&z| z <= super::routes::MAX_ZOOM)?;
    let (x, y): (u32, u32) = (x.parse().ok()?, y.parse().ok()?);
    let n = 1u32 << z;
    if x >= n || y >= n {
        return None;
    }
    let y = if kind == "tms" { n - 1 - y } else { y };
    Some((Tile::new(z, x, y), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_form_names_its_tile() {
        assert_eq!(tile_of("/tiles/3/1/2.png"), Some((Tile::new(3, 1, 2), 256)));
        assert_eq!(
            tile_of("/tiles/3/1/2@2x.png"),
            Some((Tile::new(3, 1, 2), 512))
        );
        assert_eq!(tile_of("/tms/3/1/5.png"), Some((Tile::new(3, 1, 2), 256)));
        // hotpot's route: 512 px by default, as hotpot serves it.
        assert_eq!(tile_of("/tile/3/1/2"), Some((Tile::new(3, 1, 2), 512)));
        assert_eq!(
            tile_of("/tile/3/1/2@small"),
            Some((Tile::new(3, 1, 2), 256))
        );
        assert_eq!(tile_of("/tiles/3/9/2.png"), None);
        assert_eq!(tile_of("/api/stats"), None);
    }
}
