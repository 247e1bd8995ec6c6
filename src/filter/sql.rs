//! [`Expr`] to a SQL `WHERE` fragment over `activities AS a`.
//!
//! Nothing the user typed reaches the SQL text: keys become bound JSON paths,
//! values bound parameters. Each comparison transcribes `eval::compare`: a
//! `CASE` on the property's JSON type picks the branch of the one kind the
//! literal can meet, and yields NULL (false) otherwise. NULL is harmless under
//! `AND`/`OR` and in `WHERE`; only `NOT` would turn it into a match, so `NOT`
//! first folds it to 0.
//!
//! Keys the importer also stores in a column read the column instead, which
//! is faster and lets SQLite use its indexes (`sport`, `start_time`).

use rusqlite::types::Value;

use super::alias::{Alias, alias};
use super::eval::{SpanTest, TimeSpan, numeric_literal, parse_time};
use super::{CmpOp, Expr, Literal};

pub(super) fn to_sql(expr: &Expr, first: usize) -> (String, Vec<Value>) {
    let mut w = Writer {
        params: Vec::new(),
        first,
    };
    let sql = w.expr(expr);
    (sql, w.params)
}

/// What a value is, as far as comparisons go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Text,
    Bool,
}

/// The JSON types of each kind, as `json_type` names them.
const JSON_TYPES: [(Kind, &str); 3] = [
    (Kind::Number, "IN ('integer', 'real')"),
    (Kind::Text, "= 'text'"),
    (Kind::Bool, "IN ('true', 'false')"),
];

/// Keys whose column holds what the importer writes into the properties.
/// `source` is not in the properties at all: see `Filter::matches`.
fn column(key: &str) -> Option<(Kind, &'static str)> {
    Some(match key {
        "id" => (Kind::Number, "a.id"),
        // The importer rounds distance_km to metres; round the same way.
        "distance_km" => (Kind::Number, "round(a.distance_m / 1000.0, 3)"),
        "sport" => (Kind::Text, "a.sport"),
        "title" => (Kind::Text, "a.title"),
        "kind" => (Kind::Text, "a.kind"),
        "source" => (Kind::Text, "a.source"),
        _ => return None,
    })
}

/// Whether `key` is read from a column of every activity (so is never
/// missing): the columns above, and `start_time`, which date comparisons
/// read from its column.
pub(super) fn column_key(key: &str) -> bool {
    column(key).is_some() || key == "start_time"
}

/// The importer's three date shapes (see `eval::parse_time`), as GLOBs.
const DATE_GLOBS: [&str; 3] = [
    "[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
    "[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z",
    "[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z",
];

/// SQL true when text `v` is a time `parse_time` accepts: the shape by GLOB,
/// the ranges by SQLite's own date parser.
fn is_time(v: &str) -> String {
    let shapes: Vec<String> = DATE_GLOBS
        .iter()
        .map(|g| format!("{v} GLOB '{g}'"))
        .collect();
    format!("({}) AND unixepoch({v}) IS NOT NULL", shapes.join(" OR "))
}

/// Unix milliseconds of a text `is_time` accepted.
fn time_of(v: &str) -> String {
    format!("round(unixepoch({v}, 'subsec') * 1000)")
}

/// The number in text `v` when it is exactly one JSON number
/// (`eval::number_from_text`), else NULL.
fn number_in_text(v: &str) -> String {
    format!(
        "CASE WHEN {v} GLOB '[-0-9]*' AND {v} GLOB '*[0-9]' AND json_valid({v}) THEN {v} ->> '$' END"
    )
}

/// A JSON path naming `key` literally: quoted, so `.` and `[` are plain
/// characters, with `\`, `"` and control characters escaped inside.
pub(super) fn json_path(key: &str) -> String {
    let mut path = String::from("$.\"");
    for c in key.chars() {
        match c {
            '\\' => path.push_str("\\\\"),
            '"' | '\u{0}'..='\u{1f}' => path.push_str(&format!("\\u{:04x}", c as u32)),
            c => path.push(c),
        }
    }
    path.push('"');
    path
}

struct Writer {
    params: Vec<Value>,
    first: usize,
}

/// A test of a value of some kind, given as SQL; `None` when the kind
/// cannot meet the literal (see [`Writer::by_kind`]). `dyn` because
/// `by_kind` passes it on to itself for aliases.
type Branch<'a> = dyn FnMut(&mut Writer, Kind, &str) -> Option<String> + 'a;

