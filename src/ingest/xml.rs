//! The lenient XML reading that the GPX and TCX parsers share.
//!
//! Real GPS files are often damaged: cut off mid-write, hand-edited into
//! mismatched tags, written with the wrong namespace, in Latin-1, or with
//! junk after the last tag. The goal is to keep every point that can be read
//! and to say what was wrong in one-line warnings, instead of refusing the
//! whole file.
//!
//! The pieces:
//! - [`read`] turns the raw bytes into UTF-8 text and walks its elements with
//!   quick-xml over the borrowed input, keeping its own stack of open
//!   elements so that it can recover from mismatched end tags and close what
//!   is still open when the file ends early. A format parser only sees
//!   [`Handler::start`] / [`Handler::end`] calls with local names (prefixes
//!   and namespaces are ignored) and the text of the elements it asked for.
//! - [`Collector`] assembles points into segments and activities.
//! - [`Walk::finish`] turns what was read into the final `Parsed` or error.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};

use super::types::{ActivityKind, ParseError, Parsed, ParsedActivity, Point};

/// What a format is called in messages and what its root element must be.
pub(super) struct Format {
    pub name: &'static str,
    pub root: &'static str,
}

/// The format-specific side of a parse: it is told about every element.
pub(super) trait Handler {
    /// An element opens. `name` is its local name, `depth` its nesting level
    /// (the root is 1). Returning `true` asks for the element's text, which
    /// then arrives in [`Handler::end`].
    fn start(&mut self, name: &str, depth: usize, tag: &BytesStart<'_>) -> bool;

    /// An element closes (also when closed implicitly by a mismatched end tag
    /// or by the end of a truncated file). `text` is the element's text when
    /// `start` asked for it, and empty otherwise or when the file broke off
    /// inside the element (a cut-off number or time must not be trusted).
    fn end(&mut self, name: &str, depth: usize, text: &str);
}

/// How reading went, apart from what the handler collected.
pub(super) struct Walk {
    format: &'static str,
    /// The problem that stopped reading early, if any.
    fatal: Option<String>,
    /// Problems that reading went on past.
    warnings: Vec<String>,
}

/// Decodes `bytes`, checks the root element and feeds every element to
/// `handler`. Errors only when the bytes are not a document of this format
/// at all; damage inside the document is reported through the [`Walk`].
pub(super) fn read(
    bytes: &[u8],
    format: &Format,
    handler: &mut impl Handler,
) -> Result<Walk, ParseError> {
    let mut warnings = Vec::new();
    let (text, base) = decode(bytes, &mut warnings)?;
    let mut walker = Walker::new(base, format);
    let fatal = walker.run(&text, handler)?;
    warnings.extend(walker.warnings());
    Ok(Walk {
        format: format.name,
        fatal,
        warnings,
    })
}

impl Walk {
    /// The final answer for a file: its activities and warnings when any
    /// point was read; otherwise `Malformed` if the XML broke, else
    /// `NoPoints` with the format's own explanation.
    pub(super) fn finish(
        self,
        activities: Vec<ParsedActivity>,
        invalid_points: usize,
        time_warning: Option<String>,
        empty_reason: String,
    ) -> Result<Parsed, ParseError> {
        let points: usize = activities.iter().map(ParsedActivity::num_points).sum();
        if points == 0 {
            return Err(match self.fatal {
                Some(message) => ParseError::Malformed {
                    format: self.format,
                    message,
                },
                None => ParseError::NoPoints(empty_reason),
            });
        }
        let mut warnings = Vec::new();
        if let Some(fatal) = self.fatal {
            warnings.push(format!(
                "{fatal}; kept {} read before it",
                count(points, "point")
            ));
        }
        if invalid_points > 0 {
            warnings.push(format!(
                "{} with invalid coordinates skipped",
                count(invalid_points, "point")
            ));
        }
        warnings.extend(time_warning);
        warnings.extend(self.warnings);
        Ok(Parsed {
            activities,
            warnings,
        })
    }
}

/// "1 point", "2 points".
pub(super) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

// ---------------------------------------------------------------------------
// Decoding

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The document as UTF-8 (quick-xml reads nothing else), plus how many
/// leading bytes were dropped, so that byte positions in messages still
/// point into the file (into the UTF-8 text, for UTF-16 files).
///
/// Decoding is `encoding_rs` (the WHATWG encoding standard, as browsers
/// do): UTF-16 by its byte order mark or its `<` (Windows tools write it),
/// UTF-8, and any ASCII-compatible encoding the XML declaration names.
fn decode<'a>(
    bytes: &'a [u8],
    warnings: &mut Vec<String>,
) -> Result<(Cow<'a, str>, u64), ParseError> {
    if let Some((encoding, bom)) = utf16(bytes) {
        let (text, malformed) = encoding.decode_without_bom_handling(&bytes[bom..]);
        check_starts_like_xml(text.as_bytes())?;
        if malformed {
            warnings.push(format!(
                "text is not valid {}; undecodable bytes replaced",
                encoding.name()
            ));
        }
        return Ok((Cow::Owned(text.into_owned()), bom as u64));
    }
    let body = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let base = (bytes.len() - body.len()) as u64;
    check_starts_like_xml(body)?;
    // Valid UTF-8 is taken as such even when another encoding is declared:
    // real Latin-1 text with accents is almost never valid UTF-8, so such a
    // file is UTF-8 with a wrong declaration.
    if let Ok(text) = std::str::from_utf8(body) {
        return Ok((Cow::Borrowed(text), base));
    }
    // An ASCII-compatible declared encoding; "ISO-8859-1" decodes as
    // Windows-1252, as the standard says: files that say Latin-1 often hold
    // Windows-1252 punctuation, and for every other byte the two agree.
    let declared = declared_encoding(body)
        .and_then(encoding_rs::Encoding::for_label)
        .filter(|e| e.is_ascii_compatible() && *e != encoding_rs::UTF_8);
    if let Some(encoding) = declared {
        let (text, malformed) = encoding.decode_without_bom_handling(body);
        if malformed {
            warnings.push(format!(
                "text is not valid {}; undecodable bytes replaced",
                encoding.name()
            ));
        }
        return Ok((Cow::Owned(text.into_owned()), base));
    }
    warnings.push("text is not valid UTF-8; undecodable bytes replaced".to_string());
    Ok((String::from_utf8_lossy(body), base))
}

