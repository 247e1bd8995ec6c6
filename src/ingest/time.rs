//! Timestamp parsing shared by the XML formats.
//!
//! GPX and TCX carry ISO 8601 / RFC 3339 date-times, one per point, so this
//! runs millions of times per import: it is hand-written over bytes, never
//! allocates, and answers `None` (never panics) on anything it cannot read.

/// Parses an ISO 8601 / RFC 3339 date-time into unix milliseconds (UTC).
///
/// Accepted: `2013-01-01T12:00:00Z`, a space or `t` instead of `T`, optional
/// seconds, a fraction of any length after `.` or `,` (truncated to
/// milliseconds), a `Z`, `+hh:mm`, `+hhmm` or `+hh` offset, no zone designator
/// at all (taken as UTC, which is what devices that omit it mean), a bare date
/// (midnight UTC), and surrounding whitespace.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let mut c = Cursor {
        b: s.trim().as_bytes(),
        i: 0,
    };
    let (year, month, day) = c.date()?;
    let mut millis = days_from_civil(year, month, day) * 86_400_000;
    if c.at_end() {
        return Some(millis);
    }
    if !matches!(c.next()?, b'T' | b't' | b' ') {
        return None;
    }
    millis += c.time_of_day()?;
    millis -= c.zone_offset()?;
    c.at_end().then_some(millis)
}

