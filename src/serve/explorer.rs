//! `/explorer/{zoom}/tiles/{z}/{x}/{y}.png`: visited explorer tiles, the max
//! cluster and the max square, drawn over the map.
//!
//! Drawing is cheap (rectangles), so tiles are not kept in the tile cache;
//! the layer itself is loaded from the store once per database generation.

use super::cache::CachedTile;
use super::routes::{HttpError, parse_coords, parse_tile_file, respond};
use super::state::AppState;
use crate::explorer::layer::ExplorerLayer;
use crate::explorer::{TileXY, is_kept_zoom};
use crate::geo::UnitRect;
use crate::render::mask::mask_bbox;
use crate::render::{View, encode};
use crate::store::Store;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Layers by explorer zoom, with the generation they were loaded at.
#[derive(Default)]
pub struct ExplorerLayers(Mutex<HashMap<u8, (u64, Arc<ExplorerLayer>)>>);

impl ExplorerLayers {
    fn get(&self, db: &std::path::Path, zoom: u8) -> Result<Arc<ExplorerLayer>, String> {
        let store = Store::open_existing(db).map_err(|e| e.to_string())?;
        let generation = store.generation().map_err(|e| e.to_string())?;
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((g, layer)) = map.get(&zoom)
            && *g == generation
        {
            return Ok(layer.clone());
        }
        let visits = store.explorer_visits(zoom).map_err(|e| e.to_string())?;
        let masks = store.masks().map_err(|e| e.to_string())?;
        let mask_boxes: Vec<UnitRect> = masks
            .iter()
            .map(|m| UnitRect::from_world_box(mask_bbox(m)))
            .collect();
        let layer = Arc::new(ExplorerLayer::new(
            zoom,
            visits
                .iter()
                .map(|v| v.tile)
                .filter(|&t| !masked(zoom, t, &mask_boxes))
                .collect(),
        ));
        map.insert(zoom, (generation, layer.clone()));
        Ok(layer)
    }
}

/// Whether one of the privacy masks' boxes (`mask_boxes`) reaches into
/// explorer tile `t`: such tiles are not shown (a served map must not
/// outline the squares around a home). Visits are kept per activity from
/// the raw track at import; hiding every tile a mask touches keeps the
/// mask's promise without clipping every track again for this layer.
fn masked(zoom: u8, (x, y): TileXY, mask_boxes: &[UnitRect]) -> bool {
    let r = crate::geo::tile_rect(zoom, x, y);
    mask_boxes.iter().any(|b| b.overlaps(&r))
}

pub async fn explorer_tile(
    State(state): State<Arc<AppState>>,
    Path((zoom, z, x, file)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let zoom: u8 = zoom
        .parse()
        .ok()
        .filter(|&z| is_kept_zoom(z))
        .ok_or_else(|| {
            HttpError(
                StatusCode::BAD_REQUEST,
                format!("explorer zoom {zoom:?}: use 14 or 17"),
            )
        })?;
    let (y, size) = parse_tile_file(&file)?;
    let (z, x, y) = parse_coords(&z, &x, &y)?;
    let st = state.clone();
    let png = tokio::task::spawn_blocking(move || -> Result<Bytes, String> {
        let layer = st.explorer.get(&st.db, zoom)?;
        let img = layer.draw(&View::tile(z, x, y, size));
        if img.data.chunks(4).all(|p| p[3] == 0) {
            return Ok(Bytes::new());
        }
        encode::png_bytes(&img, true)
            .map(Bytes::from)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| HttpError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| HttpError(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok(respond(&state, CachedTile::new(png), size, &headers))
}