impl Writer {
    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.params.push(v.into());
        format!("?{}", self.first + self.params.len() - 1)
    }

    fn expr(&mut self, e: &Expr) -> String {
        match e {
            Expr::Cmp { key, op, value } => self.compare(key, *op, value),
            Expr::In { key, values } => {
                let each = values
                    .iter()
                    .map(|v| self.compare(key, CmpOp::Eq, v))
                    .collect();
                group(each, " OR ", "0")
            }
            Expr::Like { key, pattern } => self.by_kind(key, &mut |w, kind, v| {
                (kind == Kind::Text).then(|| format!("{v} LIKE {}", w.bind(pattern.clone())))
            }),
            Expr::Has(key) => self.has(key),
            Expr::Not(inner) => format!("NOT coalesce({}, 0)", self.expr(inner)),
            Expr::And(list) | Expr::Or(list) => {
                let (sep, empty) = match e {
                    Expr::And(_) => (" AND ", "1"),
                    _ => (" OR ", "0"),
                };
                let each = list.iter().map(|e| self.expr(e)).collect();
                group(each, sep, empty)
            }
        }
    }

    fn compare(&mut self, key: &str, op: CmpOp, lit: &Literal) -> String {
        // The column is the importer's start_time in milliseconds, indexed.
        if key == "start_time"
            && let Literal::Text(s) = lit
            && let Some(span) = parse_time(s)
        {
            return self.span("a.start_time", op, span);
        }
        self.by_kind(key, &mut |w, kind, v| w.branch(kind, v, op, lit))
    }

    /// `v op lit` for a value `v` of `kind`, or `None` when they cannot meet.
    fn branch(&mut self, kind: Kind, v: &str, op: CmpOp, lit: &Literal) -> Option<String> {
        match (kind, lit) {
            (Kind::Number, _) => numeric_literal(lit).map(|n| format!("{v} {op} {}", self.bind(n))),
            (Kind::Text, Literal::Number(n)) => {
                Some(format!("{} {op} {}", number_in_text(v), self.bind(*n)))
            }
            (Kind::Text, Literal::Text(s)) => Some(self.text(v, op, s)),
            (Kind::Bool, Literal::Bool(b)) => Some(format!("{v} {op} {}", self.bind(*b))),
            _ => None,
        }
    }

    /// A date literal meets only dates; other text compares byte-wise.
    fn text(&mut self, v: &str, op: CmpOp, s: &str) -> String {
        match parse_time(s) {
            None => format!("{v} {op} {}", self.bind(s.to_string())),
            Some(span) => {
                let as_time = self.span(&time_of(v), op, span);
                format!("CASE WHEN {} THEN {as_time} END", is_time(v))
            }
        }
    }

    fn span(&mut self, t: &str, op: CmpOp, span: TimeSpan) -> String {
        match op.span_test(span) {
            SpanTest::Inside(lo, hi) => {
                format!("({t} >= {} AND {t} < {})", self.bind(lo), self.bind(hi))
            }
            SpanTest::Outside(lo, hi) => {
                format!("({t} < {} OR {t} >= {})", self.bind(lo), self.bind(hi))
            }
            SpanTest::Before(x) => format!("{t} < {}", self.bind(x)),
            SpanTest::From(x) => format!("{t} >= {}", self.bind(x)),
        }
    }

    /// Applies `branch` to the key's value for each kind it may have: the
    /// column's one kind, or each JSON type in a `CASE`. Every literal has a
    /// branch of its own kind, so the `CASE` is never empty and the bound
    /// path is always used.
    fn by_kind(&mut self, key: &str, branch: &mut Branch<'_>) -> String {
        if let Some((kind, col)) = column(key) {
            return branch(self, kind, col).unwrap_or_else(|| "NULL".to_string());
        }
        if let Some(alias) = alias(key) {
            let own = self.by_json_type(key, branch);
            let stands_for = match alias {
                Alias::Key(other) => self.by_kind(other, branch),
                Alias::Number { stored, scale, per } => {
                    let path = self.bind(json_path(stored));
                    let value =
                        format!("round(json_extract(a.properties, {path}) * {scale:?}) / {per:?}");
                    let then = branch(self, Kind::Number, &value).unwrap_or_else(|| "NULL".into());
                    format!(
                        "CASE WHEN json_type(a.properties, {path}) IN ('integer', 'real') THEN {then} END"
                    )
                }
            };
            return self.unless_present(key, own, stands_for);
        }
        self.by_json_type(key, branch)
    }

    /// `own` where the activity has `key` itself, else `alias` (the
    /// precedence `alias.rs` describes).
    fn unless_present(&mut self, key: &str, own: String, alias: String) -> String {
        let path = self.bind(json_path(key));
        format!("CASE WHEN json_type(a.properties, {path}) IS NULL THEN {alias} ELSE {own} END")
    }

    /// [`Writer::by_kind`] for a key of the properties JSON.
    fn by_json_type(&mut self, key: &str, branch: &mut Branch<'_>) -> String {
        let path = self.bind(json_path(key));
        let value = format!("json_extract(a.properties, {path})");
        let whens: Vec<String> = JSON_TYPES
            .iter()
            .filter_map(|&(kind, types)| {
                let then = branch(self, kind, &value)?;
                Some(format!(
                    "WHEN json_type(a.properties, {path}) {types} THEN {then}"
                ))
            })
            .collect();
        debug_assert!(!whens.is_empty(), "every literal kind has a branch");
        format!("CASE {} END", whens.join(" "))
    }

    fn has(&mut self, key: &str) -> String {
        let own = |w: &mut Self, key: &str| {
            let path = w.bind(json_path(key));
            format!("coalesce(json_type(a.properties, {path}), 'null') <> 'null'")
        };
        match (column(key), alias(key)) {
            (Some((Kind::Text, col)), _) => format!("{col} IS NOT NULL"),
            // id and distance_m are NOT NULL.
            (Some(_), _) => "1".to_string(),
            (None, Some(alias)) => {
                let stands_for = match alias {
                    Alias::Key(other) => self.has(other),
                    Alias::Number { stored, .. } => {
                        let path = self.bind(json_path(stored));
                        format!("json_type(a.properties, {path}) IN ('integer', 'real')")
                    }
                };
                let own = own(self, key);
                self.unless_present(key, own, stands_for)
            }
            (None, None) => own(self, key),
        }
    }
}

