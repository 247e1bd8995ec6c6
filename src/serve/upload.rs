//! `POST /upload`: GPX/TCX/FIT files (also .gz) as multipart form data,
//! imported through the same path as `hotpot import`, then drawn at once.

use super::routes::HttpError;
use super::state::AppState;
use crate::ingest::{activity, parse_bytes};
use crate::store::track::Track;
use crate::store::{InsertOutcome, SourceFile, Store};
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
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
    mut multipart: Multipart,
) -> Result<Response, HttpError> {
    // Who may upload is checked before the body is read: see `guard`.
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
        files.push((name, bytes));
    }
    if files.is_empty() {
        return Err(HttpError(
            StatusCode::BAD_REQUEST,
            "no file in the upload (send multipart/form-data)".into(),
        ));
    }
    // One upload at a time writes the database. The scene update is queued
    // after the lock is let go, so that the uploads arriving meanwhile are
    // drawn in the same update (`state`'s scene-updates thread).
    let writer = state.upload_lock.lock().await;
    let db = state.db.clone();
    let (outcomes, tracks) = tokio::task::spawn_blocking(move || import(&db, files))
        .await
        .map_err(|e| HttpError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| HttpError(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    drop(writer);
    let added = tracks.len();
    let invalidated = state.add_tracks(tracks).await;
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

/// What an upload did to each file, and the tracks that are new.
type Imported = (Vec<FileOutcome>, Vec<(i64, Track)>);

/// Parses and stores the files.
fn import(
    db: &std::path::Path,
    files: Vec<(String, axum::body::Bytes)>,
) -> Result<Imported, String> {
    let mut store = Store::open(db).map_err(|e| e.to_string())?;
    let mut outcomes = Vec::new();
    let mut tracks = Vec::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    for (name, bytes) in files {
        let mut out = FileOutcome {
            file: name.clone(),
            added: 0,
            duplicates: 0,
            points: 0,
            warnings: vec![],
            error: None,
        };
        match parse_bytes(&name, &bytes) {
            Err(e) => out.error = Some(e.to_string()),
            Ok(parsed) => {
                let source = format!("upload/{name}");
                let rows: Vec<_> = parsed
                    .activities
                    .iter()
                    .map(|a| activity::prepare(a, &source))
                    .collect();
                let stamp = SourceFile {
                    path: source,
                    size: bytes.len() as u64,
                    mtime_ns: now,
                };
                let result = store
                    .insert_batch(&[(stamp, rows.clone())])
                    .map_err(|e| e.to_string())?;
                for (row, outcome) in rows.iter().zip(&result[0]) {
                    out.points += row.num_points as u64;
                    match outcome {
                        InsertOutcome::Added(id) => {
                            out.added += 1;
                            let t = Track::decode(&row.track_blob).map_err(|e| e.to_string())?;
                            tracks.push((*id, t));
                        }
                        InsertOutcome::Duplicate { .. } => out.duplicates += 1,
                    }
                }
                out.warnings = parsed.warnings;
            }
        }
        outcomes.push(out);
    }
    Ok((outcomes, tracks))
}
