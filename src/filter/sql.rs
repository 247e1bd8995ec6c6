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

/// The importer's three date shapes (see `eval::parse_time`), as GLOBs.
const DATE_GLOBS: [&str; 3] = [
    "[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
    "[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z",
    "[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z",
];

/// SQL true when text `v` is a time `parse_time` accepts: the shape by GLOB,
/// the ranges by SQLite's own date parser.
fn is_time(v: &str) -> String {
    let shapes: Vec<String> = DATE_GLOBS.iter().map(|g| format!("{v} GLOB '{g}'")).collect();
    format!("({}) AND unixepoch({v}) IS NOT NULL", shapes.join(" OR "))
}

/// Unix milliseconds of a text `is_time` accepted.
fn time_of(v: &str) -> String {
    format!("round(unixepoch({v}, 'subsec') * 1000)")
}

/// The number in text `v` when it is exactly one JSON number
/// (`eval::number_from_text`), else NULL.
fn number_in_text(v: &str) -> String {
    format!("CASE WHEN {v} GLOB '[-0-9]*' AND {v} GLOB '*[0-9]' AND json_valid({v}) THEN {v} ->> '$' END")
}

/// A JSON path naming `key` literally: quoted, so `.` and `[` are plain
/// characters, with `\`, `"` and control characters escaped inside.
fn json_path(key: &str) -> String {
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

impl Writer {
    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.params.push(v.into());
        format!("?{}", self.first + self.params.len() - 1)
    }

    fn expr(&mut self, e: &Expr) -> String {
        match e {
            Expr::Cmp { key, op, value } => self.compare(key, *op, value),
            Expr::In { key, values } => {
                let each = values.iter().map(|v| self.compare(key, CmpOp::Eq, v)).collect();
                group(each, " OR ", "0")
            }
            Expr::Like { key, pattern } => self.by_kind(key, |w, kind, v| {
                (kind == Kind::Text).then(|| format!("{v} LIKE {}", w.bind(pattern.as_str())))
            }),
            Expr::Has(key) => self.has(key),
            Expr::Not(inner) => format!("NOT coalesce({}, 0)", self.expr(inner)),
            Expr::And(list) => {
                let each = list.iter().map(|e| self.expr(e)).collect();
                group(each, " AND ", "1")
            }
            Expr::Or(list) => {
                let each = list.iter().map(|e| self.expr(e)).collect();
                group(each, " OR ", "0")
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
        self.by_kind(key, |w, kind, v| w.branch(kind, v, op, lit))
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

    fn text(&mut self, v: &str, op: CmpOp, s: &str) -> String {
        let as_text = format!("{v} {op} {}", self.bind(s));
        match parse_time(s) {
            None => as_text,
            Some(span) => {
                let as_time = self.span(&time_of(v), op, span);
                format!("CASE WHEN {} THEN {as_time} ELSE {as_text} END", is_time(v))
            }
        }
    }

    fn span(&mut self, t: &str, op: CmpOp, span: TimeSpan) -> String {
        match op.span_test(span) {
            SpanTest::Inside(lo, hi) => format!("({t} >= {} AND {t} < {})", self.bind(lo), self.bind(hi)),
            SpanTest::Outside(lo, hi) => format!("({t} < {} OR {t} >= {})", self.bind(lo), self.bind(hi)),
            SpanTest::Before(x) => format!("{t} < {}", self.bind(x)),
            SpanTest::From(x) => format!("{t} >= {}", self.bind(x)),
        }
    }

    /// Applies `branch` to the key's value for each kind it may have: the
    /// column's one kind, or each JSON type in a `CASE`. Every literal has a
    /// branch of its own kind, so the `CASE` is never empty and the bound
    /// path is always used.
    fn by_kind(
        &mut self,
        key: &str,
        mut branch: impl FnMut(&mut Self, Kind, &str) -> Option<String>,
    ) -> String {
        if let Some((kind, col)) = column(key) {
            return branch(self, kind, col).unwrap_or_else(|| "NULL".to_string());
        }
        let path = self.bind(json_path(key));
        let value = format!("json_extract(a.properties, {path})");
        let whens: Vec<String> = JSON_TYPES
            .iter()
            .filter_map(|&(kind, types)| {
                let then = branch(self, kind, &value)?;
                Some(format!("WHEN json_type(a.properties, {path}) {types} THEN {then}"))
            })
            .collect();
        debug_assert!(!whens.is_empty(), "every literal kind has a branch");
        format!("CASE {} END", whens.join(" "))
    }

    fn has(&mut self, key: &str) -> String {
        match column(key) {
            Some((Kind::Text, col)) => format!("{col} IS NOT NULL"),
            // id and distance_m are NOT NULL.
            Some(_) => "1".to_string(),
            None => {
                let path = self.bind(json_path(key));
                format!("coalesce(json_type(a.properties, {path}), 'null') <> 'null'")
            }
        }
    }
}

/// `(a SEP b SEP ...)`, or `empty` for no terms.
fn group(terms: Vec<String>, sep: &str, empty: &str) -> String {
    match terms.len() {
        0 => empty.to_string(),
        1 => terms.concat(),
        _ => format!("({})", terms.join(sep)),
    }
}

#[cfg(test)]
mod tests;
