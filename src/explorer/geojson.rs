//! GeoJSON of tiles, for route planners (the unvisited tiles around the
//! cluster are what one imports to plan the next ride).

use super::TileXY;
use crate::geo::tile_rect;
use serde_json::{Value, json};

/// A FeatureCollection with one Polygon per tile; each feature says its
/// `z`, `x`, `y` and `kind`.
pub fn tiles_geojson(zoom: u8, tiles: impl IntoIterator<Item = TileXY>, kind: &str) -> Value {
    let features: Vec<Value> = tiles
        .into_iter()
        .map(|(x, y)| {
            let b = tile_rect(zoom, x, y).to_lonlat();
            // Counter-clockwise outer ring, closed (RFC 7946 §3.1.6).
            let ring = [
                [b.west, b.south],
                [b.east, b.south],
                [b.east, b.north],
                [b.west, b.north],
                [b.west, b.south],
            ];
            json!({
                "type": "Feature",
                "properties": {"z": zoom, "x": x, "y": y, "kind": kind},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            })
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}