/// UTF-16 by byte order mark, or by a first `<` with a zero byte beside it,
/// and the length of the mark.
pub(super) fn utf16(bytes: &[u8]) -> Option<(&'static encoding_rs::Encoding, usize)> {
    match bytes {
        [0xFF, 0xFE, ..] => Some((encoding_rs::UTF_16LE, 2)),
        [0xFE, 0xFF, ..] => Some((encoding_rs::UTF_16BE, 2)),
        [b'<', 0, ..] => Some((encoding_rs::UTF_16LE, 0)),
        [0, b'<', ..] => Some((encoding_rs::UTF_16BE, 0)),
        _ => None,
    }
}

/// Rejects binary files (archives, images, compressed data) before any
/// copying: an XML document starts with `<` after optional whitespace.
fn check_starts_like_xml(body: &[u8]) -> Result<(), ParseError> {
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    match first.map(|i| &body[i..]) {
        Some([b'<', ..]) => Ok(()),
        None => Err(ParseError::Unsupported("empty document".to_string())),
        Some(rest) => {
            let head: Vec<String> = rest.iter().take(4).map(|b| format!("{b:02X}")).collect();
            Err(ParseError::Unsupported(format!(
                "not an XML document (starts with bytes {})",
                head.join(" ")
            )))
        }
    }
}

/// The `encoding` pseudo-attribute of a leading `<?xml …?>` declaration.
fn declared_encoding(body: &[u8]) -> Option<&[u8]> {
    let decl = body.strip_prefix(b"<?xml")?;
    let decl = &decl[..decl.windows(2).position(|w| w == b"?>")?];
    let after_key = &decl[decl.windows(8).position(|w| w == b"encoding")? + 8..];
    let after_eq = after_key
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let (&quote, value) = after_eq.split_first()?;
    value.split(|&b| b == quote).next()
}

// ---------------------------------------------------------------------------
// Walking

/// The element walk: its own stack of open elements (quick-xml's end-name
/// checking is off, because one wrong end tag would otherwise stop the
/// parse), the text being collected, and counts of what went wrong.
struct Walker<'f> {
    format: &'f Format,
    /// Bytes dropped before the text (a BOM), added to reported positions.
    base: u64,
    /// Qualified names of the open elements, end to end; `starts` indexes
    /// into it. One string instead of one per element: no allocation per tag.
    names: String,
    starts: Vec<usize>,
    root_seen: bool,
    /// Depth of the element whose text is being collected into `text`.
    capture: Option<usize>,
    text: String,
    mismatched: Problem,
    unknown_entities: Problem,
    trailing_data: Option<u64>,
}

