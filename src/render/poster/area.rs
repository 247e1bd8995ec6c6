//! Which part of the world a poster shows: exact bounds (given by the
//! user, see [`crate::geo::LonLatBounds`]), all the data with a margin, or
//! what a render at a Web Mercator zoom covers around a centre.

use crate::geo::{MAX_LAT, UnitRect, lonlat_to_unit};

/// The deepest zoom `--zoom` accepts: past LOD's last level a pixel is
/// millimetres and nothing gets sharper.
pub const MAX_ZOOM: f64 = crate::render::lod::MAX_LEVEL as f64;

/// Margin around the data when fitting, as a fraction of its size per side.
pub const DEFAULT_MARGIN: f64 = 0.05;

/// Bigger aspect-ratio differences between the pixels and the area than
/// this are worth a warning: the map will look stretched.
pub const ASPECT_TOLERANCE: f64 = 0.01;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AreaError {
    #[error("expected LAT,LON in degrees, e.g. 52.52,13.405; got {0:?}")]
    CenterSyntax(String),
    #[error("latitude {0} is outside the Web Mercator map (±85.05)")]
    Latitude(f64),
    #[error("longitude {0} is outside -180..180")]
    Longitude(f64),
    #[error("zoom {0} is outside 0..{max}", max = MAX_ZOOM)]
    Zoom(f64),
    #[error("expected a margin such as 5% or 0, got {0:?}")]
    Margin(String),
}

/// The box of `data` grown by `margin` (a fraction of its size) on every
/// side, then widened or heightened about its centre to `aspect` (width
/// over height, in pixels) when given, so that a poster of fixed size frames
/// the data without stretching it.
pub fn fit(data: UnitRect, margin: f64, aspect: Option<f64>) -> UnitRect {
    // 1e-6 of the world is ~40 m: a single point still gets a visible frame.
    let r = data.padded(margin, 1e-6);
    let Some(aspect) = aspect else { return r };
    let (cx, cy) = ((r.x0 + r.x1) / 2.0, (r.y0 + r.y1) / 2.0);
    let (mut w, mut h) = (r.width(), r.height());
    if w / h < aspect {
        w = h * aspect;
    } else {
        h = w / aspect;
    }
    UnitRect {
        x0: cx - w / 2.0,
        y0: cy - h / 2.0,
        x1: cx + w / 2.0,
        y1: cy + h / 2.0,
    }
}

/// The area a `width` x `height` pixel render at Web Mercator `zoom`
/// (256 px tiles, fractional zooms allowed) centred on `lat`, `lon` covers.
pub fn around(
    lat: f64,
    lon: f64,
    zoom: f64,
    width: u32,
    height: u32,
) -> Result<UnitRect, AreaError> {
    if !(-MAX_LAT..=MAX_LAT).contains(&lat) {
        return Err(AreaError::Latitude(lat));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(AreaError::Longitude(lon));
    }
    if !(0.0..=MAX_ZOOM).contains(&zoom) {
        return Err(AreaError::Zoom(zoom));
    }
    let (cx, cy) = lonlat_to_unit(lon, lat);
    let world_px = 256.0 * zoom.exp2();
    let (hw, hh) = (
        width as f64 / world_px / 2.0,
        height as f64 / world_px / 2.0,
    );
    Ok(UnitRect {
        x0: cx - hw,
        y0: cy - hh,
        x1: cx + hw,
        y1: cy + hh,
    })
}

/// `(pixel aspect, area aspect)` when they differ by more than
/// [`ASPECT_TOLERANCE`]. Web Mercator is conformal, so the area's aspect in
/// Mercator units is the one the eye sees.
pub fn aspect_mismatch(area: UnitRect, width: u32, height: u32) -> Option<(f64, f64)> {
    let px = width as f64 / height as f64;
    let map = area.width() / area.height();
    ((px / map - 1.0).abs() > ASPECT_TOLERANCE).then_some((px, map))
}

/// Parses `LAT,LON` in degrees.
pub fn parse_center(s: &str) -> Result<(f64, f64), AreaError> {
    let bad = || AreaError::CenterSyntax(s.to_string());
    let (lat, lon) = s.split_once(',').ok_or_else(bad)?;
    let num = |v: &str| v.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    match (num(lat), num(lon)) {
        (Some(lat), Some(lon)) => Ok((lat, lon)),
        _ => Err(bad()),
    }
}

/// Parses a margin: `5%` or `5` (percent of the data's size per side).
pub fn parse_margin(s: &str) -> Result<f64, AreaError> {
    let t = s.trim();
    match t.strip_suffix('%').unwrap_or(t).trim().parse::<f64>() {
        Ok(p) if p.is_finite() && (0.0..=1000.0).contains(&p) => Ok(p / 100.0),
        _ => Err(AreaError::Margin(s.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn fit_keeps_the_data_centred_and_matches_the_aspect() {
        let data = UnitRect {
            x0: 0.5,
            y0: 0.3,
            x1: 0.6,
            y1: 0.35,
        };
        let r = fit(data, 0.05, None);
        assert!(close(r.width(), 0.11) && close(r.height(), 0.055));
        let r = fit(data, 0.0, Some(1.0));
        assert!(close(r.width(), 0.1) && close(r.height(), 0.1), "{r:?}");
        assert!(close((r.y0 + r.y1) / 2.0, 0.325));
        let r = fit(data, 0.0, Some(4.0));
        assert!(close(r.width(), 0.2) && close(r.height(), 0.05), "{r:?}");
    }

    #[test]
    fn around_covers_what_tiles_at_that_zoom_cover() {
        // At zoom 0 the whole world is 256 px: 256 px around (0, 0) is all of it.
        let r = around(0.0, 0.0, 0.0, 256, 256).unwrap();
        assert!(close(r.x0, 0.0) && close(r.y1, 1.0), "{r:?}");
        // At zoom 10, 512 x 256 px is two tiles by one.
        let r = around(52.52, 13.405, 10.0, 512, 256).unwrap();
        assert!(close(r.width(), 2.0 / 1024.0) && close(r.height(), 1.0 / 1024.0));
        assert_eq!(around(89.0, 0.0, 3.0, 1, 1), Err(AreaError::Latitude(89.0)));
        assert_eq!(around(0.0, 0.0, 30.0, 1, 1), Err(AreaError::Zoom(30.0)));
    }

    #[test]
    fn aspect_mismatch_tolerates_rounding() {
        let sq = UnitRect {
            x0: 0.0,
            y0: 0.0,
            x1: 0.01,
            y1: 0.01,
        };
        assert_eq!(aspect_mismatch(sq, 1000, 1005), None);
        let (px, map) = aspect_mismatch(sq, 2000, 1000).unwrap();
        assert!(close(px, 2.0) && close(map, 1.0));
    }

    #[test]
    fn parsers() {
        assert_eq!(parse_center("52.5, 13.4"), Ok((52.5, 13.4)));
        assert!(parse_center("52.5").is_err());
        assert!(parse_center("a,b").is_err());
        assert_eq!(parse_margin("5%"), Ok(0.05));
        assert_eq!(parse_margin("0"), Ok(0.0));
        assert!(parse_margin("-1%").is_err());
        assert!(parse_margin("lots").is_err());
    }
}