/// `(a SEP b SEP ...)`, or `empty` for no terms.
fn group(terms: Vec<String>, sep: &str, empty: &str) -> String {
    match terms.len() {
        0 => empty.to_string(),
        1 => terms.concat(),
        _ => balanced(&terms, sep),
    }
}

/// SQLite parses `a OR b OR c ...` into a tree as deep as the list is long
/// and refuses trees deeper than 1000 ("Expression tree is too large"): a
/// filter of 1,000 conditions failed so. Halving long lists keeps the depth
/// near log2 of the length; short ones stay flat and readable.
fn balanced(terms: &[String], sep: &str) -> String {
    const FLAT: usize = 8;
    if terms.len() <= FLAT {
        return format!("({})", terms.join(sep));
    }
    let (a, b) = terms.split_at(terms.len() / 2);
    format!("({}{sep}{})", balanced(a, sep), balanced(b, sep))
}

#[cfg(test)]
mod tests {
    use super::super::Filter;
    use super::super::eval::number_from_text;
    use super::*;
    use rusqlite::{Connection, params_from_iter};
    use serde_json::{Map, Value as Json, json};

    #[test]
    fn plain_keys_read_columns() {
        let f = Filter::parse("sport = \"cycling\" && distance_km > 50").unwrap();
        let (sql, params) = f.to_sql();
        assert_eq!(
            sql,
            "(a.sport = ?1 AND round(a.distance_m / 1000.0, 3) > ?2)"
        );
        assert_eq!(params, [Value::Text("cycling".into()), Value::Real(50.0)]);

        let (sql, params) = Filter::after("2024-01-01").unwrap().to_sql_from(5);
        assert_eq!(sql, "a.start_time >= ?5");
        assert_eq!(params, [Value::Integer(1_704_067_200_000)]);

        let (sql, params) = Filter::sports(&["ride", "gravel"]).to_sql();
        assert_eq!(sql, "(a.sport = ?1 OR a.sport = ?2)");
        assert_eq!(params.len(), 2);
    }

    #[test]
    fn other_keys_bind_their_path() {
        let f = Filter::parse("\"Activity Gear\" = Bianchi").unwrap();
        let (sql, params) = f.to_sql();
        assert_eq!(
            sql,
            "CASE WHEN json_type(a.properties, ?1) = 'text' \
             THEN json_extract(a.properties, ?1) = ?2 END"
        );
        assert_eq!(
            params,
            [
                Value::Text("$.\"Activity Gear\"".into()),
                Value::Text("Bianchi".into())
            ]
        );
    }

