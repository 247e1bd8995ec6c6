//! The map page and its assets, compiled into the binary so the heatmap
//! works without internet (Leaflet 1.9.4 from the npm registry, vendored in
//! `assets/leaflet/`).

use crate::render::colormap::PALETTES;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

pub async fn index() -> Html<&'static str> {
    Html(include_str!("../../assets/index.html"))
}

pub async fn palettes() -> axum::Json<serde_json::Value> {
    let list: Vec<_> = PALETTES
        .iter()
        .map(|(name, gradient, description)| serde_json::json!({"name": name, "gradient": gradient, "description": description}))
        .collect();
    axum::Json(serde_json::Value::Array(list))
}

/// `/assets/{*path}`: only the files listed here exist.
pub async fn asset(Path(path): Path<String>) -> Response {
    let (body, kind): (&'static [u8], &str) = match path.as_str() {
        "map.js" => (include_bytes!("../../assets/map.js"), "text/javascript"),
        "dashboard.js" => (
            include_bytes!("../../assets/dashboard.js"),
            "text/javascript",
        ),
        "leaflet/leaflet.js" => (
            include_bytes!("../../assets/leaflet/leaflet.js"),
            "text/javascript",
        ),
        "leaflet/leaflet.css" => (
            include_bytes!("../../assets/leaflet/leaflet.css"),
            "text/css",
        ),
        "leaflet/images/layers.png" => (
            include_bytes!("../../assets/leaflet/images/layers.png"),
            "image/png",
        ),
        "leaflet/images/layers-2x.png" => (
            include_bytes!("../../assets/leaflet/images/layers-2x.png"),
            "image/png",
        ),
        "leaflet/images/marker-icon.png" => (
            include_bytes!("../../assets/leaflet/images/marker-icon.png"),
            "image/png",
        ),
        "leaflet/images/marker-icon-2x.png" => (
            include_bytes!("../../assets/leaflet/images/marker-icon-2x.png"),
            "image/png",
        ),
        "leaflet/images/marker-shadow.png" => (
            include_bytes!("../../assets/leaflet/images/marker-shadow.png"),
            "image/png",
        ),
        _ => return (StatusCode::NOT_FOUND, format!("no asset {path:?}\n")).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
