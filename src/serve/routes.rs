//! HTTP handlers: thin layers over the cache, the worker and the store.

use super::cache::{CachedTile, TileKey};
use super::state::{AppState, TileResult};
use super::style::{StyleQuery, TileStyle};
use crate::render::{RenderJob, View, encode};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::oneshot;

pub const MAX_ZOOM: u8 = 20;
const CACHE_CONTROL: &str = "public, max-age=600, stale-while-revalidate=86400";

/// A 4xx or 5xx with a one-line message.
pub struct HttpError(pub StatusCode, pub String);

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}\n", self.1),
        )
            .into_response()
    }
}

fn bad_request(msg: impl Into<String>) -> HttpError {
    HttpError(StatusCode::BAD_REQUEST, msg.into())
}

/// `/tiles/{z}/{x}/{y}.png` and `/tiles/{z}/{x}/{y}@2x.png`.
pub async fn xyz_tile(
    State(state): State<Arc<AppState>>,
    Path((z, x, file)): Path<(String, String, String)>,
    Query(q): Query<StyleQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let (y, size) = parse_tile_file(&file)?;
    let (z, x, y) = parse_coords(&z, &x, &y)?;
    tile(state, z, x, y, size, &q, &headers).await
}

/// `/tms/{z}/{x}/{y}.png`: y counted from the south.
pub async fn tms_tile(
    State(state): State<Arc<AppState>>,
    Path((z, x, file)): Path<(String, String, String)>,
    Query(q): Query<StyleQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let (y, size) = parse_tile_file(&file)?;
    let (z, x, y) = parse_coords(&z, &x, &y)?;
    tile(state, z, x, (1u32 << z) - 1 - y, size, &q, &headers).await
}

/// hotpot's `/tile/{z}/{x}/{y}` with `?color=` and `?gradient=`.
pub async fn hotpot_tile(
    State(state): State<Arc<AppState>>,
    Path((z, x, y)): Path<(String, String, String)>,
    Query(q): Query<StyleQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let (z, x, y) = parse_coords(&z, &x, &y)?;
    tile(state, z, x, y, 256, &q, &headers).await
}

/// `7.png` → (7, 256); `7@2x.png` → (7, 512).
fn parse_tile_file(file: &str) -> Result<(String, u32), HttpError> {
    let stem = file
        .strip_suffix(".png")
        .ok_or_else(|| bad_request(format!("{file:?}: tiles end in .png")))?;
    Ok(match stem.strip_suffix("@2x") {
        Some(y) => (y.to_string(), 512),
        None => (stem.to_string(), 256),
    })
}

fn parse_coords(z: &str, x: &str, y: &str) -> Result<(u8, u32, u32), HttpError> {
    let z: u8 = z
        .parse()
        .map_err(|_| bad_request(format!("zoom {z:?} is not a number")))?;
    if z > MAX_ZOOM {
        return Err(bad_request(format!(
            "zoom {z} is above the maximum {MAX_ZOOM}"
        )));
    }
    let n = 1u64 << z;
    let parse = |v: &str, axis: &str| -> Result<u32, HttpError> {
        let v: u64 = v
            .parse()
            .map_err(|_| bad_request(format!("{axis} {v:?} is not a number")))?;
        if v >= n {
            return Err(bad_request(format!(
                "{axis} {v} is outside 0..{} at zoom {z}",
                n - 1
            )));
        }
        Ok(v as u32)
    };
    Ok((z, parse(x, "x")?, parse(y, "y")?))
}

async fn tile(
    state: Arc<AppState>,
    z: u8,
    x: u32,
    y: u32,
    size: u32,
    q: &StyleQuery,
    headers: &HeaderMap,
) -> Result<Response, HttpError> {
    let style = TileStyle::from_query(q).map_err(bad_request)?;
    let key = TileKey {
        style: style.key.clone(),
        z,
        x,
        y,
        size,
    };
    let cached = state
        .cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key);
    let tile = match cached {
        Some(t) => t,
        None => render_once(&state, key, style, View::tile(z, x, y, size))
            .await
            .map_err(|(s, m)| {
                HttpError(
                    StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    m,
                )
            })?,
    };
    Ok(respond(&state, tile, headers))
}