    #[test]
    fn user_text_never_reaches_the_sql() {
        let evil = r#""x'); DROP TABLE activities; --" = '"; DROP TABLE activities; --' || has? "DROP "" --""#;
        let (sql, params) = Filter::parse(evil).unwrap().to_sql();
        assert!(!sql.contains("DROP"), "{sql}");
        let db = database();
        let ids = query(&db, &sql, params);
        assert!(ids.is_empty());
    }

    #[test]
    fn json_paths_name_keys_literally() {
        let db = Connection::open_in_memory().unwrap();
        let keys = [
            "a.b", "g[0]", "\"", "\\", "\\u0041", "$", "", "é", "'", "\t", "\u{0}", "a\"b.c",
        ];
        for key in keys {
            let mut props = Map::new();
            props.insert(key.to_string(), json!(1));
            props.insert("a".to_string(), json!({"b": 2}));
            let doc = Json::Object(props).to_string();
            let got: Option<i64> = db
                .query_row("SELECT json_extract(?1, ?2)", [doc, json_path(key)], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(got, Some(1), "{key:?}");
        }
    }

    /// `is_time`/`time_of` in SQL against `parse_time`, on strings near the
    /// date shapes: right ones, out-of-range ones and mangled ones.
    #[test]
    fn sql_dates_agree_with_parse_time() {
        let db = Connection::open_in_memory().unwrap();
        let sql = format!(
            "SELECT CASE WHEN {} THEN {} END",
            is_time("?1"),
            time_of("?1")
        );
        let mut stmt = db.prepare(&sql).unwrap();
        let edges = [
            "2024-01-01T24:00:00Z",
            "2024-01-01T24:00:00.000Z",
            "2024-01-01T24:00:00.001Z",
            "2024-02-31",
            "2023-02-29",
            "1000-01-01",
            "9999-12-31T23:59:59.999Z",
            "2024-01-01T23:59:60Z",
            "2024-01-01T08:00:00z",
            "2024-01-01t08:00:00Z",
        ];
        let mut rng = Rng(7);
        let random = std::iter::repeat_with(|| near_date(&mut rng)).take(6000);
        let mut times = 0;
        for s in edges.map(String::from).into_iter().chain(random) {
            let got: Option<f64> = stmt.query_row([&s], |r| r.get(0)).unwrap();
            let want = parse_time(&s).map(|t| t.start as f64);
            assert_eq!(got, want, "{s:?}");
            times += usize::from(want.is_some());
        }
        assert!(times > 1000, "most strings should be dates: {times}");
    }

    fn near_date(rng: &mut Rng) -> String {
        let two = |rng: &mut Rng, max: usize| format!("{:02}", rng.below(max));
        let mut s = format!(
            "{:04}-{}-{}",
            [999, 1000, 1970, 2024, 2023, 9999][rng.below(6)],
            two(rng, 14),
            two(rng, 33)
        );
        if rng.below(3) > 0 {
            s += &format!("T{}:{}:{}", two(rng, 26), two(rng, 61), two(rng, 61));
            if rng.below(2) == 0 {
                s += &format!(".{:03}", rng.below(1000));
            }
            s.push('Z');
        }
        if rng.below(8) == 0 {
            let mut chars: Vec<char> = s.chars().collect();
            let at = rng.below(chars.len());
            chars[at] = ['x', ' ', '-', ':', '9', 'z', '.'][rng.below(7)];
            s = chars.into_iter().collect();
        }
        s
    }

    #[test]
    fn sql_numbers_in_text_agree_with_eval() {
        let db = Connection::open_in_memory().unwrap();
        let mut stmt = db
            .prepare(&format!("SELECT {}", number_in_text("?1")))
            .unwrap();
        let alphabet = ['-', '+', '.', 'e', 'E', '0', '1', '9', ' ', 'x'];
        let mut rng = Rng(11);
        for _ in 0..6000 {
            let s: String = (0..rng.below(6))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let got: Option<f64> = stmt.query_row([&s], |r| r.get(0)).unwrap();
            assert_eq!(got, number_from_text(&s), "{s:?}");
        }
    }

    /// A row of the test table: the columns, and extra (Strava CSV) properties.
    struct Row {
        start: Option<&'static str>,
        sport: Option<&'static str>,
        title: Option<&'static str>,
        distance_m: f64,
        extra: Json,
    }

    fn row(
        start: Option<&'static str>,
        sport: Option<&'static str>,
        title: Option<&'static str>,
        distance_m: f64,
        extra: Json,
    ) -> Row {
        Row {
            start,
            sport,
            title,
            distance_m,
            extra,
        }
    }

    fn rows() -> Vec<Row> {
        let d = Some;
        vec![
            row(
                d("2024-05-01T07:12:03Z"),
                d("cycling"),
                d("Morning Ride"),
                52345.6,
                json!({
                "Activity Gear": "Bianchi", "Elapsed Time": 7200, "Commute": false,
                "Max Heart Rate": "172", "elevation_gain_m": 640.5,
                "Activity Date": "May 1, 2024, 7:12:03 AM",
                "elapsed_s": 7200.4, "moving_s": 6900, "avg_speed_kmh": 27.36,
                "max_speed_kmh": 55.05, "elevation_min_m": -2.5, "elevation_max_m": 120.5}),
            ),
            row(
                d("2024-05-01T19:00:00.250Z"),
                d("cycling"),
                d("Evening Ride"),
                50000.4,
                json!({
                "Activity Gear": "Gravel bike", "Commute": true, "Elapsed Time": "3600",
                "max_speed_kmh": "fast", "elapsed_s": 3600}),
            ),
            row(
                d("2024-04-30T23:59:59.999Z"),
                d("running"),
                d("Morning Run"),
                10012.0,
                json!({
                "Max Heart Rate": 181, "weird \"key\"": "q", "back\\slash": 1,
                "total_distance": 5, "avg_speed_kmh": 10.0}),
            ),
            row(
                d("2024-05-02T00:00:00Z"),
                d("running"),
                None,
                5000.0,
                json!({"elevation_gain_m": null}),
            ),
            row(
                d("2023-12-31T12:00:00Z"),
                d("hiking"),
                d("2024-05-01"),
                15000.0,
                json!({
                "a.b": "dot", "g[0]": "bracket", "name": "Hike name", "moving_s": null}),
            ),
            row(
                None,
                d("walking"),
                d("123"),
                1234.5,
                json!({
                "Activity Gear": "", "tags": ["x"], "obj": {"k": 1}}),
            ),
            row(
                d("2022-01-15T08:00:00Z"),
                None,
                d("Café ☕"),
                0.0,
                json!({"Commute": "true"}),
            ),
            row(
                d("2024-01-01T00:00:00Z"),
                d("cycling"),
                d("morning ride"),
                100000.0,
                json!({
                "Elapsed Time": 14400.5, "Activity Date": "2024-01-01"}),
            ),
            row(
                d("2024-02-29T18:30:00Z"),
                d("virtual_ride"),
                d("Zwift - Watopia"),
                30000.0,
                json!({
                "Activity Gear": "Bianchi", "Elapsed Time": -1}),
            ),
            row(
                d("2021-06-21T05:00:00Z"),
                d("cycling"),
                d("Évasion %_"),
                200123.4,
                json!({
                "Activity Gear": "bianchi"}),
            ),
            row(
                d("2024-05-01T00:00:00Z"),
                d("running"),
                d("Run 'quoted' \"double\""),
                21097.5,
                json!({
                "Max Heart Rate": "0172"}),
            ),
            row(
                d("2024-03-10T10:00:00Z"),
                d("swimming"),
                d("Pool"),
                1500.0,
                json!({
                "Elapsed Time": 1800, "Max Heart Rate": "1e2"}),
            ),
            row(
                d("2024-07-14T06:00:00Z"),
                d("cycling"),
                d("Long one"),
                250000.0,
                json!({
                "elevation_gain_m": 3200, "Commute": false, "id": 99}),
            ),
            row(
                d("2024-09-01T09:15:00Z"),
                d("hiking"),
                d("Hike"),
                12000.0,
                json!({
                "Activity Date": "2024-09-01T09:15:00Z", "Activity Gear": "Boots"}),
            ),
            row(
                d("2024-05-01T08:30:00Z"),
                d("cycling"),
                d("Commute"),
                7000.0,
                json!({
                "Commute": true, "Activity Gear": "Bianchi"}),
            ),
            row(
                d("2024-05-03T06:00:00Z"),
                d("running"),
                d("Track"),
                400.0,
                json!({
                "Elapsed Time": "90", "Max Heart Rate": 190}),
            ),
            row(
                d("2020-02-02T02:02:02Z"),
                d("walking"),
                d("Dog walk"),
                2500.0,
                json!({"null_only": null}),
            ),
            row(
                d("2024-05-01T12:00:00Z"),
                d("cycling"),
                d("Big numbers"),
                99999.99,
                json!({
                "Elapsed Time": 1e10}),
            ),
            row(None, None, None, 42000.0, json!({})),
            row(
                d("2024-05-05T05:05:05Z"),
                d("cycling"),
                d("Empty gear"),
                50000.0,
                json!({
                "Activity Gear": null, "Commute": 1}),
            ),
        ]
    }

    /// The importer's computed properties plus the joined ones.
    fn properties(i: usize, r: &Row, start_ms: Option<i64>) -> Map<String, Json> {
        let mut p = Map::new();
        p.insert(
            "kind".into(),
            json!(if i % 7 == 6 { "route" } else { "track" }),
        );
        if let Some(s) = r.sport {
            p.insert("sport".into(), json!(s));
        }
        if let Some(t) = r.title {
            p.insert("title".into(), json!(t));
        }
        if let Some(ms) = start_ms {
            p.insert("start_time".into(), json!(crate::timefmt::iso8601(ms)));
        }
        let km = (r.distance_m / 1000.0 * 1000.0).round() / 1000.0;
        p.insert("distance_km".into(), json!(km));
        if let Json::Object(extra) = &r.extra {
            p.extend(extra.clone());
        }
        p
    }

    fn source(i: usize) -> String {
        format!(
            "/data/a{i}.{}",
            if i.is_multiple_of(3) { "fit" } else { "gpx" }
        )
    }

    /// The test table, and per activity what `Filter::matches` is given.
    struct TestDb {
        conn: Connection,
        given: Vec<(i64, Map<String, Json>)>,
    }

    fn database() -> TestDb {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE activities (id INTEGER PRIMARY KEY, hash BLOB, source TEXT, kind TEXT,
             start_time INTEGER, sport TEXT, title TEXT, distance_m REAL, num_points INTEGER,
             properties TEXT, imported_at INTEGER)",
        )
        .unwrap();
        let mut given = Vec::new();
        for (i, r) in rows().iter().enumerate() {
            let id = i as i64 + 1;
            let start_ms = r.start.map(|s| parse_time(s).unwrap().start);
            let props = properties(i, r, start_ms);
            conn.execute(
                "INSERT INTO activities VALUES (?1, x'00', ?2, ?3, ?4, ?5, ?6, ?7, 10, ?8, 0)",
                rusqlite::params![
                    id,
                    source(i),
                    props["kind"].as_str(),
                    start_ms,
                    r.sport,
                    r.title,
                    r.distance_m,
                    Json::Object(props.clone()).to_string(),
                ],
            )
            .unwrap();
            let mut props = props;
            props.insert("source".into(), json!(source(i)));
            given.push((id, props));
        }
        TestDb { conn, given }
    }