/// A kind of recoverable damage: how often it happened, and the first time.
#[derive(Default)]
struct Problem {
    count: usize,
    first: String,
}

impl Problem {
    fn record(&mut self, describe: impl FnOnce() -> String) {
        if self.count == 0 {
            self.first = describe();
        }
        self.count += 1;
    }

    fn warning(&self, what: &str) -> Option<String> {
        match self.count {
            0 => None,
            1 => Some(self.first.clone()),
            n => Some(format!("{n} {what}, the first: {}", self.first)),
        }
    }
}

impl<'f> Walker<'f> {
    fn new(base: u64, format: &'f Format) -> Self {
        Walker {
            format,
            base,
            names: String::new(),
            starts: Vec::new(),
            root_seen: false,
            capture: None,
            text: String::new(),
            mismatched: Problem::default(),
            unknown_entities: Problem::default(),
            trailing_data: None,
        }
    }

    /// Reads until the root element closes, the input ends or the XML breaks
    /// beyond repair. Returns the message of the break, if any.
    fn run(
        &mut self,
        text: &str,
        handler: &mut impl Handler,
    ) -> Result<Option<String>, ParseError> {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        // A bare `&` ("Tom & Jerry") is common in hand-written names and
        // harmless: keep it as text.
        config.allow_dangling_amp = true;

        let fatal = loop {
            let at = self.base + reader.buffer_position();
            let event = match reader.read_event() {
                Ok(event) => event,
                Err(e) => {
                    break Some(format!(
                        "XML error at byte {}: {e}",
                        self.base + reader.error_position()
                    ));
                }
            };
            match event {
                Event::Start(tag) => self.open(&tag, handler)?,
                Event::Empty(tag) => {
                    self.open(&tag, handler)?;
                    self.close_top(handler, true);
                }
                Event::End(tag) => self.close(tag.name().as_ref(), at, handler),
                Event::Text(t) => self.collect(&t),
                Event::CData(t) => self.collect(&t),
                Event::GeneralRef(r) => self.reference(&r, at),
                Event::Eof => break self.unclosed_at_eof(text.len() as u64),
                _ => {}
            }
            if self.root_seen && self.starts.is_empty() {
                self.note_trailing_data(text, reader.buffer_position());
                break None;
            }
        };
        self.close_all(handler);
        if self.root_seen {
            return Ok(fatal);
        }
        Err(match fatal {
            Some(message) => ParseError::Malformed {
                format: self.format.name,
                message,
            },
            None => ParseError::Unsupported(format!("no <{}> element", self.format.root)),
        })
    }

    fn open(&mut self, tag: &BytesStart<'_>, handler: &mut impl Handler) -> Result<(), ParseError> {
        let qname = tag.name();
        let name = local(qname.as_ref());
        if !self.root_seen {
            if !name.eq_ignore_ascii_case(self.format.root) {
                return Err(ParseError::Unsupported(format!(
                    "root element is <{name}>, not <{}>",
                    self.format.root
                )));
            }
            self.root_seen = true;
        }
        self.starts.push(self.names.len());
        self.names.push_str(qname.as_ref());
        let depth = self.starts.len();
        if handler.start(name, depth, tag) {
            self.capture = Some(depth);
            self.text.clear();
        }
        Ok(())
    }

    /// Closes the innermost open element. `complete` says whether its text
    /// ended properly (with a tag) rather than with the file.
    fn close_top(&mut self, handler: &mut impl Handler, complete: bool) {
        let Some(&start) = self.starts.last() else {
            return;
        };
        let depth = self.starts.len();
        let captured = self.capture == Some(depth);
        let text = if captured && complete {
            self.text.as_str()
        } else {
            ""
        };
        handler.end(local(&self.names[start..]), depth, text);
        if captured {
            self.capture = None;
        }
        self.names.truncate(start);
        self.starts.pop();
    }

