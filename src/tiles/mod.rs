//! Many tiles at once: the one batch pipeline behind `hotpot export` and
//! anything else that needs a pyramid (the server's pre-rendering).
//!
//! [`enumerate`] finds the tiles that hold data, from the tracks' real
//! paths rather than their boxes (a ride's box at z16 is mostly empty
//! tiles); [`pipeline`] renders them in big batches through the
//! [`Renderer`](crate::render::Renderer) trait, encodes PNGs on all cores
//! while the next batch renders, and hands them in order to one
//! [`TileSink`](pipeline::TileSink).

pub mod enumerate;
pub mod pipeline;
pub mod saved;

pub use enumerate::{TileWork, enumerate};
pub use pipeline::{PipelineError, PipelineOptions, PipelineReport, TileSink, TileStyleSpec};

/// An XYZ tile (y from the north).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl Tile {
    pub fn new(z: u8, x: u32, y: u32) -> Tile {
        Tile { z, x, y }
    }

    /// The PMTiles tile id: zoom by zoom, Hilbert order inside a zoom. Tiles
    /// sorted by it are near each other on the map (good batches, and the
    /// order a clustered archive stores them in).
    pub fn id(self) -> u64 {
        match pmtiles::TileCoord::new(self.z, self.x, self.y) {
            Ok(c) => pmtiles::TileId::from(c).value(),
            // Only zooms above 31 are refused, and tiles never reach them.
            Err(_) => u64::MAX,
        }
    }

    pub fn from_id(id: u64) -> Option<Tile> {
        let c = pmtiles::TileCoord::from(pmtiles::TileId::new(id).ok()?);
        Some(Tile::new(c.z(), c.x(), c.y()))
    }

    /// The same tile counted from the south, as TMS and MBTiles do.
    pub fn tms_y(self) -> u32 {
        (1u32 << self.z) - 1 - self.y
    }

    pub fn rect(self) -> crate::geo::UnitRect {
        crate::geo::tile_rect(self.z, self.x, self.y)
    }
}

impl std::fmt::Display for Tile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_follow_zoom() {
        for t in [
            Tile::new(0, 0, 0),
            Tile::new(5, 17, 3),
            Tile::new(16, 35_200, 21_493),
        ] {
            assert_eq!(Tile::from_id(t.id()), Some(t));
        }
        assert!(Tile::new(3, 7, 7).id() < Tile::new(4, 0, 0).id());
        assert_eq!(Tile::new(2, 0, 0).tms_y(), 3);
    }
}