    fn query(db: &TestDb, sql: &str, params: Vec<Value>) -> Vec<i64> {
        let sql = format!("SELECT a.id FROM activities a WHERE {sql} ORDER BY a.id");
        let mut stmt = db
            .conn
            .prepare(&sql)
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
        let ids = stmt
            .query_map(params_from_iter(params), |r| r.get(0))
            .unwrap();
        ids.map(Result::unwrap).collect()
    }

    /// Ids by SQL and by `matches`, asserted equal.
    fn agreed(db: &TestDb, f: &Filter) -> Vec<i64> {
        let (sql, params) = f.to_sql();
        let by_sql = query(db, &sql, params);
        let given = db.given.iter();
        let by_eval: Vec<i64> = given
            .filter(|(id, p)| f.matches(*id, p))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(by_sql, by_eval, "{f}\n{sql}");
        by_sql
    }

    #[test]
    fn sql_and_eval_agree() {
        let db = database();
        let expected: &[(&str, &[i64])] = &[
            (
                "sport = \"cycling\" && distance_km > 50",
                &[1, 8, 10, 13, 18],
            ),
            (
                "!(sport = cycling)",
                &[3, 4, 5, 6, 7, 9, 11, 12, 14, 16, 17, 19],
            ),
            ("sport != cycling", &[3, 4, 5, 6, 9, 11, 12, 14, 16, 17]),
            ("distance_km = 50", &[2, 20]),
            ("distance_km = 21.098", &[11]),
            ("title like \"morning%\"", &[1, 3, 8]),
            ("title = 123", &[6]),
            ("title = 2024-05-01", &[5]),
            ("start_time = 2024-05-01", &[1, 2, 11, 15, 18]),
            ("start_time <= 2024-04-30", &[3, 5, 7, 8, 9, 10, 12, 17]),
            ("start_time > 2024-05-01", &[4, 13, 14, 16, 20]),
            ("start_time in [2024-05-02, 2024-05-03]", &[4, 16]),
            (
                "\"Activity Gear\" in [Bianchi, 'Gravel bike']",
                &[1, 2, 9, 15],
            ),
            ("\"Elapsed Time\" >= 3600", &[1, 2, 8, 18]),
            ("Commute = true", &[2, 15]),
            ("\"Max Heart Rate\" >= 172", &[1, 3, 16]),
            ("\"Activity Date\" >= 2024-01-01", &[8, 14]),
            ("id = 99", &[]),
            ("has? \"Activity Gear\"", &[1, 2, 6, 9, 10, 14, 15]),
            ("!(has? title)", &[4, 19]),
        ];
        for (filter, ids) in expected {
            let f = Filter::parse(filter).unwrap();
            assert_eq!(agreed(&db, &f), *ids, "{filter}");
        }
        let more = [
            "sport in [running, walking, \"virtual_ride\"]",
            "distance_km >= 50 && distance_km < 100.0",
            "distance_km = \"50\" || distance_km < 1",
            "title like \"%ride\" || title like \"_afé%\" || title like '%\\%%'",
            "title = \"123\" || title > 100 || title < \"M\"",
            "start_time >= 2024-05-01T19:00:00Z || start_time < 2024-01-01",
            "start_time != 2024-05-01 && start_time like \"2024-05%\"",
            "start_time = \"foo\" || start_time > 5 || start_time = 2024-05-01T00:00:00.000Z",
            "\"Activity Gear\" != Bianchi || \"Activity Gear\" like \"b%\"",
            "\"Elapsed Time\" = \"3600\" || \"Elapsed Time\" <= 1800",
            "Commute != true || Commute = 1 || !(Commute = true)",
            "\"Max Heart Rate\" = \"172\" || \"Max Heart Rate\" = 100",
            "\"Activity Date\" < 2024-06-01",
            "has? elevation_gain_m || elevation_gain_m > 500",
            "\"weird \"\"key\"\"\" = q || \"back\\slash\" = 1 || \"a.b\" = dot || \"g[0]\" = bracket",
            "id > 10 && id <= 15 || id in [1, \"2\", 3]",
            "tags = x || obj = 1 || has? tags || has? null_only || has? obj",
            "source like \"%.fit\" || source = \"/data/a1.gpx\"",
            "kind = route || kind != track",
            "(sport = cycling || sport = running) && !(distance_km < 10) || has? \"weird \"\"key\"\"\"",
            "k in [] || !(k in [])",
            "missing != 1 || !(missing = 1)",
            "!(!(title = Hike) && !(sport = hiking))",
        ];
        for filter in more {
            agreed(&db, &Filter::parse(filter).unwrap());
        }
    }

