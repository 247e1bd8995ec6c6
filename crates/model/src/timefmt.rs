//! Formatting unix milliseconds as UTC calendar text, without a date crate:
//! the importer, `stats` and the demo writers need nothing more.

/// `2024-05-01T07:12:03Z`, or `2024-05-01T07:12:03.250Z` with milliseconds.
pub fn iso8601(ms: i64) -> String {
    let mut out = Vec::with_capacity(24);
    push_iso8601(&mut out, ms);
    String::from_utf8(out).expect("timestamps are ASCII")
}

/// `2024-05-01`.
pub fn date(ms: i64) -> String {
    iso8601(ms)[..10].to_string()
}

/// Appends [`iso8601`] text to `out` without allocating: the demo writers
/// format millions of timestamps.
pub fn push_iso8601(out: &mut Vec<u8>, ms: i64) {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000) as u64;
    let (year, month, day) = civil_from_days(days);
    if year < 0 {
        out.push(b'-');
    }
    push_uint(out, year.unsigned_abs(), 4);
    for (sep, value) in [
        (b'-', month as u64),
        (b'-', day as u64),
        (b'T', in_day / 3_600_000),
        (b':', in_day / 60_000 % 60),
        (b':', in_day / 1000 % 60),
    ] {
        out.push(sep);
        push_uint(out, value, 2);
    }
    if !in_day.is_multiple_of(1000) {
        out.push(b'.');
        push_uint(out, in_day % 1000, 3);
    }
    out.push(b'Z');
}

/// Decimal digits of `n`, zero-padded to at least `width`.
pub fn push_uint(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    while n > 0 {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let start = i.min(buf.len() - width.clamp(1, buf.len()));
    out.extend_from_slice(&buf[start..]);
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

/// (year, month, day) to days since 1970-01-01; inverse of [`civil_from_days`].
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601(1_709_208_000_250), "2024-02-29T12:00:00.250Z");
        assert_eq!(iso8601(-1000), "1969-12-31T23:59:59Z");
        assert_eq!(date(1_795_000_000_000), "2026-11-18");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(4_102_444_800_000), "2100-01-01T00:00:00Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 28),
            2
        );
        assert_eq!(
            days_from_civil(2100, 3, 1) - days_from_civil(2100, 2, 28),
            1
        );
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
