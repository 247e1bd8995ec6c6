//! Web Mercator: the one place for projection math.
//!
//! Positions are stored as fixed-point "world" coordinates: the Web Mercator
//! square mapped onto `0..2^32` on both axes (x east, y south). At the equator
//! one unit is about 1 cm, fine enough for zoom 20 tiles, and a `u32` pair
//! delta-encodes to a few bytes per GPS point.
//!
//! The small per-point functions are `#[inline]`: this crate is separate
//! from the importer and the renderers that call them once per point, and
//! without the hint rustc may not inline across crates.

use std::f64::consts::PI;

/// Latitude limit of the Web Mercator square.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;
/// World units per world width (2^32).
pub const WORLD_SIZE: f64 = 4_294_967_296.0;
/// Mean Earth radius used for ground distances (metres).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A position in fixed-point world coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WorldPoint {
    pub x: u32,
    pub y: u32,
}

/// Projects WGS84 degrees to normalized Mercator (`0..1` on both axes).
#[inline]
pub fn lonlat_to_unit(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0;
    (x, y)
}

/// Inverse of [`lonlat_to_unit`].
#[inline]
pub fn unit_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    (lon, lat)
}

impl WorldPoint {
    #[inline]
    pub fn from_lonlat(lon: f64, lat: f64) -> WorldPoint {
        let (x, y) = lonlat_to_unit(lon, lat);
        WorldPoint {
            x: unit_to_fixed(x),
            y: unit_to_fixed(y),
        }
    }

    #[inline]
    pub fn to_lonlat(self) -> (f64, f64) {
        unit_to_lonlat(self.x as f64 / WORLD_SIZE, self.y as f64 / WORLD_SIZE)
    }

    #[inline]
    pub fn unit(self) -> (f64, f64) {
        (self.x as f64 / WORLD_SIZE, self.y as f64 / WORLD_SIZE)
    }
}

fn unit_to_fixed(u: f64) -> u32 {
    (u * WORLD_SIZE).round().clamp(0.0, u32::MAX as f64) as u32
}

/// Great-circle distance in metres (haversine).
#[inline]
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// A geographic box: west, south, east, north in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLatBounds {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

/// Why a `W,S,E,N` box was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BoundsError {
    #[error("expected W,S,E,N (four numbers), got {0:?}")]
    Count(String),
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("{0:?} is not a finite number")]
    NotFinite(String),
    #[error("longitudes must be within -180..180")]
    Longitude,
    #[error("latitudes must be within -90..90")]
    Latitude,
    #[error("west ({0}) must be less than east ({1})")]
    WestEast(f64, f64),
    #[error("south ({0}) must be less than north ({1})")]
    SouthNorth(f64, f64),
}

impl LonLatBounds {
    /// Parses `W,S,E,N` as hotpot and most tools write it.
    pub fn parse(s: &str) -> Result<LonLatBounds, BoundsError> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if parts.len() != 4 {
            return Err(BoundsError::Count(s.to_string()));
        }
        let mut v = [0.0; 4];
        for (slot, part) in v.iter_mut().zip(&parts) {
            *slot = part
                .parse::<f64>()
                .map_err(|_| BoundsError::NotANumber(part.to_string()))?;
            if !slot.is_finite() {
                return Err(BoundsError::NotFinite(part.to_string()));
            }
        }
        let b = LonLatBounds {
            west: v[0],
            south: v[1],
            east: v[2],
            north: v[3],
        };
        if !(-180.0..=180.0).contains(&b.west) || !(-180.0..=180.0).contains(&b.east) {
            return Err(BoundsError::Longitude);
        }
        if !(-90.0..=90.0).contains(&b.south) || !(-90.0..=90.0).contains(&b.north) {
            return Err(BoundsError::Latitude);
        }
        if b.west >= b.east {
            return Err(BoundsError::WestEast(b.west, b.east));
        }
        if b.south >= b.north {
            return Err(BoundsError::SouthNorth(b.south, b.north));
        }
        Ok(b)
    }

    /// The box in normalized Mercator units (`x0 < x1`, `y0 < y1`, y south).
    pub fn to_unit(self) -> UnitRect {
        let (x0, y1) = lonlat_to_unit(self.west, self.south);
        let (x1, y0) = lonlat_to_unit(self.east, self.north);
        UnitRect { x0, y0, x1, y1 }
    }
}