    /// An end tag. A mismatched one closes the elements opened after its
    /// match (as if their end tags had been left out); one that matches no
    /// open element is ignored.
    fn close(&mut self, qname: &str, at: u64, handler: &mut impl Handler) {
        let open = self.starts.len();
        if open > 0 && self.open_name(open - 1) == qname {
            self.close_top(handler, true);
            return;
        }
        let Some(index) = (0..open).rposition(|i| self.open_name(i) == qname) else {
            self.mismatched.record(|| {
                format!("end tag </{qname}> at byte {at} matches no open element; ignored")
            });
            return;
        };
        if index + 1 != open {
            let innermost = self.open_name(open - 1).to_string();
            self.mismatched.record(|| {
                format!("end tag </{qname}> at byte {at} closes unclosed <{innermost}>")
            });
        }
        while self.starts.len() > index {
            self.close_top(handler, true);
        }
    }

    /// Closes whatever is still open after the input ended or broke.
    fn close_all(&mut self, handler: &mut impl Handler) {
        while !self.starts.is_empty() {
            self.close_top(handler, false);
        }
    }

    /// The qualified name of the open element at stack `index`.
    fn open_name(&self, index: usize) -> &str {
        let end = self
            .starts
            .get(index + 1)
            .copied()
            .unwrap_or(self.names.len());
        &self.names[self.starts[index]..end]
    }

    fn collect(&mut self, text: &str) {
        if self.capture.is_some() {
            self.text.push_str(text);
        }
    }

    /// `&name;` or `&#…;`. Unknown entities (an HTML `&nbsp;` in a name) are
    /// kept as written rather than ending the parse.
    fn reference(&mut self, r: &BytesRef<'_>, at: u64) {
        let mut utf8 = [0; 4];
        let resolved = match r.resolve_char_ref() {
            Ok(Some(c)) => Some(&*c.encode_utf8(&mut utf8)),
            Ok(None) => resolve_xml_entity(r),
            Err(_) => None,
        };
        if let Some(text) = resolved {
            self.collect(text);
            return;
        }
        let written = format!("&{};", &**r);
        self.unknown_entities
            .record(|| format!("unknown entity {written} at byte {at} kept as text"));
        self.collect(&written);
    }

    fn unclosed_at_eof(&self, len: u64) -> Option<String> {
        let &start = self.starts.last()?;
        let innermost = &self.names[start..];
        Some(format!(
            "XML error at byte {}: file ends inside <{innermost}> (truncated?)",
            self.base + len
        ))
    }

    /// Anything but whitespace after the root element: ignored, but said.
    fn note_trailing_data(&mut self, text: &str, position: u64) {
        let rest = text.as_bytes().get(position as usize..).unwrap_or_default();
        if let Some(offset) = rest.iter().position(|b| !b.is_ascii_whitespace()) {
            self.trailing_data = Some(self.base + position + offset as u64);
        }
    }

    fn warnings(&self) -> impl Iterator<Item = String> {
        let trailing = self.trailing_data.map(|at| {
            format!(
                "data after the closing </{}> at byte {at} ignored",
                self.format.root
            )
        });
        [
            self.mismatched.warning("mismatched end tags"),
            self.unknown_entities.warning("unknown entities"),
            trailing,
        ]
        .into_iter()
        .flatten()
    }
}

/// The name without its namespace prefix: files use `gpx:trkpt`,
/// `ns3:Trackpoint` or none, and the prefix says nothing we need.
fn local(qname: &str) -> &str {
    // A plain byte loop: names are short, and this runs for every tag.
    match qname.bytes().rposition(|b| b == b':') {
        Some(colon) => &qname[colon + 1..],
        None => qname,
    }
}

// ---------------------------------------------------------------------------
// Values

/// A number from an attribute or element text; `None` for anything that is
/// not a finite number (`undefined`, empty, `NaN`).
pub(super) fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Element text as a title or sport, `None` when blank. These are shown on
/// one line, so runs of whitespace and control characters (line breaks from
/// pretty-printers, stray NULs) become one space.
pub(super) fn text_value(s: &str) -> Option<String> {
    let mut words = s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty());
    let mut value = words.next()?.to_string();
    for word in words {
        value.push(' ');
        value.push_str(word);
    }
    Some(value)
}

