//! A filter evaluated against one activity's properties in memory, and the
//! value rules it shares with `sql.rs`: which text is a number, which is a
//! time, and what a comparison means. `sql.rs` transcribes [`compare`] into
//! SQL; the tests there hold the two to the same answers.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::alias::{Alias, alias, convert};
use super::{CmpOp, Expr, Literal};

const DAY_MS: i64 = 86_400_000;

pub(super) fn matches(expr: &Expr, id: i64, props: &Map<String, Value>) -> bool {
    let get = |key: &str| lookup(key, id, props);
    match expr {
        Expr::Cmp { key, op, value } => get(key).is_some_and(|p| compare(&p, *op, value)),
        Expr::In { key, values } => {
            get(key).is_some_and(|p| values.iter().any(|v| compare(&p, CmpOp::Eq, v)))
        }
        Expr::Like { key, pattern } => {
            matches!(get(key).as_deref(), Some(Value::String(t)) if like(pattern, t))
        }
        Expr::Has(key) => get(key).is_some_and(|p| !p.is_null()),
        Expr::Not(inner) => !matches(inner, id, props),
        Expr::And(list) => list.iter().all(|e| matches(e, id, props)),
        Expr::Or(list) => list.iter().any(|e| matches(e, id, props)),
    }
}

/// `id` is the row id, not a property (the SQL reads `a.id`). hotpot's
/// names stand for ours unless the key itself is there (`alias.rs`).
fn lookup<'a>(key: &str, id: i64, props: &'a Map<String, Value>) -> Option<Cow<'a, Value>> {
    if key == "id" {
        return Some(Cow::Owned(Value::from(id)));
    }
    if let Some(v) = props.get(key) {
        return Some(Cow::Borrowed(v));
    }
    match alias(key)? {
        Alias::Key(other) => props.get(other).map(Cow::Borrowed),
        Alias::Number { stored, scale, per } => {
            let v = props.get(stored)?.as_f64()?;
            Some(Cow::Owned(Value::from(convert(v, scale, per))))
        }
    }
}

/// `property op literal`; false whenever the two are not of one kind.
fn compare(p: &Value, op: CmpOp, lit: &Literal) -> bool {
    match (p, lit) {
        (Value::Number(x), _) => match (x.as_f64(), numeric_literal(lit)) {
            (Some(x), Some(n)) => op.holds_f64(x, n),
            _ => false,
        },
        (Value::String(t), Literal::Number(n)) => {
            number_from_text(t).is_some_and(|x| op.holds_f64(x, *n))
        }
        (Value::String(t), Literal::Text(s)) => match parse_time(s) {
            Some(span) => parse_time(t).is_some_and(|t| op.span_test(span).holds(t.start)),
            None => op.holds(t.as_str().cmp(s)),
        },
        (Value::Bool(b), Literal::Bool(c)) => op.holds(b.cmp(c)),
        _ => false,
    }
}

/// A literal as a number: a number, or a quoted one (`"172"`).
pub(super) fn numeric_literal(lit: &Literal) -> Option<f64> {
    match lit {
        Literal::Number(n) => Some(*n),
        Literal::Text(s) => number_from_text(s),
        Literal::Bool(_) => None,
    }
}

