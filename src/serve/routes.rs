//! HTTP handlers: thin layers over the cache, the worker and the store.

use super::cache::{CachedTile, TileKey};
pub use super::error::HttpError;
use super::error::TileError;
use super::state::AppState;
use super::style::{StyleQuery, TileStyle};
use crate::render::look;
use crate::render::{RenderJob, View, encode};
use crate::tiles::Tile;
use crate::tiles::saved::Lookup;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub const MAX_ZOOM: u8 = 20;
const CACHE_CONTROL: &str = "public, max-age=600, stale-while-revalidate=86400";
/// Said on a tile whose filter names a key no activity has.
pub const WARNING: HeaderName = HeaderName::from_static("x-hotpot-warning");

fn bad_request(msg: impl Into<String>) -> HttpError {
    HttpError::bad_request(msg)
}

/// `/tiles/{z}/{x}/{y}.png` (256 px) and `/tiles/{z}/{x}/{y}@2x.png` (512).
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

/// hotpot's `/tile/{z}/{x}/{y}` with `?color=` and `?gradient=`: 512 px
/// like hotpot's, `{y}@small` 256 and `{y}@2x` 1024 (`.png` optional).
pub async fn hotpot_tile(
    State(state): State<Arc<AppState>>,
    Path((z, x, y)): Path<(String, String, String)>,
    Query(q): Query<StyleQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let (y, size) = parse_hotpot_file(&y);
    let (z, x, y) = parse_coords(&z, &x, y)?;
    tile(state, z, x, y, size, &q, &headers).await
}

/// hotpot's tile names: `7` → (7, 512), `7@small` → (7, 256), `7@2x` →
/// (7, 1024), each also with `.png`.
pub(super) fn parse_hotpot_file(y: &str) -> (&str, u32) {
    let y = y.strip_suffix(".png").unwrap_or(y);
    match (y.strip_suffix("@small"), y.strip_suffix("@2x")) {
        (Some(y), _) => (y, 256),
        (_, Some(y)) => (y, 1024),
        _ => (y, 512),
    }
}

/// `7.png` → (7, 256); `7@2x.png` → (7, 512).
pub(super) fn parse_tile_file(file: &str) -> Result<(String, u32), HttpError> {
    let stem = file
        .strip_suffix(".png")
        .ok_or_else(|| bad_request(format!("{file:?}: tiles end in .png")))?;
    Ok(match stem.strip_suffix("@2x") {
        Some(y) => (y.to_string(), 512),
        None => (stem.to_string(), 256),
    })
}

pub(super) fn parse_coords(z: &str, x: &str, y: &str) -> Result<(u8, u32, u32), HttpError> {
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
    let style = TileStyle::from_query(q)?;
    let warning = match &style.filter {
        Some(f) => unknown_keys_warning(
            &state
                .unknown_keys(f)
                .await
                .map_err(|e| HttpError::from(&e))?,
        ),
        None => None,
    };
    let key = TileKey {
        style: style.key.clone(),
        z,
        x,
        y,
        size,
    };
    let tile = match state.cache.get(&key).await {
        Some(t) => t,
        // In a task of its own: when the client goes away (Leaflet cancels
        // tiles on every pan) this handler is dropped, but the render
        // finishes and is cached for the next request.
        None => {
            let st = state.clone();
            tokio::spawn(async move {
                let make = saved_or_rendered(st.clone(), Tile::new(z, x, y), size, style);
                st.cache.get_or_make(key, make).await
            })
            .await
            .map_err(HttpError::internal)?
            .map_err(|e| HttpError::from(e.as_ref()))?
        }
    };
    let mut res = respond(&state, tile, size, headers);
    if let Some(w) = warning {
        res.headers_mut().insert(WARNING, w);
    }
    Ok(res)
}

/// `filter key "hr" is in no activity` (escaped to ASCII for a header).
fn unknown_keys_warning(keys: &[String]) -> Option<HeaderValue> {
    if keys.is_empty() {
        return None;
    }
    let names: Vec<String> = keys
        .iter()
        .map(|k| format!("\"{}\"", k.escape_default()))
        .collect();
    let plural = if keys.len() == 1 { "key" } else { "keys" };
    let text = format!(
        "filter {plural} {} in no activity: terms on them match nothing",
        names.join(", ")
    );
    HeaderValue::from_str(&text).ok()
}