/// The value of the attribute with local name `name`. Malformed attributes
/// are skipped, and unquoted values accepted, rather than failing the tag.
pub(super) fn attribute<'t>(tag: &'t BytesStart<'_>, name: &str) -> Option<Cow<'t, str>> {
    attributes(tag)
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Every readable attribute as (local name, value), with character and
/// entity references resolved (`lat="&#53;&#50;.5"` is 52.5). A value with a
/// reference that does not resolve is kept as written.
pub(super) fn attributes<'t>(
    tag: &'t BytesStart<'_>,
) -> impl Iterator<Item = (&'t str, Cow<'t, str>)> {
    let mut attrs = tag.html_attributes();
    attrs.with_checks(false);
    attrs.flatten().map(|a| {
        // Normalisation changes only values with a reference or a tab or
        // line break; the others (every lat and lon in practice) are
        // returned as they are without it. quick-xml's own scan calls a
        // function per byte: skipping it took `attributes` from 119 to 83
        // perf samples (2,000/s) on the 360-file demo import.
        let plain = !a
            .value
            .bytes()
            .any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'));
        let value = if plain {
            a.value.clone()
        } else {
            a.normalized_value(XmlVersion::Implicit1_0)
                .unwrap_or_else(|_| a.value.clone())
        };
        (local(a.key.0), value)
    })
}

// ---------------------------------------------------------------------------
// Assembly

/// A point whose fields are still arriving.
pub(super) struct PendingPoint {
    pub lat: f64,
    pub lon: f64,
    pub ele: Option<f64>,
    pub time: Option<i64>,
    /// Whether the file gave a position at all. TCX trackpoints without one
    /// (indoor, paused) are skipped silently; a position that is present but
    /// unusable is counted as invalid.
    pub(crate) has_position: bool,
    /// The file gave a time that does not parse.
    pub(crate) unreadable_time: bool,
}

impl PendingPoint {
    /// Sets the time from a `<time>`/`<Time>` text; one that does not parse
    /// leaves no time and is counted.
    pub(super) fn set_time(&mut self, text: &str) {
        self.time = super::time::parse_timestamp(text);
        self.unreadable_time = self.time.is_none() && !text.trim().is_empty();
    }
}

/// Builds activities from the parser's begin/end calls. Ending an outer
/// piece ends the inner ones still open, so that a file missing end tags
/// still yields everything it contains.
#[derive(Default)]
pub(super) struct Collector {
    done: Vec<ParsedActivity>,
    open: Option<ParsedActivity>,
    segment: Vec<Point>,
    point: Option<PendingPoint>,
    /// Points with unusable coordinates, by kind (track, route).
    invalid: [usize; 2],
    /// Kept points whose time did not parse.
    unreadable_times: usize,
}

impl Collector {
    pub(super) fn begin_activity(&mut self, kind: ActivityKind) -> &mut ParsedActivity {
        self.end_activity();
        self.open.insert(ParsedActivity {
            kind,
            ..ParsedActivity::default()
        })
    }

    pub(super) fn activity(&mut self) -> Option<&mut ParsedActivity> {
        self.open.as_mut()
    }

    pub(super) fn end_activity(&mut self) {
        self.end_segment();
        if let Some(activity) = self.open.take().filter(|a| a.num_points() > 0) {
            self.done.push(activity);
        }
    }

    pub(super) fn end_segment(&mut self) {
        self.end_point();
        if !self.segment.is_empty() {
            let segment = std::mem::take(&mut self.segment);
            self.open.get_or_insert_default().segments.push(segment);
        }
    }

    /// Starts a point; a point outside any activity opens one of `kind`.
    pub(super) fn begin_point(&mut self, kind: ActivityKind) -> &mut PendingPoint {
        self.end_point();
        if self.open.is_none() {
            self.begin_activity(kind);
        }
        self.point.insert(PendingPoint {
            lat: f64::NAN,
            lon: f64::NAN,
            ele: None,
            time: None,
            has_position: false,
            unreadable_time: false,
        })
    }

    pub(super) fn point(&mut self) -> Option<&mut PendingPoint> {
        self.point.as_mut()
    }

    pub(super) fn end_point(&mut self) {
        let Some(p) = self.point.take() else { return };
        if !p.has_position {
            return;
        }
        if Point::is_valid_position(p.lat, p.lon) {
            self.unreadable_times += usize::from(p.unreadable_time);
            self.segment.push(Point {
                lat: p.lat,
                lon: p.lon,
                ele: p.ele,
                time: p.time,
            });
        } else {
            let kind = self.open.as_ref().map_or(ActivityKind::Track, |a| a.kind);
            self.invalid[kind_index(kind)] += 1;
        }
    }