/// Text that is exactly one JSON number, nothing around it: `"172"`,
/// `"-0.5"`, `"1e3"`, but not `" 1"`, `"01"` or `"1."`. JSON's grammar,
/// because the SQL can test it exactly with `json_valid`.
pub(super) fn number_from_text(s: &str) -> Option<f64> {
    parse_number(s, NumberSyntax::Json)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum NumberSyntax {
    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`
    Json,
    /// What erik/hotpot read as a number (`007`, `1.`, `.5`), plus exponents.
    Filter,
}

/// `s` as a number if it is all one number in `syntax` (possibly infinite).
pub(super) fn parse_number(s: &str, syntax: NumberSyntax) -> Option<f64> {
    let b = s.as_bytes();
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int_from = i;
    let int_len = digits(&mut i);
    let frac_len = if b.get(i) == Some(&b'.') {
        i += 1;
        Some(digits(&mut i))
    } else {
        None
    };
    let mantissa_ok = match syntax {
        NumberSyntax::Json => {
            let leading_zero = int_len > 1 && b[int_from] == b'0';
            int_len > 0 && !leading_zero && frac_len != Some(0)
        }
        NumberSyntax::Filter => int_len + frac_len.unwrap_or(0) > 0,
    };
    if !mantissa_ok {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.parse().ok()
}

/// The stretch of time a date text names: a day, a second or a millisecond,
/// as precise as it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TimeSpan {
    /// Unix milliseconds, UTC.
    pub start: i64,
    pub len: i64,
}

/// `2024-05-01`, `2024-05-01T07:12:03Z` or `2024-05-01T07:12:03.250Z`
/// (what the importer writes), years 1000 to 9999. The ranges are SQLite's,
/// which the SQL relies on: days up to 31 in any month roll over into the
/// next, and `24:00:00` is the next midnight.
pub(super) fn parse_time(s: &str) -> Option<TimeSpan> {
    let b = s.as_bytes();
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let num = |from: usize, to: usize| {
        b.get(from..to)?.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let date_ok = at(4, b'-') && at(7, b'-') && year >= 1000;
    if !date_ok || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = crate::timefmt::days_from_civil(year, month as u32, day as u32);
    let (in_day, len) = match b.len() {
        10 => (0, DAY_MS),
        20 | 24 => {
            let frac = b.len() == 24;
            let shape = at(10, b'T') && at(13, b':') && at(16, b':') && at(b.len() - 1, b'Z');
            if !shape || (frac && !at(19, b'.')) {
                return None;
            }
            let (h, m, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
            let ms = if frac { num(20, 23)? } else { 0 };
            if h > 24 || m > 59 || sec > 59 || (h == 24 && m + sec + ms > 0) {
                return None;
            }
            let in_day = ((h * 60 + m) * 60 + sec) * 1000 + ms;
            (in_day, if frac { 1 } else { 1000 })
        }
        _ => return None,
    };
    Some(TimeSpan {
        start: days * DAY_MS + in_day,
        len,
    })
}

/// How a comparison with a time span reads as a test on one instant `t`:
/// `= day` is "during the day", `<= day` "before the day is over".
#[derive(Clone, Copy, Debug)]
pub(super) enum SpanTest {
    Inside(i64, i64),
    Outside(i64, i64),
    Before(i64),
    From(i64),
}

impl SpanTest {
    fn holds(self, t: i64) -> bool {
        match self {
            SpanTest::Inside(lo, hi) => lo <= t && t < hi,
            SpanTest::Outside(lo, hi) => t < lo || hi <= t,
            SpanTest::Before(x) => t < x,
            SpanTest::From(x) => x <= t,
        }
    }
}

impl CmpOp {
    fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o.is_eq(),
            CmpOp::Ne => o.is_ne(),
            CmpOp::Lt => o.is_lt(),
            CmpOp::Le => o.is_le(),
            CmpOp::Gt => o.is_gt(),
            CmpOp::Ge => o.is_ge(),
        }
    }

    fn holds_f64(self, x: f64, n: f64) -> bool {
        x.partial_cmp(&n).is_some_and(|o| self.holds(o))
    }

    pub(super) fn span_test(self, span: TimeSpan) -> SpanTest {
        let (lo, hi) = (span.start, span.start + span.len);
        match self {
            CmpOp::Eq => SpanTest::Inside(lo, hi),
            CmpOp::Ne => SpanTest::Outside(lo, hi),
            CmpOp::Lt => SpanTest::Before(lo),
            CmpOp::Le => SpanTest::Before(hi),
            CmpOp::Gt => SpanTest::From(hi),
            CmpOp::Ge => SpanTest::From(lo),
        }
    }
}

/// SQL `LIKE`: `%` any run, `_` one character, ASCII letters match either
/// case, no escape character. Backtracks only to the last `%`, so it takes
/// at most len(pattern) × len(text) steps.
fn like(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut last_percent: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('%') => {
                last_percent = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '_' || c.eq_ignore_ascii_case(&t[ti]) => {
                pi += 1;
                ti += 1;
            }
            _ => match last_percent {
                Some((star, from)) => {
                    last_percent = Some((star, from + 1));
                    pi = star + 1;
                    ti = from + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '%')
}

#[cfg(test)]
mod tests {
    use super::super::Filter;
    use super::*;
    use serde_json::json;

    fn props(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test properties are objects"),
        }
    }

    fn check(filter: &str, p: &Map<String, Value>) -> bool {
        Filter::parse(filter).unwrap().matches(7, p)
    }

    #[test]
    fn kinds_compare_only_with_their_own() {
        let p = props(json!({
            "n": 50, "s": "172", "t": "Bianchi", "b": true, "z": null,
            "arr": [1], "d": "2024-05-01T07:12:03Z", "lead0": "0172",
        }));
        let cases = [
            ("n > 49.5", true),
            ("n = \"50\"", true),
            ("n = \"50.0\"", true),
            ("n = fifty", false),
            ("n != fifty", false),
            ("s > 100", true),
            ("s = \"172\"", true),
            ("s = \"172.0\"", false),
            ("lead0 = 172", false),
            ("t = Bianchi", true),
            ("t = bianchi", false),
            ("t < Cannondale", true),
            ("t = 1", false),
            ("t != 1", false),
            ("b = true", true),
            ("b > false", true),
            ("b = 1", false),
            ("z = 0", false),
            ("z != 0", false),
            ("arr = 1", false),
            ("missing != 1", false),
            ("!(missing = 1)", true),
            ("id = 7", true),
            ("id in [1, \"7\"]", true),
            ("d = 2024-05-01", true),
            ("d < 2024-05-01", false),
            ("d <= 2024-05-01", true),
            ("d > 2024-04-30", true),
            ("d >= 2024-05-02", false),
            ("d != 2024-05-01", false),
            ("d = 2024-05-01T07:12:03Z", true),
            ("d = 2024-05-01T07:12:03.000Z", true),
            ("d = 2024-05-01T07:12:03.001Z", false),
            ("t < 2024-05-01", false),
            ("d like '2024-05%'", true),
            ("n like '5%'", false),
        ];
        for (filter, expected) in cases {
            assert_eq!(check(filter, &p), expected, "{filter}");
        }
    }

    #[test]
    fn has_means_present_and_not_null() {
        let p = props(json!({"a": 0, "b": "", "c": null, "d": false}));
        for (key, expected) in [
            ("a", true),
            ("b", true),
            ("c", false),
            ("d", true),
            ("e", false),
        ] {
            assert_eq!(check(&format!("has? {key}"), &p), expected, "{key}");
        }
        assert!(check("has? id", &p));
    }

    #[test]
    fn like_is_sql_like() {
        let cases = [
            ("Morning%", "morning ride", true),
            ("%ride", "Morning RIDE", true),
            ("%é%", "CAFÉ", false),
            ("%é%", "café", true),
            ("_", "é", true),
            ("__", "é", false),
            ("a%b%c", "aXbYbZc", true),
            ("a%b%c", "aXbYbZ", false),
            ("%", "", true),
            ("", "", true),
            ("", "x", false),
            ("100%", "100% effort", true),
            ("%%%_", "", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(like(pattern, text), expected, "{pattern:?} {text:?}");
        }
        let long = "a".repeat(5000);
        assert!(!like(&format!("{}b", "%a".repeat(200)), &long));
    }

    #[test]
    fn numbers_in_text_follow_json() {
        let numbers = [
            ("0", 0.0),
            ("-0", 0.0),
            ("172", 172.0),
            ("-1.5", -1.5),
            ("1e3", 1000.0),
            ("2E-2", 0.02),
        ];
        for (s, n) in numbers {
            assert_eq!(number_from_text(s), Some(n), "{s}");
        }
        for s in [
            "", "-", "01", "1.", ".5", "+1", " 1", "1 ", "1e", "0x1F", "NaN", "inf", "1_000",
        ] {
            assert_eq!(number_from_text(s), None, "{s}");
        }
    }

    #[test]
    fn times_are_spans_as_precise_as_written() {
        let day = parse_time("2024-05-01").unwrap();
        assert_eq!(
            day,
            TimeSpan {
                start: 1_714_521_600_000,
                len: DAY_MS
            }
        );
        let second = parse_time("2024-05-01T07:12:03Z").unwrap();
        assert_eq!(
            second,
            TimeSpan {
                start: 1_714_547_523_000,
                len: 1000
            }
        );
        let ms = parse_time("2024-05-01T07:12:03.250Z").unwrap();
        assert_eq!(
            ms,
            TimeSpan {
                start: 1_714_547_523_250,
                len: 1
            }
        );
        assert_eq!(
            parse_time("2024-02-30").unwrap().start,
            parse_time("2024-03-01").unwrap().start
        );
        assert_eq!(
            parse_time("2024-05-01T24:00:00Z").unwrap().start,
            parse_time("2024-05-02").unwrap().start
        );
        for s in [
            "2024-5-01",
            "2024-13-01",
            "2024-00-10",
            "2024-01-32",
            "0999-01-01",
            "2024-01-01T25:00:00Z",
            "2024-01-01T24:00:01Z",
            "2024-01-01T08:00:00",
            "2024-01-01 08:00:00Z",
            "2024-01-01T08:00Z",
            "2024-01-01T08:00:00.25Z",
            "2024-01-01T08:00:00+02:00",
            "２０２４-01-01",
        ] {
            assert_eq!(parse_time(s), None, "{s}");
        }
    }
}
