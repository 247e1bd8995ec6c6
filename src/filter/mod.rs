//! The filter language: which activities to render, export or list.
//!
//! ```text
//! sport = "cycling" && distance_km > 50
//! "Activity Gear" in [Bianchi, 'Gravel bike'] || title like "Morning%"
//! !(start_time < 2024-01-01) && has? elevation_gain_m
//! ```
//!
//! # Grammar
//!
//! ```text
//! filter  := or
//! or      := and ("||" and)*                 // && binds tighter than ||
//! and     := unary ("&&" unary)*
//! unary   := "!" unary | "(" or ")" | "has?" key | key test
//! test    := op value | "in" "[" (value ("," value)* ","?)? "]" | "like" string
//! op      := "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
//! key     := word | string
//! value   := string | number | date | "true" | "false" | word
//! word    := letter_or_underscore (letter | digit | "_" | ".")*   // Unicode letters too
//! string  := '"' ... '"' | "'" ... "'"      // the quote doubled ("" or '') stands for itself
//! date    := 2024-05-01 | 2024-05-01T07:12:03Z | 2024-05-01T07:12:03.250Z
//! ```
//!
//! A bare word as a value is a string (`gear = Bianchi`); keys are top-level
//! property names taken literally (`a.b` is the key "a.b", not a path).
//! Backslashes have no special meaning, so Windows paths need no escaping.
//!
//! # Meaning
//!
//! Every key names a property of the activity (the `properties` JSON). A
//! comparison is true only when both sides are of a comparable kind:
//!
//! - numbers with numbers, where a string property holding a JSON number
//!   (`"172"`) counts as a number, and so does a quoted literal (`"172"`)
//!   compared with a number property;
//! - strings with strings, byte-wise (case matters);
//! - times with times: a date literal (quoted or not) meets only properties
//!   whose string is a date of the forms above. A literal names a span as
//!   long as its precision: `start_time = 2024-05-01` is "that day",
//!   `start_time <= 2024-05-01` includes the whole day, and
//!   `start_time > 2024-05-01` starts the next day;
//! - booleans with booleans (`false < true`).
//!
//! Anything else, a missing key or a `null` is false, for `!=` too (so
//! `!(x = 1)` and `x != 1` differ on activities without `x`). `like` is
//! SQL `LIKE` (`%`, `_`, case-insensitive for ASCII) on string properties;
//! `has? key` is true when the key is present and not null.
//!
//! # Compatibility with erik/hotpot
//!
//! Every filter erik/hotpot accepts parses here to the same tree. Its SQL
//! compared raw SQLite values, so some answers change, always to the rules
//! above: `x != v` no longer matches activities without `x`, a number no
//! longer equals `true`, `like` no longer matches numbers, numbers compare
//! with numeric strings by value instead of sorting below all text, and a
//! quoted key holding `.` or `[` names that key rather than a JSON path.
//! Added: `==`, `!` without parentheses, dates, doubled quotes in strings,
//! exponents and leading dots in numbers, dots in bare words, `in []`.
//! hotpot's names for the computed properties (`total_distance`,
//! `elapsed_time`, `average_speed`, `name`, ...) read ours in hotpot's
//! units (`alias.rs`). A filter may hold at most [`limits`] conditions and
//! nesting, which hotpot did not check (SQLite refused such filters).
//!
//! # Where it runs
//!
//! [`Filter::to_sql`] gives a `WHERE` fragment over `activities AS a`, every
//! key and value bound as a parameter; [`Filter::matches`] evaluates the same
//! filter in memory. Both give the same answer: the tests hold them to it.

mod alias;
mod eval;
mod keys;
mod parse;
mod sql;

/// The fuzz and agreement tests' generator, shared by parse.rs and sql.rs.
#[cfg(test)]
mod test_rng {
    /// A small deterministic xorshift generator, so that the fuzz runs are
    /// the same every time and need no crate.
    pub struct Rng(pub u64);

    impl Rng {
        pub fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }
}

use std::fmt;

