//! Text from files and users, made safe to print.
//!
//! File names, GPX `<name>`s and parser messages come from whoever made the
//! file. Printed raw, an ESC sequence in a track's name can clear the
//! terminal, retitle the window or hide the lines before it, and one
//! corrupt file produced warnings of 4,230 characters. [`sanitize`] is the
//! one function every edge that shows such text goes through.

use std::borrow::Cow;
use std::fmt::Write;

/// The most characters of one piece of foreign text shown; the rest becomes
/// "…". Long enough for any real file name or parser message (the longest in
/// the test corpus is 160), short enough that a warning fits a few lines.
pub const MAX_CHARS: usize = 300;

/// `s` with control characters escaped (`\u{1b}`, `\n`, `\t`, ...) and cut
/// to [`MAX_CHARS`] characters plus "…". Borrows when nothing changes.
///
/// Escaped: C0 and C1 controls and DEL (terminal commands), and the Unicode
/// bidirectional overrides and isolates, which make text print in an order
/// other than the bytes' ("Trojan Source").
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) && s.chars().nth(MAX_CHARS).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(MAX_CHARS * 4) + 4);
    // An escape counts as one character: the cap is about what the source
    // holds, and an escaped name stays recognisable.
    for (shown, c) in s.chars().enumerate() {
        if shown == MAX_CHARS {
            out.push('…');
            break;
        }
        if needs_escape(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Only the length cap of [`sanitize`], for text that goes out in JSON:
/// JSON escapes control characters itself, but a 4,000-character warning
/// is as useless there as on a terminal.
pub fn cap(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(MAX_CHARS) {
        None => Cow::Borrowed(s),
        Some((at, _)) => Cow::Owned(format!("{}…", &s[..at])),
    }
}

/// Characters [`sanitize`] escapes.
pub(crate) fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        let evil = "ride\x1b[2J\x1b]0;pwned\x07 home\r\n\u{9b}31m\u{202e}gpx.exe";
        let shown = sanitize(evil);
        assert_eq!(
            shown,
            r"ride\u{1b}[2J\u{1b}]0;pwned\u{7} home\r\n\u{9b}31m\u{202e}gpx.exe"
        );
        assert!(!shown.chars().any(needs_escape));
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in [
            "",
            "Morgenrunde am Müggelsee",
            "Berlin (0,9 km).fit",
            "東京 🚲",
        ] {
            assert!(matches!(sanitize(s), Cow::Borrowed(t) if t == s), "{s}");
            assert!(matches!(cap(s), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn long_text_is_capped_at_a_character_boundary() {
        let exact = "é".repeat(MAX_CHARS);
        assert_eq!(sanitize(&exact), exact);
        assert_eq!(cap(&exact), exact);
        let long = "é".repeat(4230);
        let shown = sanitize(&long);
        assert_eq!(shown.chars().count(), MAX_CHARS + 1);
        assert!(shown.ends_with("é…"));
        assert_eq!(cap(&long), shown);
        let escaped = sanitize(&"\x1b".repeat(1000)).into_owned();
        assert!(escaped.ends_with("\\u{1b}…"));
        assert_eq!(escaped.matches("\\u{1b}").count(), MAX_CHARS);
    }

    #[test]
    fn cap_keeps_control_characters_for_json_to_escape() {
        assert_eq!(cap("a\x1bb"), "a\x1bb");
    }
}
