//! Google's encoded polyline (Strava's `map.polyline`), the fallback when
//! an activity has no streams. Hand-written: the format is one 20-line
//! loop, and the georust crate would bring geo-types along for it.

/// Decodes a precision-5 polyline into (lat, lon) pairs; `None` when the
/// text is not a polyline (a truncated or foreign string).
pub fn decode(s: &str) -> Option<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let (mut lat, mut lon) = (0i64, 0i64);
    let mut bytes = s.bytes();
    loop {
        let Some(dlat) = next_value(&mut bytes, true)? else {
            return Some(out);
        };
        let dlon = next_value(&mut bytes, false)??;
        lat += dlat;
        lon += dlon;
        out.push((lat as f64 / 1e5, lon as f64 / 1e5));
    }
}

/// The next zig-zag varint: `Some(None)` at a clean end (allowed only
/// before a latitude), `None` on bad input.
fn next_value(bytes: &mut std::str::Bytes, end_ok: bool) -> Option<Option<i64>> {
    let (mut result, mut shift) = (0i64, 0u32);
    loop {
        let Some(b) = bytes.next() else {
            return (end_ok && shift == 0).then_some(None);
        };
        if !(63..=126).contains(&b) || shift > 60 {
            return None;
        }
        let chunk = (b - 63) as i64;
        result |= (chunk & 0x1f) << shift;
        shift += 5;
        if chunk < 0x20 {
            let v = if result & 1 == 1 {
                !(result >> 1)
            } else {
                result >> 1
            };
            return Some(Some(v));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_googles_example() {
        // The example of Google's format description.
        let pts = super::decode("_p~iF~ps|U_ulLnnqC_mqNvxq`@").unwrap();
        assert_eq!(
            pts,
            vec![(38.5, -120.2), (40.7, -120.95), (43.252, -126.453)]
        );
        assert_eq!(super::decode(""), Some(vec![]));
        assert_eq!(super::decode("_p~iF"), None, "latitude without longitude");
        assert_eq!(super::decode("_p~iF~ps|U\u{7f}"), None);
    }
}