/// A parsed filter. Its `Display` form is canonical and parses back to an
/// equal filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    expr: Expr,
}

/// Where and why a filter failed to parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct FilterError {
    /// 1-based, in characters; one past the end for "unexpected end".
    pub column: usize,
    pub message: String,
    pub kind: FilterErrorKind,
}

/// What kind of mistake a [`FilterError`] is. Both are the user's to fix
/// (a server answers 400 to either); `TooLarge` says a limit was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterErrorKind {
    /// Not the filter language.
    Syntax,
    /// Well-formed but over one of the [`limits`]; the message names it.
    TooLarge,
}

/// Characters shown either side of an error's column by
/// [`FilterError::render_caret`].
pub const CARET_CONTEXT: usize = 60;

/// Sizes a filter may not exceed. Without them a filter of a thousand
/// conditions reached SQLite and failed there ("Expression tree is too
/// large", a 500 on the server); now the parser refuses it and says why.
pub mod limits {
    /// Conditions in one filter: comparisons, `like`s, `has?`s, and each
    /// value of an `in` list. The SQL of a filter this size, written as a
    /// balanced tree, stays far inside SQLite's expression depth (1000) and
    /// bound-parameter (32766) limits: see `sql.rs`'s tests.
    pub const MAX_CONDITIONS: usize = 1000;
    /// Values in one `in` list (it can hold all of `MAX_CONDITIONS`).
    pub const MAX_IN_VALUES: usize = MAX_CONDITIONS;
    /// Parentheses and `!` nested inside each other, so that no input can
    /// overflow the stack of the parser or of the code that walks the tree.
    pub const MAX_DEPTH: usize = 64;
}

/// `And`/`Or` hold flat lists so that a long chain of `&&` is a wide tree,
/// not a deep one that recursive walks could overflow on.
#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Cmp {
        key: String,
        op: CmpOp,
        value: Literal,
    },
    In {
        key: String,
        values: Vec<Literal>,
    },
    Like {
        key: String,
        pattern: String,
    },
    Has(String),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// Bare words and unquoted dates are `Text` too: whether a text is also a
/// number or a date is decided where it is compared (`eval.rs`).
#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Number(f64),
    Text(String),
    Bool(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Filter {
    /// Parses the filter language (see the module docs).
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        parse::parse(input).map(|expr| Filter { expr })
    }

    /// Activities that started at or after `date` (`2024-01-01` or
    /// `2024-01-01T08:00:00Z`, UTC): `start_time >= date`.
    pub fn after(date: &str) -> Result<Filter, FilterError> {
        Self::start_time(CmpOp::Ge, date)
    }

    /// Activities that started before `date`: `start_time < date`.
    pub fn before(date: &str) -> Result<Filter, FilterError> {
        Self::start_time(CmpOp::Lt, date)
    }

    /// Activities whose `sport` is one of `names` (none for an empty list).
    /// Names are compared as given: normalising them is the caller's job.
    pub fn sports<S: AsRef<str>>(names: &[S]) -> Filter {
        let values = names
            .iter()
            .map(|s| Literal::Text(s.as_ref().to_string()))
            .collect();
        Filter {
            expr: Expr::In {
                key: "sport".to_string(),
                values,
            },
        }
    }

    /// Both filters; nested `and`s stay one flat list.
    pub fn and(a: Filter, b: Filter) -> Filter {
        let mut all = Vec::new();
        for expr in [a.expr, b.expr] {
            match expr {
                Expr::And(list) => all.extend(list),
                other => all.push(other),
            }
        }
        Filter {
            expr: Expr::And(all),
        }
    }

    /// A `WHERE` fragment over `activities AS a` and its parameters,
    /// numbered `?1`, `?2`, ...
    pub fn to_sql(&self) -> (String, Vec<rusqlite::types::Value>) {
        self.to_sql_from(1)
    }

    /// Like [`Filter::to_sql`], numbering parameters from `?first` (at least
    /// 1), for queries that already bind `?1 .. ?first-1` themselves.
    pub fn to_sql_from(&self, first: usize) -> (String, Vec<rusqlite::types::Value>) {
        sql::to_sql(&self.expr, first.max(1))
    }

    /// Whether the activity `id` with stored `properties` passes, exactly as
    /// [`Filter::to_sql`] would decide. `source` is the one key the SQL reads
    /// from a column that the importer does not copy into the properties:
    /// put it in `props` to filter on it in memory.
    pub fn matches(&self, id: i64, props: &serde_json::Map<String, serde_json::Value>) -> bool {
        eval::matches(&self.expr, id, props)
    }

    fn start_time(op: CmpOp, date: &str) -> Result<Filter, FilterError> {
        if eval::parse_time(date).is_none() {
            return Err(FilterError {
                column: 1,
                message: format!(
                    "expected a date like 2024-01-01 or 2024-01-01T08:00:00Z, found {date:?}"
                ),
                kind: FilterErrorKind::Syntax,
            });
        }
        let expr = Expr::Cmp {
            key: "start_time".to_string(),
            op,
            value: Literal::Text(date.to_string()),
        };
        Ok(Filter { expr })
    }
}