/// The tile from the pre-rendered ones when they hold it (or know it
/// empty), else rendered.
async fn saved_or_rendered(
    state: Arc<AppState>,
    tile: Tile,
    size: u32,
    style: TileStyle,
) -> Result<CachedTile, TileError> {
    if let Some(pre) = state.prerender.clone() {
        let st = style.clone();
        let found = tokio::task::spawn_blocking(move || pre.lookup(&st, size, tile))
            .await
            .map_err(|e| TileError::Task(e.to_string()))?;
        match found {
            Ok(Lookup::Png(png)) => return Ok(CachedTile::new(Bytes::from(png))),
            Ok(Lookup::Empty) => return Ok(CachedTile::new(Bytes::new())),
            Ok(Lookup::Unknown) => {}
            // A broken cache file must not fail the tile: draw it.
            Err(e) => tracing::warn!("pre-rendered tile {tile}: {e}"),
        }
    }
    render_and_encode(state, View::tile(tile.z, tile.x, tile.y, size), style).await
}

async fn render_and_encode(
    state: Arc<AppState>,
    view: View,
    style: TileStyle,
) -> Result<CachedTile, TileError> {
    let job = match style.line_width {
        Some(w) => RenderJob {
            view,
            line_width: w,
        },
        None => RenderJob::new(view),
    };
    let density = state
        .from_current_scene(style.filter.as_ref(), |scene| {
            let worker = state.worker.clone();
            let job = look::job_to_render(&job, style.glow);
            async move { Ok::<_, TileError>((worker.render(job, scene.clone()).await?, scene)) }
        })
        .await?;
    let (density, scene) = density;
    let (cm, eqhist, glow, scale) = (
        style.colormap.clone(),
        state.eqhist.clone(),
        style.glow,
        style.scale,
    );
    let png = tokio::task::spawn_blocking(move || {
        let (density, cm) = look::finish(density, &job, glow, scale, cm, &scene, &eqhist);
        if density.data.iter().all(|&v| v == 0) && cm.background.is_none() {
            return Ok(Bytes::new());
        }
        encode::indexed_png(&density, &cm).map(Bytes::from)
    })
    .await
    .map_err(|e| TileError::Task(e.to_string()))?
    .map_err(|e| TileError::Encode(e.to_string()))?;
    Ok(CachedTile::new(png))
}

/// An empty body stands for "nothing here": a transparent PNG of the
/// tile's size, or 204.
pub fn respond(state: &AppState, tile: CachedTile, size: u32, headers: &HeaderMap) -> Response {
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
        return (
            common,
            [(header::CONTENT_TYPE, "image/png")],
            empty_png(size),
        )
            .into_response();
    }
    (common, [(header::CONTENT_TYPE, "image/png")], tile.png).into_response()
}

/// A fully transparent PNG of `size`² pixels, made once per size. Full
/// size, not 1x1: GDAL and QGIS refuse a tile of another size than they
/// asked for ("Incorrect size 1 x 1 of downloaded block", issue 10, item
/// 17). A 1024² one is 4 KB.
pub fn empty_png(size: u32) -> Bytes {
    use std::sync::OnceLock;
    static PNGS: [OnceLock<Bytes>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let make = || {
        let img = crate::render::RgbaImage {
            width: size,
            height: size,
            data: vec![0; (size * size * 4) as usize],
        };
        Bytes::from(encode::png_bytes(&img, false).expect("encoding an empty image cannot fail"))
    };
    match size {
        256 => PNGS[0].get_or_init(make).clone(),
        512 => PNGS[1].get_or_init(make).clone(),
        1024 => PNGS[2].get_or_init(make).clone(),
        _ => make(),
    }
}

/// What the pre-rendering has saved and whether it is done.
async fn prerender_stats(state: &AppState) -> serde_json::Value {
    let Some(pre) = state.prerender.clone() else {
        return serde_json::Value::Null;
    };
    let p = pre.clone();
    let totals = tokio::task::spawn_blocking(move || p.saved.totals()).await;
    let (tiles, bytes) = match totals {
        Ok(Ok(t)) => t,
        _ => (0, 0),
    };
    serde_json::json!({
        "complete": pre.complete(),
        "busy": pre.busy.load(Ordering::Relaxed),
        "rendered": pre.rendered.load(Ordering::Relaxed),
        "saved_tiles": tiles,
        "saved_bytes": bytes,
        "file": pre.saved.path().display().to_string(),
    })
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
    .map_err(HttpError::internal)??;
    let c = &state.cache;
    let (hits, misses) = (
        c.hits.load(Ordering::Relaxed),
        c.misses.load(Ordering::Relaxed),
    );
    let (entries, bytes) = (c.len(), c.bytes());
    let conns = &state.connections;
    let w = &state.worker.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
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
        "scene_updates": load(&state.scene_updates),
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
        "prerender": prerender_stats(&state).await,
        "uploads": state.uploads.enabled,
        "connections": {
            "open": conns.open(),
            "max": conns.limits.max_connections,
            "closed_idle": conns.closed_idle.load(Ordering::Relaxed),
        },
    });
    Ok(axum::Json(body).into_response())
}