    #[test]
    fn hotpots_names_read_ours_in_hotpots_units() {
        let db = database();
        let expected: &[(&str, &[i64])] = &[
            ("total_distance = 52346", &[1]),
            (
                "total_distance >= 50000 && total_distance < 50001",
                &[2, 20],
            ),
            // A property of that very name wins, as in hotpot.
            ("total_distance = 5", &[3]),
            ("total_distance = 10012", &[]),
            ("name = \"Morning Ride\"", &[1]),
            ("name like 'morning%'", &[1, 3, 8]),
            ("name = \"Hike name\" || name = \"2024-05-01\"", &[5]),
            ("elapsed_time = 7200 || elapsed_time = 3600", &[1, 2]),
            ("average_speed = 27.4", &[1]),
            ("average_speed < 20", &[3]),
            ("min_elevation = -3 && max_elevation = 121", &[1]),
            ("elevation_gain > 600", &[1, 13]),
            ("has? max_speed", &[1]),
            ("has? moving_time", &[1]),
            (
                "has? name",
                &[
                    1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20,
                ],
            ),
            ("max_speed in [55.1, \"55\"]", &[1]),
        ];
        for (filter, ids) in expected {
            let f = Filter::parse(filter).unwrap();
            assert_eq!(agreed(&db, &f), *ids, "{filter}");
        }
    }