impl std::str::FromStr for Filter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Filter, FilterError> {
        Filter::parse(s)
    }
}

impl FilterError {
    /// The line of `input` holding the error, and a `^` under its column.
    /// At most [`CARET_CONTEXT`] characters either side of the column are
    /// shown (a 50,000-character filter gives a short message), and control
    /// characters escaped as [`crate::text::sanitize`] does, the caret
    /// still lined up under them.
    pub fn render_caret(&self, input: &str) -> String {
        let offset = self.column.saturating_sub(1);
        let mut line_start = 0;
        for (i, c) in input.chars().enumerate().take(offset) {
            if c == '\n' {
                line_start = i + 1;
            }
        }
        let line: Vec<char> = input
            .chars()
            .skip(line_start)
            .take_while(|&c| c != '\n')
            .collect();
        // A column past the end points just after it.
        let at = (offset - line_start).min(line.len());
        let from = at.saturating_sub(CARET_CONTEXT);
        let to = (at + CARET_CONTEXT).min(line.len());
        let (mut shown, mut pad) = (String::new(), String::new());
        if from > 0 {
            shown.push('…');
            pad.push(' ');
        }
        for (i, &c) in line[from..to].iter().enumerate() {
            let text = match c {
                // Tabs stay tabs so that the caret lines up however wide
                // they show.
                '\t' => "\t".to_string(),
                c if crate::text::needs_escape(c) => c.escape_default().to_string(),
                c => c.to_string(),
            };
            if from + i < at {
                let blank = if c == '\t' { '\t' } else { ' ' };
                pad.extend(std::iter::repeat_n(blank, text.chars().count()));
            }
            shown.push_str(&text);
        }
        if to < line.len() {
            shown.push('…');
        }
        format!("{shown}\n{pad}^")
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Cmp { key, op, value } => write!(f, "{} {op} {value}", Key(key)),
            Expr::In { key, values } => {
                write!(f, "{} in [", Key(key))?;
                for (i, v) in values.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{v}")?;
                }
                write!(f, "]")
            }
            Expr::Like { key, pattern } => write!(f, "{} like {}", Key(key), Quoted(pattern)),
            Expr::Has(key) => write!(f, "has? {}", Key(key)),
            Expr::Not(inner) => write!(f, "!({inner})"),
            Expr::And(list) => write_joined(f, list, " && "),
            Expr::Or(list) => write_joined(f, list, " || "),
        }
    }
}

/// Nested groups are always parenthesised, so that the printed form keeps
/// the tree's shape and parses back to an equal filter.
fn write_joined(f: &mut fmt::Formatter<'_>, list: &[Expr], sep: &str) -> fmt::Result {
    for (i, e) in list.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        match e {
            Expr::And(_) | Expr::Or(_) => write!(f, "({e})")?,
            _ => write!(f, "{e}")?,
        }
    }
    Ok(())
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `{}` on f64 prints the shortest text that parses back exactly,
            // and never an exponent.
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Text(s) => write!(f, "{}", Quoted(s)),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        })
    }
}

