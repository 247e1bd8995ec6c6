//! Text to [`Expr`]: a lexer that makes tokens on demand and a
//! recursive-descent parser with one token of lookahead.
//!
//! Lexing lazily means an error is always the leftmost one: a bad character
//! after a missing value is not reported before the missing value.

use super::eval::{NumberSyntax, parse_number, parse_time};
use super::limits::{MAX_CONDITIONS, MAX_DEPTH, MAX_IN_VALUES};
use super::{CmpOp, Expr, FilterError, FilterErrorKind, Literal};

pub(super) fn parse(input: &str) -> Result<Expr, FilterError> {
    let mut parser = Parser {
        lexer: Lexer {
            chars: input.chars().collect(),
            pos: 0,
        },
        peeked: None,
        prev: None,
        depth: 0,
        conditions: 0,
    };
    let expr = parser.or()?;
    if parser.eat(&Tok::End)? {
        return Ok(expr);
    }
    Err(parser.trailing())
}

/// Whether `s` lexes back as one word, so a key can be printed unquoted.
pub(super) fn is_bare_word(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_word_start) && chars.all(is_word_char)
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    AndAnd,
    OrOr,
    Bang,
    Has,
    Op(CmpOp),
    Word(String),
    Str(String),
    Number(f64),
    /// An unquoted date: read as a string value, but never as a key.
    Date(String),
    End,
}

struct Token {
    tok: Tok,
    column: usize,
    text: String,
}

impl Token {
    fn describe(&self) -> String {
        match self.tok {
            Tok::End => "end of input".to_string(),
            Tok::Str(_) => self.text.clone(),
            _ => format!("'{}'", self.text),
        }
    }
}

fn error(column: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        column,
        message: message.into(),
        kind: FilterErrorKind::Syntax,
    }
}

fn too_large(column: usize, message: String) -> FilterError {
    FilterError {
        column,
        message,
        kind: FilterErrorKind::TooLarge,
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn next_token(&mut self) -> Result<Token, FilterError> {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        // Rewinding on error makes a second look at a bad token fail alike.
        let tok = self.tok(start + 1).inspect_err(|_| self.pos = start)?;
        let text = self.chars[start..self.pos].iter().collect();
        Ok(Token {
            tok,
            column: start + 1,
            text,
        })
    }

    fn tok(&mut self, column: usize) -> Result<Tok, FilterError> {
        let Some(c) = self.peek(0) else {
            return Ok(Tok::End);
        };
        let next_is = |second: char| self.peek(1) == Some(second);
        let (tok, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            ',' => (Tok::Comma, 1),
            '&' if next_is('&') => (Tok::AndAnd, 2),
            '|' if next_is('|') => (Tok::OrOr, 2),
            '&' | '|' => return Err(error(column, format!("expected '{c}{c}', found '{c}'"))),
            '!' if next_is('=') => (Tok::Op(CmpOp::Ne), 2),
            '!' => (Tok::Bang, 1),
            '=' if next_is('=') => (Tok::Op(CmpOp::Eq), 2),
            '=' => (Tok::Op(CmpOp::Eq), 1),
            '<' if next_is('=') => (Tok::Op(CmpOp::Le), 2),
            '<' => (Tok::Op(CmpOp::Lt), 1),
            '>' if next_is('=') => (Tok::Op(CmpOp::Ge), 2),
            '>' => (Tok::Op(CmpOp::Gt), 1),
            '"' | '\'' => return self.string(c, column),
            _ if self.at_number() => return self.number_or_date(column),
            _ if is_word_start(c) => return Ok(self.word()),
            _ => return Err(error(column, format!("unexpected character '{c}'"))),
        };
        self.pos += len;
        Ok(tok)
    }

    /// A doubled quote stands for itself; nothing else is an escape, which
    /// keeps every string erik/hotpot accepted meaning the same.
    fn string(&mut self, quote: char, column: usize) -> Result<Tok, FilterError> {
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek(0) {
                None => {
                    let msg = format!("unterminated string: no closing {quote}");
                    return Err(error(column, msg));
                }
                // Skip the first of two quotes; the second is kept below.
                Some(c) if c == quote && self.peek(1) == Some(quote) => self.pos += 1,
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(Tok::Str(s));
                }
                Some(_) => {}
            }
            s.extend(self.peek(0));
            self.pos += 1;
        }
    }

    fn at_number(&self) -> bool {
        let digit = |i| self.peek(i).is_some_and(|c: char| c.is_ascii_digit());
        match self.peek(0) {
            Some('-') => digit(1) || (self.peek(1) == Some('.') && digit(2)),
            Some('.') => digit(1),
            _ => digit(0),
        }
    }

    /// Reads everything a number or a date could be made of, then decides,
    /// so that `4.1.2` or `5km` is one clear error rather than two tokens.
    fn number_or_date(&mut self, column: usize) -> Result<Tok, FilterError> {
        let start = self.pos;
        self.pos += 1;
        while self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | ':' | '-' | '+' | '_'))
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if let Some(n) = parse_number(&text, NumberSyntax::Filter) {
            if n.is_finite() {
                return Ok(Tok::Number(n));
            }
            return Err(error(column, format!("number out of range: {text}")));
        }
        if parse_time(&text).is_some() {
            return Ok(Tok::Date(text));
        }
        let msg = format!(
            "invalid number or date '{text}' (dates look like 2024-01-01 or 2024-01-01T08:00:00Z)"
        );
        Err(error(column, msg))
    }

    fn word(&mut self) -> Tok {
        let start = self.pos;
        while self.peek(0).is_some_and(is_word_char) {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        if word == "has" && self.peek(0) == Some('?') {
            self.pos += 1;
            return Tok::Has;
        }
        Tok::Word(word)
    }
}