/// Renders a tile unless the same one is already being rendered, in which
/// case this request waits for that result.
async fn render_once(
    state: &Arc<AppState>,
    key: TileKey,
    style: TileStyle,
    view: View,
) -> TileResult {
    let (tx, rx) = oneshot::channel();
    let first = {
        let mut in_flight = state.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        match in_flight.get_mut(&key) {
            Some(waiters) => {
                waiters.push(tx);
                false
            }
            None => {
                in_flight.insert(key.clone(), Vec::new());
                true
            }
        }
    };
    if !first {
        return rx
            .await
            .unwrap_or_else(|_| Err((500, "the tile's render was abandoned".into())));
    }
    let result = render_and_encode(state, view, &style).await;
    if let Ok(t) = &result {
        state
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), t.clone());
    }
    let waiters = state
        .in_flight
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&key)
        .unwrap_or_default();
    for w in waiters {
        let _ = w.send(result.clone());
    }
    result
}

async fn render_and_encode(state: &AppState, view: View, style: &TileStyle) -> TileResult {
    let job = match style.line_width {
        Some(w) => RenderJob {
            view,
            line_width: w,
        },
        None => RenderJob::new(view),
    };
    let scene = state
        .scene_for(style.filter.as_ref())
        .await
        .map_err(|e| (500, format!("filter: {e}")))?;
    let density = state
        .worker
        .render(job, scene)
        .await
        .map_err(|e| (500, format!("render failed: {e}")))?;
    let cm = style.colormap.clone();
    let png = tokio::task::spawn_blocking(move || {
        if density.data.iter().all(|&v| v == 0) && cm.background.is_none() {
            return Ok(Bytes::new());
        }
        encode::indexed_png(&density, &cm).map(Bytes::from)
    })
    .await
    .map_err(|e| (500, e.to_string()))?
    .map_err(|e| (500, e.to_string()))?;
    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&png));
    Ok(CachedTile { png, etag })
}

/// An empty body stands for "nothing here": a tiny transparent PNG, or 204.
pub fn respond(state: &AppState, tile: CachedTile, headers: &HeaderMap) -> Response {
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|e| e.trim() == tile.etag || e.trim() == "*")
        });
    let etag = HeaderValue::from_str(&tile.etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let common = [
        (header::ETAG, etag),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
    ];
    if not_modified {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    if tile.png.is_empty() {
        if state.empty_204 {
            return (StatusCode::NO_CONTENT, common).into_response();
        }
        return (common, [(header::CONTENT_TYPE, "image/png")], empty_png()).into_response();
    }
    (common, [(header::CONTENT_TYPE, "image/png")], tile.png).into_response()
}

/// A 1x1 fully transparent PNG (browsers stretch it over the tile), made
/// once.
pub fn empty_png() -> Bytes {
    static PNG: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    PNG.get_or_init(|| {
        let img = crate::render::RgbaImage {
            width: 1,
            height: 1,
            data: vec![0; 4],
        };
        Bytes::from(encode::png_bytes(&img, false).expect("encoding 4 bytes cannot fail"))
    })
    .clone()
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `/api/stats`: what is served and how the server is doing.
pub async fn stats(State(state): State<Arc<AppState>>) -> Result<Response, HttpError> {
    let db = state.db.clone();
    let summary = tokio::task::spawn_blocking(move || {
        crate::store::Store::open_existing(&db).and_then(|s| s.summary())
    })
    .await
    .map_err(|e| HttpError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| HttpError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let (hits, misses, entries, bytes) = {
        let c = state.cache.lock().unwrap_or_else(|p| p.into_inner());
        (c.hits, c.misses, c.len(), c.bytes())
    };
    let w = &state.worker.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    let (passes, tiles) = (load(&w.passes), load(&w.tiles));
    let body = serde_json::json!({
        "activities": summary.activities,
        "distance_km": summary.distance_km,
        "first_start": summary.first_start.map(crate::timefmt::iso8601),
        "last_start": summary.last_start.map(crate::timefmt::iso8601),
        "bounds": summary.bounds,
        "per_sport": summary.per_sport,
        "renderer": state.worker.describe.as_str(),
        "tracks_in_scene": state.scene().tracks.len(),
        "cache": {
            "hits": hits,
            "misses": misses,
            "hit_rate": if hits + misses > 0 { hits as f64 / (hits + misses) as f64 } else { 0.0 },
            "tiles": entries,
            "bytes": bytes,
        },
        "tiles_rendered": tiles,
        "render_passes": passes,
        "batch": {
            "mean": if passes > 0 { tiles as f64 / passes as f64 } else { 0.0 },
            "max": load(&w.max_batch),
        },
        "render_ms_total": load(&w.render_ms),
        "uploads": state.uploads.enabled,
    });
    Ok(axum::Json(body).into_response())
}