/// A key, bare when the lexer would read it back as one word.
struct Key<'a>(&'a str);

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if parse::is_bare_word(self.0) {
            f.write_str(self.0)
        } else {
            write!(f, "{}", Quoted(self.0))
        }
    }
}

struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_print_as_filters() {
        let f = Filter::and(
            Filter::and(
                Filter::after("2024-01-01").unwrap(),
                Filter::before("2024-02-01T00:00:00Z").unwrap(),
            ),
            Filter::sports(&["ride", "gravel ride"]),
        );
        let text = f.to_string();
        assert_eq!(
            text,
            r#"start_time >= "2024-01-01" && start_time < "2024-02-01T00:00:00Z" && sport in ["ride", "gravel ride"]"#
        );
        assert_eq!(Filter::parse(&text), Ok(f));
    }

    #[test]
    fn bad_dates_are_refused() {
        let err = Filter::after("yesterday").unwrap_err();
        assert_eq!(err.column, 1);
        assert!(err.to_string().contains("expected a date"), "{err}");
        assert!(Filter::before("2024-13-01").is_err());
    }

    #[test]
    fn from_str_is_parse() {
        let f: Filter = "a = 1".parse().unwrap();
        assert_eq!(Ok(f), Filter::parse("a == 1"));
    }

    #[test]
    fn caret_points_at_the_column() {
        let input = "sport = && x";
        let err = Filter::parse(input).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column 9: expected a value after '=', found '&&'"
        );
        assert_eq!(err.render_caret(input), "sport = && x\n        ^");
    }

    #[test]
    fn caret_keeps_tabs_and_finds_the_line() {
        let err = FilterError {
            column: 5,
            message: String::new(),
            kind: FilterErrorKind::Syntax,
        };
        assert_eq!(err.render_caret("\ta =\n"), "\ta =\n\t   ^");
        let err = FilterError {
            column: 10,
            message: String::new(),
            kind: FilterErrorKind::Syntax,
        };
        assert_eq!(err.render_caret("a = 1\n&& !"), "&& !\n   ^");
        let err = FilterError {
            column: usize::MAX,
            message: String::new(),
            kind: FilterErrorKind::Syntax,
        };
        assert_eq!(err.render_caret("a ="), "a =\n   ^");
    }

    #[test]
    fn caret_shows_a_window_of_long_filters_and_escapes_controls() {
        let long = vec!["a = 1"; 900].join(" && ") + " && @";
        let err = Filter::parse(&long).unwrap_err();
        let shown = err.render_caret(&long);
        let (line, caret) = shown.split_once('\n').unwrap();
        assert!(line.starts_with('…') && line.ends_with('@'), "{line}");
        assert_eq!(line.chars().count(), CARET_CONTEXT + 2);
        assert_eq!(caret.chars().count(), CARET_CONTEXT + 2, "under the @");

        let input = "title = \"\x1b[2J\" && @";
        let err = Filter::parse(input).unwrap_err();
        let shown = err.render_caret(input);
        assert_eq!(
            shown,
            "title = \"\\u{1b}[2J\" && @\n                       ^"
        );
    }

    #[test]
    fn keys_print_bare_only_when_they_read_back_as_words() {
        let cases = [
            ("a = 1", "a = 1"),
            ("名前 = 'x'", r#"名前 = "x""#),
            (
                "\"Activity Gear\" = Bianchi",
                r#""Activity Gear" = "Bianchi""#,
            ),
            ("\"has?\" = 1", r#""has?" = 1"#),
            ("'1x' = 1", r#""1x" = 1"#),
            ("'' = ''", r#""" = """#),
            ("x = 'say \"hi\"'", r#"x = "say ""hi""""#),
        ];
        for (input, shown) in cases {
            assert_eq!(Filter::parse(input).unwrap().to_string(), shown, "{input}");
        }
    }
}