/// A rectangle in normalized Mercator units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitRect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl UnitRect {
    /// The rectangle of a box in world units, `[x0, y0, x1, y1]`.
    pub fn from_world_box([x0, y0, x1, y1]: [u32; 4]) -> UnitRect {
        let f = |v: u32| v as f64 / WORLD_SIZE;
        UnitRect {
            x0: f(x0),
            y0: f(y0),
            x1: f(x1),
            y1: f(y1),
        }
    }

    /// Whether the two share more than an edge.
    pub fn overlaps(&self, other: &UnitRect) -> bool {
        self.x0 < other.x1 && other.x0 < self.x1 && self.y0 < other.y1 && other.y0 < self.y1
    }

    #[inline]
    pub fn width(&self) -> f64 {
        self.x1 - self.x0
    }
    #[inline]
    pub fn height(&self) -> f64 {
        self.y1 - self.y0
    }

    /// Grows the rectangle by `frac` of its size on every side, and makes a
    /// degenerate (single point) rectangle at least `min_size` wide and tall.
    pub fn padded(&self, frac: f64, min_size: f64) -> UnitRect {
        let w = self.width().max(min_size);
        let h = self.height().max(min_size);
        let cx = (self.x0 + self.x1) / 2.0;
        let cy = (self.y0 + self.y1) / 2.0;
        let (hw, hh) = (w * (0.5 + frac), h * (0.5 + frac));
        UnitRect {
            x0: cx - hw,
            y0: cy - hh,
            x1: cx + hw,
            y1: cy + hh,
        }
    }

    pub fn to_lonlat(self) -> LonLatBounds {
        let (west, north) = unit_to_lonlat(self.x0, self.y0);
        let (east, south) = unit_to_lonlat(self.x1, self.y1);
        LonLatBounds {
            west,
            south,
            east,
            north,
        }
    }
}

/// The normalized Mercator rectangle of XYZ tile `z/x/y` (y from the north).
pub fn tile_rect(z: u8, x: u32, y: u32) -> UnitRect {
    let n = (1u64 << z) as f64;
    UnitRect {
        x0: x as f64 / n,
        y0: y as f64 / n,
        x1: (x + 1) as f64 / n,
        y1: (y + 1) as f64 / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_fixed_point() {
        for &(lon, lat) in &[
            (0.0, 0.0),
            (13.405, 52.52),
            (-122.42, 37.77),
            (179.9, -85.0),
        ] {
            let p = WorldPoint::from_lonlat(lon, lat);
            let (lon2, lat2) = p.to_lonlat();
            assert!(
                (lon - lon2).abs() < 1e-7 && (lat - lat2).abs() < 1e-7,
                "{lon},{lat}"
            );
        }
    }

    #[test]
    fn known_tile_corners() {
        // Zoom 1 splits the world at the equator and the prime meridian.
        let (x, y) = lonlat_to_unit(0.0, 0.0);
        assert!((x - 0.5).abs() < 1e-12 && (y - 0.5).abs() < 1e-12);
        let (_, y) = lonlat_to_unit(0.0, MAX_LAT);
        assert!(y.abs() < 1e-9);
        // Berlin, z10: tile 550/335 (as OSM's tile calculators give).
        let (x, y) = lonlat_to_unit(13.405, 52.52);
        assert_eq!(((x * 1024.0) as u32, (y * 1024.0) as u32), (550, 335));
    }

    #[test]
    fn haversine_one_degree_of_latitude() {
        let d = haversine_m(0.0, 0.0, 1.0, 0.0);
        assert!((d - 111_195.0).abs() < 5.0, "{d}");
    }

    #[test]
    fn bounds_parse_errors_are_specific() {
        assert!(
            LonLatBounds::parse("1,2,3")
                .unwrap_err()
                .to_string()
                .contains("four")
        );
        assert!(
            LonLatBounds::parse("3,0,1,1")
                .unwrap_err()
                .to_string()
                .contains("west")
        );
        assert!(
            LonLatBounds::parse("0,0,1,x")
                .unwrap_err()
                .to_string()
                .contains("not a number")
        );
        assert!(LonLatBounds::parse("13.3, 52.4, 13.5, 52.6").is_ok());
    }
}
