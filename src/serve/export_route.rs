//! `GET /api/export.pmtiles`: the dashboard's export button. The same
//! export as `hotpot export heatmap.pmtiles` (the batch tile pipeline, the
//! style of the map page's query), written to a temporary file and sent as
//! a download. One export runs at a time (it takes every core for seconds
//! to minutes); a second request meanwhile gets 503 with a message.

use super::error::HttpError;
use super::state::AppState;
use super::style::StyleQuery;
use crate::export::ExportError;
use crate::export::job::{ExportSpec, export};
use crate::render::cpu::CpuRenderer;
use axum::extract::{Query, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default zooms of a download: the whole pyramid of the CLI's default
/// would take minutes on a big data set; z2-z13 is a few seconds.
const DEFAULT_ZOOMS: (u8, u8) = (2, 13);
/// The deepest zoom a download may ask for (z16 of years of data is
/// minutes of rendering: that is the CLI's job).
const MAX_ZOOM: u8 = 16;

static ONE_AT_A_TIME: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
static COUNTER: AtomicU64 = AtomicU64::new(0);

pub async fn export_pmtiles(
    State(state): State<Arc<AppState>>,
    Query(style): Query<StyleQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, HttpError> {
    let zooms = zooms(raw.as_deref().unwrap_or(""))?;
    let Ok(_permit) = ONE_AT_A_TIME.try_acquire() else {
        return Err(HttpError(
            StatusCode::SERVICE_UNAVAILABLE,
            "an export is already running: try again when it is done".into(),
        ));
    };
    let output = std::env::temp_dir().join(format!(
        "hotpot-export-{}-{}.pmtiles",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let spec = ExportSpec {
        db: state.db.clone(),
        output: output.clone(),
        zooms: zooms.0..=zooms.1,
        area: None,
        style,
        tile_size: 256,
        shard: None,
        viewer: None,
        name: "hotpot heatmap".into(),
        progress: false,
    };
    let bytes = tokio::task::spawn_blocking(move || {
        let made = export(&spec, &mut CpuRenderer::new());
        let bytes = made.map(|_| std::fs::read(&spec.output));
        let _ = std::fs::remove_file(&spec.output);
        bytes
    })
    .await
    .map_err(HttpError::internal)?
    .map_err(|e| match e {
        // The query's style or filter: the caller's to fix.
        ExportError::Invalid { message, .. } => HttpError::bad_request(message),
        e => HttpError::internal(format!("export: {e}")),
    })?
    .map_err(|e| HttpError::internal(format!("export: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.pmtiles"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"heatmap.pmtiles\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `zoom=2-13` (or `zoom=12`) from the raw query; the default without one.
fn zooms(raw: &str) -> Result<(u8, u8), HttpError> {
    let Some(v) = form_urlencoded::parse(raw.as_bytes())
        .find(|(k, _)| k == "zoom")
        .map(|(_, v)| v.into_owned())
    else {
        return Ok(DEFAULT_ZOOMS);
    };
    let num = |s: &str| s.trim().parse::<u8>().ok().filter(|&z| z <= MAX_ZOOM);
    let (a, b) = match v.split_once('-') {
        Some((a, b)) => (num(a), num(b)),
        None => (num(&v), num(&v)),
    };
    match (a, b) {
        (Some(a), Some(b)) if a <= b => Ok((a, b)),
        _ => Err(HttpError::bad_request(format!(
            "zoom {v:?}: give Z or Z1-Z2 within 0-{MAX_ZOOM}"
        ))),
    }
}
