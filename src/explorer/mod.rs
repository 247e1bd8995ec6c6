//! Explorer squares: which map tiles (zoom 14, and 17 "squadratinhos") a
//! track has passed through, and what that adds up to.
//!
//! A tile counts as visited when any segment of a track crosses it, not only
//! when a GPS point falls in it: a straight 2 km segment between two points
//! visits every tile on the way ([`cover`]). The tiles of each activity are
//! computed when it is stored (the store's one insert path) and removed with
//! it, so `hotpot explorer` only aggregates ([`stats`]). [`layer`] draws
//! them over a map or poster, [`geojson`] exports what to ride next.

pub mod cover;
pub mod geojson;
pub mod layer;
pub mod stats;

/// The zooms whose tiles are computed at import: 14 (the classic explorer
/// tile, ~2.4 km at the equator) and 17 ("squadratinhos", ~300 m).
pub const ZOOMS: [u8; 2] = [14, 17];

/// A tile at one of [`ZOOMS`]: column and row.
pub(crate) type TileXY = (u32, u32);

/// Whether `zoom` is one whose tiles are kept.
pub fn is_kept_zoom(zoom: u8) -> bool {
    ZOOMS.contains(&zoom)
}