enum Test {
    Op(CmpOp),
    In,
    Like,
}

struct Parser {
    lexer: Lexer,
    peeked: Option<Token>,
    /// The last token taken, for "after '>'" in messages and its column.
    prev: Option<(usize, String)>,
    depth: usize,
    /// Conditions so far, against [`MAX_CONDITIONS`].
    conditions: usize,
}

impl Parser {
    fn peek(&mut self) -> Result<&Token, FilterError> {
        match &mut self.peeked {
            Some(t) => Ok(t),
            slot @ None => Ok(slot.insert(self.lexer.next_token()?)),
        }
    }

    /// Takes the next token if `f` makes something of it.
    fn take_if<T>(&mut self, f: impl FnOnce(&Tok) -> Option<T>) -> Result<Option<T>, FilterError> {
        let token = self.peek()?;
        let Some(made) = f(&token.tok) else {
            return Ok(None);
        };
        let prev = (token.column, token.text.clone());
        self.prev = Some(prev);
        self.peeked = None;
        Ok(Some(made))
    }

    fn eat(&mut self, tok: &Tok) -> Result<bool, FilterError> {
        Ok(self.take_if(|t| (t == tok).then_some(()))?.is_some())
    }

    fn prev_column(&self) -> usize {
        self.prev.as_ref().map_or(1, |p| p.0)
    }

    /// "expected X, found Y" at the next token.
    fn expected(&mut self, what: &str) -> FilterError {
        let token = match self.peek() {
            Ok(token) => token,
            Err(lex_error) => return lex_error,
        };
        let found = match token.tok {
            Tok::End => String::new(),
            _ => format!(", found {}", token.describe()),
        };
        error(token.column, format!("expected {what}{found}"))
    }

    /// [`Parser::expected`], naming the token before the gap.
    fn expected_after(&mut self, what: &str) -> FilterError {
        match self.prev.clone() {
            Some((_, prev)) => self.expected(&format!("{what} after '{prev}'")),
            None => self.expected(what),
        }
    }