    pub(super) fn invalid(&self, kind: ActivityKind) -> usize {
        self.invalid[kind_index(kind)]
    }

    /// A warning when kept points had times that do not parse.
    pub(super) fn time_warning(&self) -> Option<String> {
        let whose = match self.unreadable_times {
            0 => return None,
            1 => "its time does not parse",
            _ => "their times do not parse",
        };
        Some(format!(
            "{} kept without a time ({whose})",
            count(self.unreadable_times, "point")
        ))
    }

    /// Every activity with at least one point, in file order.
    pub(super) fn finish(mut self) -> Vec<ParsedActivity> {
        self.end_activity();
        self.done
    }
}

fn kind_index(kind: ActivityKind) -> usize {
    match kind {
        ActivityKind::Track => 0,
        ActivityKind::Route => 1,
    }
}

/// What the GPX and TCX tests share: the corpus of real files
/// (`shared/data/tracks`) with the checks run over it, and a damage check.
#[cfg(test)]
pub(super) mod test_support {
    use std::time::Instant;

    use super::super::test_corpus::{self, Entry};
    use super::super::types::{ParseError, Parsed};

    type Parser = fn(&[u8]) -> Result<Parsed, ParseError>;

    /// The manifest's files of one format ("gpx", "tcx").
    fn entries(format: &str) -> Vec<Entry> {
        test_corpus::entries()
            .into_iter()
            .filter(|e| e.format == format)
            .collect()
    }

