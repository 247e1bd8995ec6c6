//! `POST /upload`: GPX/TCX/FIT files (also .gz) as multipart form data,
//! imported through the same path as `hotpot import`, then drawn at once.

use super::routes::HttpError;
use super::state::AppState;
use crate::ingest::importer::{ImportOptions, ImportReport, Importer};
use crate::store::Store;
use crate::store::track::Track;
use crate::text::cap;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Serialize)]
struct FileOutcome {
    file: String,
    added: usize,
    duplicates: usize,
    points: u64,
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub async fn upload(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, HttpError> {
    authorize(&state, &headers)?;
    let mut files = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| HttpError(e.status(), format!("bad upload: {}", e.body_text())))?
    {
        let name = field
            .file_name()
            .or(field.name())
            .unwrap_or("upload")
            .to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| HttpError(e.status(), format!("{name}: {}", e.body_text())))?;
        files.push((name, bytes.to_vec()));
    }
    if files.is_empty() {
        return Err(HttpError(
            StatusCode::BAD_REQUEST,
            "no file in the upload (send multipart/form-data)".into(),
        ));
    }
    // One upload at a time writes and swaps the scene, in order.
    let _writer = state.upload_lock.lock().await;
    let db = state.db.clone();
    let trim_m = state.uploads.trim_m;
    let (outcomes, tracks) = tokio::task::spawn_blocking(move || import(&db, files, trim_m))
        .await
        .map_err(|e| HttpError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| HttpError(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let added = tracks.len();
    let invalidated = state.add_tracks(tracks);
    tracing::info!(added, invalidated, "upload imported");
    let status = if outcomes.iter().all(|o| o.error.is_some()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body =
        serde_json::json!({ "added": added, "tiles_invalidated": invalidated, "files": outcomes });
    Ok((status, axum::Json(body)).into_response())
}

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), HttpError> {
    let policy = &state.uploads;
    if !policy.enabled {
        return Err(HttpError(
            StatusCode::FORBIDDEN,
            "uploads are disabled (start the server with --upload)".into(),
        ));
    }
    if let Some(token) = &policy.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token.as_str()) {
            return Err(HttpError(
                StatusCode::UNAUTHORIZED,
                "uploads need 'Authorization: Bearer <HOTPOT_UPLOAD_TOKEN>'".into(),
            ));
        }
    }
    Ok(())
}

/// What an upload did to each file, and the tracks that are new.
type Imported = (Vec<FileOutcome>, Vec<(i64, Track)>);

/// Where uploaded files are recorded as coming from.
const SOURCE_PREFIX: &str = "upload/";

/// Parses and stores the files through the importer, then loads the added
/// tracks for the scene.
fn import(
    db: &std::path::Path,
    files: Vec<(String, Vec<u8>)>,
    trim_m: Option<f64>,
) -> Result<Imported, String> {
    let mut store = Store::open(db).map_err(|e| e.to_string())?;
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let files = files
        .into_iter()
        .map(|(name, bytes)| (format!("{SOURCE_PREFIX}{name}"), bytes))
        .collect();
    let opts = ImportOptions {
        trim_m,
        ..ImportOptions::default()
    };
    let mut report = Importer::new(&mut store, opts)
        .import_bytes(files)
        .map_err(|e| e.to_string())?;
    let ids: Vec<i64> = report.added.iter().map(|a| a.id).collect();
    let tracks = store.tracks_by_id(&ids).map_err(|e| e.to_string())?;
    let outcomes = names
        .into_iter()
        .map(|name| outcome_of(&mut report, name))
        .collect();
    Ok((outcomes, tracks))
}

/// Takes one file's entries out of the report (the first left with its
/// name, so two uploaded files of the same name each get their own).
fn outcome_of(report: &mut ImportReport, file: String) -> FileOutcome {
    let source = std::path::PathBuf::from(format!("{SOURCE_PREFIX}{file}"));
    // JSON escapes control characters; the lengths are capped here.
    let mut out = FileOutcome {
        file: cap(&file).into_owned(),
        added: 0,
        duplicates: 0,
        points: 0,
        warnings: vec![],
        error: None,
    };
    if let Some(i) = report.failed.iter().position(|(p, _)| *p == source) {
        out.error = Some(cap(&report.failed.remove(i).1).into_owned());
    } else if let Some(i) = report.files.iter().position(|f| f.path == source) {
        let f = report.files.remove(i);
        (out.added, out.duplicates, out.points) = (f.added, f.duplicates, f.points);
        // (Two files of the same name in one upload share their warnings.)
        let (mine, rest) = std::mem::take(&mut report.warnings)
            .into_iter()
            .partition(|(p, _)| *p == source);
        report.warnings = rest;
        out.warnings = mine
            .into_iter()
            .map(|(_, w)| cap(&w).into_owned())
            .collect();
    }
    out
}
