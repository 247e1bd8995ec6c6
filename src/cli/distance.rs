//! Distances as the command line takes them ("500m", "0.3 mi", "300").

/// Metres per unit, by every name the option accepts (lower case).
const UNITS: &[(&[&str], f64)] = &[
    (&["m", "meter", "meters", "metre", "metres"], 1.0),
    (
        &["km", "kilometer", "kilometers", "kilometre", "kilometres"],
        1000.0,
    ),
    (&["mi", "mile", "miles"], 1609.344),
    (&["ft", "foot", "feet"], 0.3048),
];

/// Reads a distance such as "500m", "500 m", "0.5km", "1.2 mi", "1000ft" or
/// "300" (metres) into metres.
pub fn parse_distance_m(s: &str) -> Result<f64, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty distance; expected e.g. 500m, 0.5km, 1.2mi or 1000ft".into());
    }
    let split = text
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .len();
    let (number, unit) = (text[..split].trim_end(), &text[split..]);
    if number.is_empty() {
        return Err(format!(
            "no number in distance {s:?}; expected e.g. 500m, 0.5km, 1.2mi or 1000ft"
        ));
    }
    let per_unit = if unit.is_empty() {
        1.0
    } else {
        unit_metres(unit).ok_or_else(|| {
            format!("unknown unit {unit:?} in distance {s:?}; use m, km, mi or ft")
        })?
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{number:?} is not a number (in distance {s:?})"))?;
    let metres = value * per_unit;
    if !metres.is_finite() {
        return Err(format!("distance {s:?} is not a finite number"));
    }
    if metres < 0.0 {
        return Err(format!("distance {s:?} is negative"));
    }
    Ok(metres)
}

fn unit_metres(unit: &str) -> Option<f64> {
    let unit = unit.to_ascii_lowercase();
    UNITS
        .iter()
        .find(|(names, _)| names.contains(&unit.as_str()))
        .map(|&(_, metres)| metres)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_distances() {
        let ok = |s: &str, m: f64| {
            let v = parse_distance_m(s).unwrap();
            assert!((v - m).abs() < 1e-9, "{s}: {v}");
        };
        ok("500m", 500.0);
        ok("500 m", 500.0);
        ok(" 0.5km ", 500.0);
        ok("1.2 mi", 1931.2128);
        ok("300", 300.0);
        ok("1000ft", 304.8);
        ok("2 Miles", 3218.688);
        ok("1e3m", 1000.0);
        ok("0", 0.0);
        let err = |s: &str, needle: &str| {
            let e = parse_distance_m(s).unwrap_err();
            assert!(e.contains(needle), "{s}: {e}");
        };
        err("", "empty");
        err("-5m", "negative");
        err("inf", "no number");
        err("inf m", "finite");
        err("NaN", "no number");
        err("1e999", "finite");
        err("5 furlongs", "unknown unit \"furlongs\"");
        err("1,5km", "not a number");
        err("km", "no number");
    }
}