    /// What a file must yield.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Expect {
        /// Ok, with a total point count in [0.95 n, n].
        Points(usize),
        /// Err(NoPoints) or Err(Malformed), with a message.
        NoPoints,
        /// Not GPS data at all: Err(Unsupported) or Err(Malformed).
        NotGps,
    }

    /// The expectation from the manifest alone; `exceptions` (path, expect,
    /// why) override it where a parser knows better than the counts.
    fn expectation(entry: &Entry, bytes: &[u8], exceptions: &[(&str, Expect, &str)]) -> Expect {
        if let Some(&(_, expect, _)) = exceptions.iter().find(|(path, ..)| *path == entry.path) {
            return expect;
        }
        if is_binary_container(bytes) {
            return Expect::NotGps;
        }
        if let Some(n) = count_in_notes(&entry.notes, "route-only <rte> (", " rtept)") {
            return Expect::Points(n);
        }
        if entry.notes.contains("no Position in any Trackpoint") {
            return Expect::NoPoints;
        }
        // The TCX counts include trackpoints without a position; the notes
        // say how many of them lack one ("342/1317 Trackpoints without
        // Position").
        if let Some((missing, all)) =
            fraction_in_notes(&entry.notes, " Trackpoints without Position")
        {
            return Expect::Points(all - missing);
        }
        match entry.approx_points {
            Some(n) if n > 0 => Expect::Points(n as usize),
            _ => Expect::NoPoints,
        }
    }

    /// Archives, images and compressed data that are not plain XML.
    fn is_binary_container(bytes: &[u8]) -> bool {
        let tar = bytes.get(257..262) == Some(b"ustar");
        tar || [&b"PK\x03\x04"[..], b"BZh", b"\xFF\xD8\xFF"]
            .iter()
            .any(|m| bytes.starts_with(m))
    }

    /// `n` in "…{before}n{after}…".
    fn count_in_notes(notes: &str, before: &str, after: &str) -> Option<usize> {
        let rest = &notes[notes.find(before)? + before.len()..];
        rest[..rest.find(after)?].parse().ok()
    }

    /// (k, n) in "… k/n{after}…" (the notes may also say "some{after}").
    fn fraction_in_notes(notes: &str, after: &str) -> Option<(usize, usize)> {
        notes.match_indices(after).find_map(|(at, _)| {
            let (k, n) = notes[..at].rsplit(' ').next()?.split_once('/')?;
            Some((k.parse().ok()?, n.parse().ok()?))
        })
    }

    /// Parses every file of `format` and checks it against its expectation,
    /// printing what each file yields; fails at the end listing every miss.
    pub fn check_all(format: &str, parse: Parser, exceptions: &[(&str, Expect, &str)]) {
        let entries = entries(format);
        assert!(!entries.is_empty(), "no {format} files in the manifest");
        let mut failures = Vec::new();
        for entry in &entries {
            let bytes = entry.unzipped();
            let expect = expectation(entry, &bytes, exceptions);
            let result = parse(&bytes);
            let verdict = judge(expect, &result);
            println!(
                "{} {}: {} (expected {expect:?})",
                if verdict.is_ok() { "ok  " } else { "FAIL" },
                entry.path,
                describe(&result)
            );
            if let Err(why) = verdict {
                failures.push(format!("{}: {why}", entry.path));
            }
        }
        assert!(
            failures.is_empty(),
            "{} files failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    fn judge(expect: Expect, result: &Result<Parsed, ParseError>) -> Result<(), String> {
        match (expect, result) {
            (Expect::Points(n), Ok(parsed)) => {
                let got: usize = parsed.activities.iter().map(|a| a.num_points()).sum();
                let low = (n as f64 * 0.95).ceil() as usize;
                if (low..=n).contains(&got) {
                    Ok(())
                } else {
                    Err(format!("{got} points, expected {low}..={n}"))
                }
            }
            (
                Expect::NoPoints,
                Err(ParseError::NoPoints(m) | ParseError::Malformed { message: m, .. }),
            )
            | (
                Expect::NotGps,
                Err(ParseError::Unsupported(m) | ParseError::Malformed { message: m, .. }),
            ) => {
                if m.trim().is_empty() || m.contains('\n') {
                    Err(format!("unclear message {m:?}"))
                } else {
                    Ok(())
                }
            }
            (_, other) => Err(format!("unexpected {}", describe(other))),
        }
    }

    pub fn describe(result: &Result<Parsed, ParseError>) -> String {
        match result {
            Ok(parsed) => {
                let points: Vec<String> = parsed
                    .activities
                    .iter()
                    .map(|a| a.num_points().to_string())
                    .collect();
                format!(
                    "Ok {} activities, {} points [{}], warnings {:?}",
                    parsed.activities.len(),
                    parsed
                        .activities
                        .iter()
                        .map(|a| a.num_points())
                        .sum::<usize>(),
                    points.join("+"),
                    parsed.warnings
                )
            }
            Err(e) => format!("Err({e})"),
        }
    }

    /// Parses every file of `format` repeatedly and prints the throughput,
    /// over all of them and for each file of 1 MB or more. Only meaningful
    /// in a release build; nothing is asserted.
    pub fn throughput(format: &str, parse: Parser) {
        let rounds = if cfg!(debug_assertions) { 1 } else { 20 };
        let build = if cfg!(debug_assertions) {
            "debug build, not representative"
        } else {
            "release"
        };
        let (mut total_bytes, mut total_seconds) = (0, 0.0);
        for entry in entries(format) {
            let bytes = entry.unzipped();
            let started = Instant::now();
            for _ in 0..rounds {
                std::hint::black_box(parse(std::hint::black_box(&bytes)).ok());
            }
            let seconds = started.elapsed().as_secs_f64();
            if bytes.len() >= 1_000_000 {
                println!(
                    "{format} {}: {:.0} MB/s",
                    entry.path,
                    (bytes.len() * rounds) as f64 / 1e6 / seconds
                );
            }
            total_bytes += bytes.len() * rounds;
            total_seconds += seconds;
        }
        let mb = total_bytes as f64 / 1e6;
        println!(
            "{format} throughput: {mb:.1} MB in {total_seconds:.3} s = {:.0} MB/s ({build})",
            mb / total_seconds
        );
    }

    /// Parses every prefix of `doc` (a file cut anywhere) and `doc` with
    /// each byte replaced by one of a few troublemakers: nothing may panic,
    /// and a cut file never yields more points than the whole one.
    pub fn assert_survives_damage(doc: &[u8], parse: Parser) {
        let points = |r: &Result<Parsed, ParseError>| {
            r.as_ref().map_or(0, |p| {
                p.activities.iter().map(|a| a.num_points()).sum::<usize>()
            })
        };
        let whole = points(&parse(doc));
        assert!(whole > 0);
        for cut in 0..doc.len() {
            let got = points(&parse(&doc[..cut]));
            assert!(
                got <= whole,
                "prefix of {cut} bytes gave {got} > {whole} points"
            );
        }
        let mut damaged = doc.to_vec();
        for at in 0..doc.len() {
            for byte in [b'<', b'>', b'"', b'&', b'/', b':', 0, 0xFF] {
                damaged[at] = byte;
                let _ = parse(&damaged);
            }
            damaged[at] = doc[at];
        }
    }
}