    /// The largest filter the parser lets through runs in SQLite: as many
    /// conditions of the costliest kinds as allowed, nested as deep as
    /// allowed. Before the SQL was balanced, a flat list of 1,000 failed
    /// with "Expression tree is too large (maximum depth 1000)".
    #[test]
    fn filters_at_the_size_limits_run_in_sqlite() {
        use super::super::limits::{MAX_CONDITIONS, MAX_DEPTH, MAX_IN_VALUES};
        let db = database();
        let costly = [
            "!(\"Activity Date\" >= 2024-01-01)",
            "!(average_speed = \"25\")",
            "name like 'x%'",
            "has? max_speed",
        ];
        let nest = MAX_DEPTH - 2; // `!(` takes two levels
        let wide: Vec<&str> = costly
            .iter()
            .cycle()
            .take(MAX_CONDITIONS - nest)
            .copied()
            .collect();
        let mut text = wide.join(" || ");
        for i in 0..nest {
            let op = if i % 2 == 0 { "&&" } else { "||" };
            text = format!("total_distance > {i} {op} ({text})");
        }
        let f = Filter::parse(&text).unwrap();
        let (_, params) = f.to_sql();
        assert!(params.len() > 3000, "{} parameters", params.len());
        agreed(&db, &f);

        let values: Vec<String> = (0..MAX_IN_VALUES).map(|i| format!("\"{i}\"")).collect();
        let list = format!("\"Max Heart Rate\" in [{}]", values.join(", "));
        assert_eq!(agreed(&db, &Filter::parse(&list).unwrap()), [1, 3, 16]);
    }

