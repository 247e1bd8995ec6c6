//! erik/hotpot's names for the computed properties, so that its users'
//! filters keep working: `total_distance > 50000`, `name like "Morning%"`.
//!
//! hotpot stored each activity's statistics under its own names and units
//! (`src/track_stats.rs`, `TrackStats::merge_into`): metres, seconds and
//! km/h, rounded to whole numbers except the speeds (one decimal). Ours are
//! `distance_km`, `elapsed_s`, `avg_speed_kmh` and so on. An alias reads
//! ours and converts to hotpot's unit and rounding, so a filter means what
//! it meant in hotpot.
//!
//! As in hotpot, where values from the file "take precedence": an activity
//! that has a property literally named `total_distance` (from a joined
//! CSV, say) is filtered on that, and the alias applies only where the key
//! is absent. `eval.rs` and `sql.rs` both follow this.

/// What an alias stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Alias {
    /// Another key, as it is (`name` is our `title`).
    Key(&'static str),
    /// A number property of ours converted: `round(value * scale) / per`.
    /// `per` is 10^decimals, `scale` the unit factor times `per`, both
    /// exact in binary, so SQL and Rust compute bit-identical results.
    Number {
        stored: &'static str,
        scale: f64,
        per: f64,
    },
}

/// `key`'s alias, if it is one of hotpot's names.
pub(super) fn alias(key: &str) -> Option<Alias> {
    let whole = |stored, unit: f64| Alias::Number {
        stored,
        scale: unit,
        per: 1.0,
    };
    Some(match key {
        "name" => Alias::Key("title"),
        // hotpot: metres; ours: kilometres to three decimals.
        "total_distance" => whole("distance_km", 1000.0),
        // hotpot: whole seconds.
        "elapsed_time" => whole("elapsed_s", 1.0),
        "moving_time" => whole("moving_s", 1.0),
        // hotpot: whole metres.
        "elevation_gain" => whole("elevation_gain_m", 1.0),
        "elevation_loss" => whole("elevation_loss_m", 1.0),
        "min_elevation" => whole("elevation_min_m", 1.0),
        "max_elevation" => whole("elevation_max_m", 1.0),
        // hotpot: km/h to one decimal, like ours (to two).
        "average_speed" => Alias::Number {
            stored: "avg_speed_kmh",
            scale: 10.0,
            per: 10.0,
        },
        "max_speed" => Alias::Number {
            stored: "max_speed_kmh",
            scale: 10.0,
            per: 10.0,
        },
        _ => return None,
    })
}

/// The alias's value for a stored number, as `sql.rs` computes it: SQLite's
/// `round(x)` is `(i64)(x + 0.5)` (away from zero for negatives), which is
/// Rust's `round` but for `x + 0.5` rounding up in binary; that happens only
/// within an ulp of a half, far below any unit here.
pub(super) fn convert(value: f64, scale: f64, per: f64) -> f64 {
    (value * scale).round() / per
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every alias name.
    const NAMES: &[&str] = &[
        "name",
        "total_distance",
        "elapsed_time",
        "moving_time",
        "elevation_gain",
        "elevation_loss",
        "min_elevation",
        "max_elevation",
        "average_speed",
        "max_speed",
    ];

    #[test]
    fn every_name_is_an_alias_and_converts_to_hotpots_units() {
        for name in NAMES {
            assert!(alias(name).is_some(), "{name}");
        }
        assert_eq!(alias("distance_km"), None);
        let Some(Alias::Number { scale, per, .. }) = alias("total_distance") else {
            panic!("total_distance is a number");
        };
        assert_eq!(convert(52.346, scale, per), 52346.0);
        let Some(Alias::Number { scale, per, .. }) = alias("average_speed") else {
            panic!("average_speed is a number");
        };
        assert_eq!(convert(25.34, scale, per), 25.3);
        assert_eq!(convert(25.36, scale, per), 25.4);
        assert_eq!(convert(-3.5, 1.0, 1.0), -4.0, "away from zero, as SQLite");
    }
}