/// A read position in the timestamp's bytes; every reader returns `None`
/// past the end instead of indexing out of bounds.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.i += 1;
        Some(byte)
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        self.i += usize::from(hit);
        hit
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// Exactly `n` ASCII digits as a number; `n` is at most 4 here, so it
    /// cannot overflow.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let field = self.b.get(self.i..self.i + n)?;
        let mut value = 0;
        for &d in field {
            if !d.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(d - b'0');
        }
        self.i += n;
        Some(value)
    }

    fn in_range(&mut self, n: usize, max: i64) -> Option<i64> {
        self.digits(n).filter(|&v| v <= max)
    }

    /// `YYYY-MM-DD`, checked against the month's real length.
    fn date(&mut self) -> Option<(i64, i64, i64)> {
        let year = self.digits(4)?;
        self.expect(b'-')?;
        let month = self.digits(2).filter(|m| (1..=12).contains(m))?;
        self.expect(b'-')?;
        let day = self
            .digits(2)
            .filter(|&d| d >= 1 && d <= days_in_month(year, month))?;
        Some((year, month, day))
    }

    /// `hh:mm[:ss[.fff…]]` as milliseconds since midnight. A leap second
    /// (`:60`) is accepted and simply runs into the next minute.
    fn time_of_day(&mut self) -> Option<i64> {
        let hour = self.in_range(2, 23)?;
        self.expect(b':')?;
        let minute = self.in_range(2, 59)?;
        let mut millis = (hour * 60 + minute) * 60_000;
        if self.eat(b':') {
            millis += self.in_range(2, 60)? * 1000;
            if self.eat(b'.') || self.eat(b',') {
                millis += self.fraction_millis()?;
            }
        }
        Some(millis)
    }

    /// The digits after the decimal point, truncated to milliseconds; any
    /// number of digits is read so that nanosecond stamps still parse.
    fn fraction_millis(&mut self) -> Option<i64> {
        let start = self.i;
        let mut millis = 0;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            if self.i - start < 3 {
                millis = millis * 10 + i64::from(d - b'0');
            }
            self.i += 1;
        }
        match self.i - start {
            0 => None,
            n if n < 3 => Some(millis * 10_i64.pow(3 - n as u32)),
            _ => Some(millis),
        }
    }

    /// The zone designator as an offset east of UTC in milliseconds; none
    /// at all means UTC.
    fn zone_offset(&mut self) -> Option<i64> {
        let sign = match self.next() {
            None => return Some(0),
            Some(b'Z' | b'z') => return Some(0),
            Some(b'+') => 1,
            Some(b'-') => -1,
            Some(_) => return None,
        };
        let hours = self.in_range(2, 23)?;
        let minutes = if self.at_end() {
            0
        } else {
            self.eat(b':');
            self.in_range(2, 59)?
        };
        Some(sign * (hours * 60 + minutes) * 60_000)
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), exact for every year a 4-digit field can hold.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0, so leap day ends the year
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_timestamp;

    const NOON_2013: i64 = 1_357_041_600_000; // 2013-01-01T12:00:00Z

    #[test]
    fn utc_forms() {
        assert_eq!(parse_timestamp("2013-01-01T12:00:00Z"), Some(NOON_2013));
        assert_eq!(parse_timestamp("2013-01-01t12:00:00z"), Some(NOON_2013));
        assert_eq!(parse_timestamp("2013-01-01 12:00:00Z"), Some(NOON_2013));
        assert_eq!(
            parse_timestamp("  2013-01-01T12:00:00Z\n\t"),
            Some(NOON_2013)
        );
        assert_eq!(parse_timestamp("2013-01-01T12:00Z"), Some(NOON_2013));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("1969-12-31T23:59:59Z"), Some(-1000));
        assert_eq!(
            parse_timestamp("2013-01-01"),
            Some(NOON_2013 - 12 * 3_600_000)
        );
    }

    #[test]
    fn no_zone_designator_is_utc() {
        assert_eq!(parse_timestamp("2013-01-01T12:00:00"), Some(NOON_2013));
        assert_eq!(
            parse_timestamp("2013-01-01T12:00:00.5"),
            Some(NOON_2013 + 500)
        );
    }

    #[test]
    fn fractions_of_any_length() {
        assert_eq!(
            parse_timestamp("2013-01-01T12:00:00.1Z"),
            Some(NOON_2013 + 100)
        );
        assert_eq!(
            parse_timestamp("2013-01-01T12:00:00.12Z"),
            Some(NOON_2013 + 120)
        );
        assert_eq!(
            parse_timestamp("2013-01-01T12:00:00.123Z"),
            Some(NOON_2013 + 123)
        );
        assert_eq!(
            parse_timestamp("2013-01-01T12:00:00,123Z"),
            Some(NOON_2013 + 123)
        );
        assert_eq!(
            parse_timestamp("2013-01-01T12:00:00.123456789123456789123Z"),
            Some(NOON_2013 + 123)
        );
        assert_eq!(parse_timestamp("2013-01-01T12:00:00.Z"), None);
    }

    #[test]
    fn offsets() {
        assert_eq!(
            parse_timestamp("2013-01-01T14:00:00+02:00"),
            Some(NOON_2013)
        );
        assert_eq!(parse_timestamp("2013-01-01T07:00:00-0500"), Some(NOON_2013));
        assert_eq!(parse_timestamp("2013-01-01T07:00:00-05"), Some(NOON_2013));
        assert_eq!(
            parse_timestamp("2013-01-01T17:45:00.250+05:45"),
            Some(NOON_2013 + 250)
        );
        assert_eq!(
            parse_timestamp("2013-01-01T12:00:00+00:00"),
            Some(NOON_2013)
        );
        // Crossing midnight backwards into the previous year.
        assert_eq!(
            parse_timestamp("2013-01-01T01:00:00+13:00"),
            Some(NOON_2013 - 24 * 3_600_000)
        );
    }

    #[test]
    fn calendar_edges() {
        assert_eq!(
            parse_timestamp("2000-02-29T00:00:00Z"),
            Some(951_782_400_000)
        );
        assert_eq!(
            parse_timestamp("2024-12-31T23:59:60Z"),
            Some(1_735_689_600_000)
        );
        assert_eq!(parse_timestamp("2100-02-29T00:00:00Z"), None);
        assert_eq!(parse_timestamp("2013-02-29T00:00:00Z"), None);
        assert_eq!(parse_timestamp("2013-04-31T00:00:00Z"), None);
        assert_eq!(
            parse_timestamp("0000-01-01T00:00:00Z"),
            Some(-62_167_219_200_000)
        );
        assert_eq!(
            parse_timestamp("9999-12-31T23:59:59.999Z"),
            Some(253_402_300_799_999)
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            " ",
            "undefined",
            "2013",
            "2013-01",
            "2013-1-01T00:00:00Z",
            "2013-13-01T00:00:00Z",
            "2013-00-10T00:00:00Z",
            "2013-01-00T00:00:00Z",
            "2013-01-01T24:00:00Z",
            "2013-01-01T12:60:00Z",
            "2013-01-01T12:00:61Z",
            "2013-01-01T12:00:00ZZ",
            "2013-01-01T12:00:00+2",
            "2013-01-01T12:00:00+24:00",
            "2013-01-01T12:00:00 +02:00",
            "2013-01-01X12:00:00Z",
            "2013-01-01T",
            "2013-01-01T12",
            "+2013-01-01T12:00:00Z",
            "２０１３-01-01T12:00:00Z",
            "2013-01-01T12:00:00.١Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }

    /// A tiny deterministic generator: the test must not need a crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn fuzz_never_panics() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let seed = b"2013-01-01T12:00:00.123+02:00";
        let alphabet = b"0123456789-:T.Z+, tz\xff";
        for round in 0..200_000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                // Random bytes of random length.
                (0..rng.next() % 40).map(|_| rng.next() as u8).collect()
            } else {
                // A valid stamp with a few bytes mutated, cut or extended,
                // which reaches far deeper into the parser.
                let mut b = seed.to_vec();
                for _ in 0..1 + rng.next() % 3 {
                    let at = (rng.next() as usize) % b.len();
                    b[at] = alphabet[(rng.next() as usize) % alphabet.len()];
                }
                b.truncate((rng.next() as usize) % (b.len() + 8));
                b
            };
            let text = String::from_utf8_lossy(&bytes);
            if let Some(ms) = parse_timestamp(&text) {
                // Whatever parses lies within the 4-digit-year range.
                assert!(
                    (-62_167_300_000_000..253_402_400_000_000).contains(&ms),
                    "{text:?}"
                );
            }
        }
    }
}