    fn trailing(&mut self) -> FilterError {
        let word = self.take_if(|t| match t {
            Tok::Word(w) if w == "and" || w == "or" => Some(w.clone()),
            _ => None,
        });
        match word {
            Ok(Some(w)) => {
                let op = if w == "and" { "&&" } else { "||" };
                error(
                    self.prev_column(),
                    format!("'{w}' is not an operator: write '{op}'"),
                )
            }
            Ok(None) => self.expected("'&&', '||' or the end of the filter"),
            Err(lex_error) => lex_error,
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        self.chain(Tok::OrOr, Self::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        self.chain(Tok::AndAnd, Self::unary, Expr::And)
    }

    /// `item (sep item)*`, one flat group when there is more than one item.
    fn chain(
        &mut self,
        sep: Tok,
        item: fn(&mut Self) -> Result<Expr, FilterError>,
        group: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, FilterError> {
        let mut items = vec![item(self)?];
        while self.eat(&sep)? {
            items.push(item(self)?);
        }
        Ok(match items.len() {
            1 => items.swap_remove(0),
            _ => group(items),
        })
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.eat(&Tok::Bang)? {
            return self.nested(|p| Ok(Expr::Not(Box::new(p.unary()?))));
        }
        if self.eat(&Tok::LParen)? {
            let open = self.prev_column();
            let expr = self.nested(Self::or)?;
            if !self.eat(&Tok::RParen)? {
                return Err(self.expected(&format!("')' to close the '(' at column {open}")));
            }
            return Ok(expr);
        }
        if self.eat(&Tok::Has)? {
            let key = self.key("a property name")?;
            self.count_condition()?;
            return Ok(Expr::Has(key));
        }
        let key = self.key("a condition")?;
        self.test(key)
    }

    /// One more condition, refused past [`MAX_CONDITIONS`] at the token
    /// just taken.
    fn count_condition(&mut self) -> Result<(), FilterError> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            let msg = format!(
                "more than {MAX_CONDITIONS} conditions (the limit, counting each value \
                 of an 'in' list); split the filter or use fewer values"
            );
            return Err(too_large(self.prev_column(), msg));
        }
        Ok(())
    }

    fn nested(
        &mut self,
        inner: impl FnOnce(&mut Self) -> Result<Expr, FilterError>,
    ) -> Result<Expr, FilterError> {
        if self.depth >= MAX_DEPTH {
            let msg = format!("nested more than {MAX_DEPTH} levels deep (the limit)");
            return Err(too_large(self.prev_column(), msg));
        }
        self.depth += 1;
        let expr = inner(self);
        self.depth -= 1;
        expr
    }

    fn key(&mut self, what: &str) -> Result<String, FilterError> {
        let key = self.take_if(|t| match t {
            Tok::Word(s) | Tok::Str(s) => Some(s.clone()),
            _ => None,
        })?;
        key.ok_or_else(|| self.expected_after(what))
    }

    fn test(&mut self, key: String) -> Result<Expr, FilterError> {
        let test = self.take_if(|t| match t {
            Tok::Op(op) => Some(Test::Op(*op)),
            Tok::Word(w) if w == "in" => Some(Test::In),
            Tok::Word(w) if w == "like" => Some(Test::Like),
            _ => None,
        })?;
        match test {
            Some(Test::Op(op)) => {
                let value = self.value("a value")?;
                self.count_condition()?;
                Ok(Expr::Cmp { key, op, value })
            }
            Some(Test::In) => Ok(Expr::In {
                key,
                values: self.list()?,
            }),
            Some(Test::Like) => {
                let pattern = self.take_if(|t| match t {
                    Tok::Str(s) => Some(s.clone()),
                    _ => None,
                })?;
                let pattern = pattern.ok_or_else(|| self.expected_after("a quoted pattern"))?;
                self.count_condition()?;
                Ok(Expr::Like { key, pattern })
            }
            None => Err(self.expected_after("an operator (=, !=, <, <=, >, >=, in or like)")),
        }
    }

    fn value(&mut self, what: &str) -> Result<Literal, FilterError> {
        let value = self.take_if(|t| match t {
            Tok::Str(s) | Tok::Date(s) => Some(Literal::Text(s.clone())),
            Tok::Number(n) => Some(Literal::Number(*n)),
            Tok::Word(w) => Some(match w.as_str() {
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                _ => Literal::Text(w.clone()),
            }),
            _ => None,
        })?;
        value.ok_or_else(|| self.expected_after(what))
    }

    fn list(&mut self) -> Result<Vec<Literal>, FilterError> {
        if !self.eat(&Tok::LBracket)? {
            return Err(self.expected_after("'['"));
        }
        let mut values = Vec::new();
        loop {
            if self.eat(&Tok::RBracket)? {
                return Ok(values);
            }
            values.push(self.value("a value or ']'")?);
            if values.len() > MAX_IN_VALUES {
                let msg = format!("more than {MAX_IN_VALUES} values in one 'in' list (the limit)");
                return Err(too_large(self.prev_column(), msg));
            }
            self.count_condition()?;
            if self.eat(&Tok::Comma)? {
                continue;
            }
            if self.eat(&Tok::RBracket)? {
                return Ok(values);
            }
            return Err(self.expected("',' or ']'"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Filter;
    use super::*;

    fn cmp(key: &str, op: CmpOp, value: Literal) -> Expr {
        Expr::Cmp {
            key: key.to_string(),
            op,
            value,
        }
    }

    fn eq(key: &str, n: f64) -> Expr {
        cmp(key, CmpOp::Eq, Literal::Number(n))
    }

    fn text(s: &str) -> Literal {
        Literal::Text(s.to_string())
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let (a, b, c) = (eq("a", 1.0), eq("b", 2.0), eq("c", 3.0));
        let or_and = Expr::Or(vec![a.clone(), Expr::And(vec![b.clone(), c.clone()])]);
        assert_eq!(parse("a = 1 || b = 2 && c = 3"), Ok(or_and));
        let and_or = Expr::Or(vec![Expr::And(vec![a.clone(), b.clone()]), c.clone()]);
        assert_eq!(parse("a = 1 && b = 2 || c = 3"), Ok(and_or));
        let grouped = Expr::And(vec![a.clone(), Expr::Or(vec![b.clone(), c.clone()])]);
        assert_eq!(parse("a = 1 && (b = 2 || c = 3)"), Ok(grouped));
        assert_eq!(
            parse("a=1||b=2||c=3"),
            Ok(Expr::Or(vec![a.clone(), b.clone(), c.clone()]))
        );
    }

    #[test]
    fn not_applies_to_the_next_condition() {
        let not_a = Expr::Not(Box::new(eq("a", 1.0)));
        assert_eq!(
            parse("!a = 1 && b = 2"),
            Ok(Expr::And(vec![not_a.clone(), eq("b", 2.0)]))
        );
        assert_eq!(parse("!(a = 1)"), Ok(not_a.clone()));
        assert_eq!(parse("!!a = 1"), Ok(Expr::Not(Box::new(not_a))));
        let not_has = Expr::Not(Box::new(Expr::Has("hr".to_string())));
        assert_eq!(parse("!has? hr"), Ok(not_has));
    }

    #[test]
    fn nesting_keeps_groups() {
        let inner = Expr::And(vec![eq("a", 1.0), eq("b", 2.0)]);
        let outer = Expr::And(vec![inner.clone(), eq("c", 3.0)]);
        assert_eq!(parse("((a = 1 && b = 2)) && c = 3"), Ok(outer));
        assert_eq!(parse("(((((a = 1 && b = 2)))))"), Ok(inner));
    }

    #[test]
    fn values_and_keys() {
        let cases = [
            ("x = 1.5", cmp("x", CmpOp::Eq, Literal::Number(1.5))),
            ("x == -2", cmp("x", CmpOp::Eq, Literal::Number(-2.0))),
            ("x != 1e3", cmp("x", CmpOp::Ne, Literal::Number(1000.0))),
            ("x < .5", cmp("x", CmpOp::Lt, Literal::Number(0.5))),
            ("x <= 007", cmp("x", CmpOp::Le, Literal::Number(7.0))),
            ("x = -.5", cmp("x", CmpOp::Eq, Literal::Number(-0.5))),
            ("x = 1.", cmp("x", CmpOp::Eq, Literal::Number(1.0))),
            ("x > 2024-01-01", cmp("x", CmpOp::Gt, text("2024-01-01"))),
            (
                "x >= 2024-01-01T08:00:00Z",
                cmp("x", CmpOp::Ge, text("2024-01-01T08:00:00Z")),
            ),
            ("x = true", cmp("x", CmpOp::Eq, Literal::Bool(true))),
            ("x = false", cmp("x", CmpOp::Eq, Literal::Bool(false))),
            ("x = ride", cmp("x", CmpOp::Eq, text("ride"))),
            ("x = 'true'", cmp("x", CmpOp::Eq, text("true"))),
            ("a.b_c = v1.2", cmp("a.b_c", CmpOp::Eq, text("v1.2"))),
            (
                "名前 = 'こんにちは'",
                cmp("名前", CmpOp::Eq, text("こんにちは")),
            ),
            ("in = 1", eq("in", 1.0)),
            ("has = 1", eq("has", 1.0)),
            ("\"has?\" = 1", eq("has?", 1.0)),
        ];
        for (input, expr) in cases {
            assert_eq!(parse(input), Ok(expr), "{input}");
        }
    }

    #[test]
    fn quoting() {
        let cases = [
            (r#""Activity Gear" = "Bianchi""#, "Activity Gear", "Bianchi"),
            (r#"'Activity Gear' = 'it''s'"#, "Activity Gear", "it's"),
            (r#"k = "say ""hi""""#, "k", r#"say "hi""#),
            (r#"k = 'say "hi"'"#, "k", r#"say "hi""#),
            (r#"k = "it's""#, "k", "it's"),
            (r#"k = "C:\temp\""#, "k", r"C:\temp\"),
            (r#"k = "a\nb""#, "k", r"a\nb"),
            (r#"k = """#, "k", ""),
            (r#"k = ''''"#, "k", "'"),
            ("k = '&& ||'", "k", "&& ||"),
        ];
        for (input, key, value) in cases {
            assert_eq!(
                parse(input),
                Ok(cmp(key, CmpOp::Eq, text(value))),
                "{input}"
            );
        }
    }

    #[test]
    fn lists_like_and_has() {
        let list = Expr::In {
            key: "k".to_string(),
            values: vec![
                text("a"),
                text("b c"),
                Literal::Number(3.0),
                Literal::Bool(false),
            ],
        };
        assert_eq!(parse("k in [a, \"b c\", 3, false]"), Ok(list.clone()));
        assert_eq!(parse("k in[a,'b c',3,false,]"), Ok(list));
        let empty = Expr::In {
            key: "k".to_string(),
            values: vec![],
        };
        assert_eq!(parse("k in []"), Ok(empty));
        let like = Expr::Like {
            key: "title".to_string(),
            pattern: "Morning%".to_string(),
        };
        assert_eq!(parse("title like \"Morning%\""), Ok(like));
        assert_eq!(parse("has?hr"), Ok(Expr::Has("hr".to_string())));
        assert_eq!(parse("has? 'my key'"), Ok(Expr::Has("my key".to_string())));
    }

    /// erik/hotpot's own tests and `--help` examples.
    #[test]
    fn hotpot_filters_parse() {
        let valid = [
            "key = value",
            " key  =  value ",
            r#""key" = 'value'"#,
            r#""key" = ''"#,
            "key!=true",
            "key!=false",
            "key < 1",
            "key <= 1.234",
            "key >= value",
            "key > -1.234",
            "key in [val1, 'val2', 1.23, false]",
            "key in []",
            "has? my_key_1",
            "has? 'my key 2'",
            r#"name like "foo%""#,
            "key = value && key2 = 3.14",
            "a = 1 && b = 2 && c = 3",
            "(a = 1 && (b = 2 || c = 3))",
            "((key = value)) || x = 1",
            "a = 1 || b = 2 || c = 3",
            "!(key = value)",
            "!(a = 1 && b = 2)",
            r#"city = "東京""#,
            "名前 = 'こんにちは'",
            "activity_type in [gravel, 'road']",
            "(avg_speed > 18 && gear = fixed) || commute = true",
            r#"activity_type in [ride, "gravel ride"]"#,
            "elev_gain > 1000 || distance > 200",
            r#""Total Duration" > 240 && has? heart_rate"#,
        ];
        for input in valid {
            assert!(parse(input).is_ok(), "{input}: {:?}", parse(input));
        }
        // All of hotpot's invalid inputs stay invalid, except `!key = value`
        // and `k in []`, which this language accepts on purpose.
        let invalid = [
            "",
            "key =",
            "key = '",
            "1.23 < 4",
            "key < 4.1.2",
            "key < 1-2",
            "key < 123abc",
            "key",
            "k in [",
            "k in [1 2]",
            "x=y&&",
        ];
        for input in invalid {
            assert!(parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases = [
            ("", 1, "expected a condition"),
            ("   ", 4, "expected a condition"),
            ("distance > ", 12, "expected a value after '>'"),
            ("key =", 6, "expected a value after '='"),
            (
                "sport = && x = 1",
                9,
                "expected a value after '=', found '&&'",
            ),
            ("key = '", 7, "unterminated string: no closing '"),
            ("k = \"abc", 5, "unterminated string: no closing \""),
            ("1.23 < 4", 1, "expected a condition, found '1.23'"),
            ("key < 4.1.2", 7, "invalid number or date '4.1.2'"),
            ("key < 1-2", 7, "invalid number or date '1-2'"),
            ("key < 123abc", 7, "invalid number or date '123abc'"),
            ("key < 1e999", 7, "number out of range: 1e999"),
            ("x > 2024-13-01", 5, "invalid number or date '2024-13-01'"),
            (
                "key",
                4,
                "expected an operator (=, !=, <, <=, >, >=, in or like) after 'key'",
            ),
            ("\"a b\" ~ 1", 7, "unexpected character '~'"),
            ("k in [", 7, "expected a value or ']' after '['"),
            ("k in [1 2]", 9, "expected ',' or ']', found '2'"),
            ("k in 1", 6, "expected '[' after 'in', found '1'"),
            (
                "k in [1,,2]",
                9,
                "expected a value or ']' after ',', found ','",
            ),
            ("x=y&&", 6, "expected a condition after '&&'"),
            (
                "a = 1 || ) ",
                10,
                "expected a condition after '||', found ')'",
            ),
            ("a = 1 & b = 2", 7, "expected '&&', found '&'"),
            ("a = 1 | b = 2", 7, "expected '||', found '|'"),
            ("(a = 1", 7, "expected ')' to close the '(' at column 1"),
            (
                "((a = 1) && b = 2",
                18,
                "expected ')' to close the '(' at column 1",
            ),
            (
                "a = 1)",
                6,
                "expected '&&', '||' or the end of the filter, found ')'",
            ),
            (
                "a = 1 b = 2",
                7,
                "expected '&&', '||' or the end of the filter, found 'b'",
            ),
            ("a = 1 and b = 2", 7, "'and' is not an operator: write '&&'"),
            ("a = 1 or b = 2", 7, "'or' is not an operator: write '||'"),
            (
                "title like Morning",
                12,
                "expected a quoted pattern after 'like', found 'Morning'",
            ),
            ("has?", 5, "expected a property name after 'has?'"),
            (
                "has? = 1",
                6,
                "expected a property name after 'has?', found '='",
            ),
            ("!", 2, "expected a condition after '!'"),
            ("a = [1]", 5, "expected a value after '=', found '['"),
            ("a = -", 5, "unexpected character '-'"),
            ("ключ = @", 8, "unexpected character '@'"),
            ("a = 1 && (b = @", 15, "unexpected character '@'"),
        ];
        for (input, column, message) in cases {
            let err = parse(input).expect_err(input);
            // Some messages go on with a hint; the start is what matters here.
            assert_eq!(err.column, column, "{input}: {err}");
            assert!(err.message.starts_with(message), "{input}: {err}");
        }
    }

    #[test]
    fn the_leftmost_error_wins() {
        // The missing value is reported, not the bad character after it.
        assert_eq!(parse("a = && @").unwrap_err().column, 5);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}a = 1{}", "(".repeat(10_000), ")".repeat(10_000));
        let err = parse(&deep).unwrap_err();
        assert_eq!(err.column, MAX_DEPTH + 1);
        assert_eq!(err.kind, FilterErrorKind::TooLarge);
        assert!(parse(&"!".repeat(100_000)).is_err());
        let ok = format!("{}a = 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        // Long chains are flat lists, not deep trees.
        let long = vec!["a = 1"; MAX_CONDITIONS].join(" && ");
        assert!(matches!(parse(&long), Ok(Expr::And(list)) if list.len() == MAX_CONDITIONS));
    }

    #[test]
    fn too_many_conditions_is_an_error_naming_the_limit() {
        let over = vec!["a = 1"; MAX_CONDITIONS + 1].join(" || ");
        let err = parse(&over).unwrap_err();
        assert_eq!(err.kind, FilterErrorKind::TooLarge);
        assert_eq!(
            err.column,
            MAX_CONDITIONS * 9 + 5,
            "at the condition too many"
        );
        assert!(err.message.contains("more than 1000 conditions"), "{err}");
        let many = vec!["has? a"; 50_000].join(" && ");
        assert_eq!(parse(&many).unwrap_err().kind, FilterErrorKind::TooLarge);

        let values = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        assert!(parse(&format!("id in [{}]", values(MAX_IN_VALUES))).is_ok());
        let err = parse(&format!("id in [{}]", values(MAX_IN_VALUES + 1))).unwrap_err();
        assert_eq!(err.kind, FilterErrorKind::TooLarge);
        assert!(
            err.message.contains("1000 values in one 'in' list"),
            "{err}"
        );
        // Each value counts as a condition.
        let err = parse(&format!("a = 1 && id in [{}]", values(MAX_IN_VALUES))).unwrap_err();
        assert!(err.message.contains("conditions"), "{err}");
        // Syntax errors stay syntax errors.
        assert_eq!(parse("a =").unwrap_err().kind, FilterErrorKind::Syntax);
    }

    use crate::filter::test_rng::Rng;

    /// Whatever the input, parsing returns; and whatever parses prints back
    /// to the same filter.
    #[test]
    fn fuzz_never_panics_and_round_trips() {
        let pieces = [
            "a",
            "key",
            "\"Activity Gear\"",
            "'x y'",
            "has?",
            "has",
            "in",
            "like",
            "true",
            "!",
            "(",
            ")",
            "[",
            "]",
            ",",
            "&&",
            "||",
            "&",
            "|",
            "=",
            "==",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
            "1",
            "-2.5",
            ".5",
            "1e3",
            "2024-01-01",
            "2024-01-01T08:00:00Z",
            "\"",
            "'",
            "''",
            "\"\"",
            " ",
            "\t",
            "\n",
            "é",
            "名前",
            "@",
            "-",
            ".",
            "?",
            "%",
            "\\",
            "0x",
            "_",
        ];
        let seeds = [
            "sport = \"cycling\" && distance_km > 50",
            "a in [1, 'b', c] || !(has? d) && e like \"%f%\"",
            "((x >= 2024-01-01T08:00:00Z)) || 'y z' != -1e-3",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut parsed = 0;
        for round in 0..30_000 {
            let input = if round % 2 == 0 {
                let n = rng.below(12);
                (0..n)
                    .map(|_| *rng.pick(&pieces))
                    .collect::<Vec<_>>()
                    .join("")
            } else {
                let seed = rng.pick(&seeds).to_string();
                mutate(&mut rng, seed, &pieces)
            };
            if let Ok(f) = Filter::parse(&input) {
                parsed += 1;
                let shown = f.to_string();
                assert_eq!(
                    Filter::parse(&shown).as_ref(),
                    Ok(&f),
                    "{input:?} -> {shown:?}"
                );
            }
        }
        assert!(
            parsed > 1000,
            "the fuzz should reach valid filters too: {parsed}"
        );
    }

    fn mutate(rng: &mut Rng, seed: String, pieces: &[&str]) -> String {
        let mut chars: Vec<char> = seed.chars().collect();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(chars.len() + 1);
            match rng.below(3) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                _ => {
                    let tail = chars.split_off(at);
                    chars.extend(rng.pick(pieces).chars());
                    chars.extend(tail);
                }
            }
        }
        chars.into_iter().collect()
    }
}