    /// Random filters over the test table's keys and values.
    #[test]
    fn sql_and_eval_agree_on_random_filters() {
        let db = database();
        let mut rng = Rng(3);
        for _ in 0..1500 {
            let f = Filter {
                expr: random_expr(&mut rng, 3),
            };
            agreed(&db, &f);
            assert_eq!(Filter::parse(&f.to_string()).as_ref(), Ok(&f), "{f}");
        }
    }

    fn random_expr(rng: &mut Rng, depth: usize) -> Expr {
        const KEYS: &[&str] = &[
            "id",
            "sport",
            "title",
            "kind",
            "source",
            "start_time",
            "distance_km",
            "Activity Gear",
            "Elapsed Time",
            "Commute",
            "Max Heart Rate",
            "Activity Date",
            "elevation_gain_m",
            "tags",
            "null_only",
            "missing",
            "a.b",
            "name",
            "total_distance",
            "elapsed_time",
            "average_speed",
            "max_speed",
            "min_elevation",
            "moving_time",
        ];
        let key = KEYS[rng.below(KEYS.len())].to_string();
        match rng.below(if depth == 0 { 4 } else { 7 }) {
            0 | 1 => {
                let ops = [
                    CmpOp::Eq,
                    CmpOp::Ne,
                    CmpOp::Lt,
                    CmpOp::Le,
                    CmpOp::Gt,
                    CmpOp::Ge,
                ];
                let op = ops[rng.below(ops.len())];
                Expr::Cmp {
                    key,
                    op,
                    value: random_literal(rng),
                }
            }
            2 => {
                let values = (0..rng.below(4)).map(|_| random_literal(rng)).collect();
                Expr::In { key, values }
            }
            3 => {
                let patterns = [
                    "%", "b%", "%ride", "_afé%", "2024-05%", "%.fit", "1_3", "%\u{e9}%",
                ];
                let pattern = patterns[rng.below(patterns.len())].to_string();
                if rng.below(4) == 0 {
                    Expr::Has(key)
                } else {
                    Expr::Like { key, pattern }
                }
            }
            4 => Expr::Not(Box::new(random_expr(rng, depth - 1))),
            n => {
                let list = (0..2 + rng.below(2))
                    .map(|_| random_expr(rng, depth - 1))
                    .collect();
                if n == 5 {
                    Expr::And(list)
                } else {
                    Expr::Or(list)
                }
            }
        }
    }

    fn random_literal(rng: &mut Rng) -> Literal {
        const NUMBERS: &[f64] = &[
            0.0, -1.0, 1.0, 7.0, 50.0, 52.346, 100.0, 172.0, 3600.0, 1e10, 0.5,
        ];
        const TEXTS: &[&str] = &[
            "cycling",
            "running",
            "Bianchi",
            "bianchi",
            "Morning Ride",
            "123",
            "172",
            "3600",
            "50",
            "2024-05-01",
            "2024-01-01",
            "2024-05-01T07:12:03Z",
            "2024-05-01T19:00:00.250Z",
            "track",
            "route",
            "",
            "true",
            "x",
            "/data/a1.gpx",
            "dot",
            "Zwift",
        ];
        match rng.below(5) {
            0 | 1 => Literal::Number(NUMBERS[rng.below(NUMBERS.len())]),
            2 | 3 => Literal::Text(TEXTS[rng.below(TEXTS.len())].to_string()),
            _ => Literal::Bool(rng.below(2) == 0),
        }
    }

    use crate::filter::test_rng::Rng;
}
