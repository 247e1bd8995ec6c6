//! Writing activities as GPX 1.1, TCX and FIT files, optionally gzipped the
//! way a Strava bulk export stores them.
//!
//! The XML writers format numbers and timestamps by hand into one byte
//! buffer: the benchmark set is ~14 M points, and `write!` with float
//! formatting would dominate the time. Output is byte-for-byte deterministic.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::city::haversine_m;
use crate::fit_write::write_fit;
use hotpot_model::activity::{ActivityKind, ParsedActivity, Point};
use hotpot_model::timefmt::{push_iso8601, push_uint};

/// File formats the demo writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    Gpx,
    Tcx,
    Fit,
}

impl FileFormat {
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Gpx => "gpx",
            FileFormat::Tcx => "tcx",
            FileFormat::Fit => "fit",
        }
    }
}

/// Which format each activity is written in: shares of GPX, TCX and FIT
/// (weights, need not sum to 1) and the share of files gzipped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FormatPlan {
    pub gpx: f64,
    pub tcx: f64,
    pub fit: f64,
    pub gzip: f64,
}

impl Default for FormatPlan {
    fn default() -> Self {
        FormatPlan::demo()
    }
}

impl FormatPlan {
    /// The `hotpot demo` mix: 60 % GPX, 20 % TCX, 20 % FIT, a third of all
    /// files gzipped (`.gpx.gz`, `.tcx.gz`, `.fit.gz`).
    pub fn demo() -> FormatPlan {
        FormatPlan {
            gpx: 0.6,
            tcx: 0.2,
            fit: 0.2,
            gzip: 1.0 / 3.0,
        }
    }

    /// The import benchmark: plain GPX only.
    pub fn benchmark() -> FormatPlan {
        FormatPlan::only(FileFormat::Gpx, false)
    }

    pub fn only(format: FileFormat, gzip: bool) -> FormatPlan {
        let share = |f: FileFormat| if f == format { 1.0 } else { 0.0 };
        FormatPlan {
            gpx: share(FileFormat::Gpx),
            tcx: share(FileFormat::Tcx),
            fit: share(FileFormat::Fit),
            gzip: if gzip { 1.0 } else { 0.0 },
        }
    }

    /// Format and gzip flag for activity `index`. Uses two low-discrepancy
    /// (Weyl) sequences rather than random draws, so even a dozen files
    /// come close to the planned shares and every format shows up.
    pub fn choose(&self, index: usize) -> (FileFormat, bool) {
        const GOLDEN: f64 = 0.618_033_988_749_894_9;
        const PLASTIC: f64 = 0.754_877_666_246_692_8;
        let u = (0.5 + index as f64 * GOLDEN).fract();
        let v = (0.25 + index as f64 * PLASTIC).fract();
        let total = self.gpx + self.tcx + self.fit;
        let x = u * total;
        let format = if x < self.gpx || total <= 0.0 {
            FileFormat::Gpx
        } else if x < self.gpx + self.tcx {
            FileFormat::Tcx
        } else {
            FileFormat::Fit
        };
        (format, v < self.gzip)
    }
}

/// Writes every activity to `dir/activities/NNNNNN.ext[.gz]` (NNNNNN is
/// the activity's index), formats chosen by `plan`; returns the paths in
/// activity order.
pub fn write_files(
    dir: &Path,
    acts: &[ParsedActivity],
    plan: FormatPlan,
) -> io::Result<Vec<PathBuf>> {
    acts.iter()
        .enumerate()
        .map(|(i, act)| {
            let (format, gzip) = plan.choose(i);
            write_file(dir, i, act, format, gzip)
        })
        .collect()
}

/// Writes one activity to `dir/activities/NNNNNN.ext[.gz]`, creating the
/// folder if needed.
pub fn write_file(
    dir: &Path,
    index: usize,
    act: &ParsedActivity,
    format: FileFormat,
    gzip: bool,
) -> io::Result<PathBuf> {
    let folder = dir.join("activities");
    fs::create_dir_all(&folder)?;
    let suffix = if gzip { ".gz" } else { "" };
    let path = folder.join(format!("{index:06}.{}{suffix}", format.extension()));
    let bytes = encode(act, format);
    let file = File::create(&path)?;
    if gzip {
        // flate2 writes a zero mtime in the header, so gzipped files are
        // deterministic too.
        let mut gz = GzEncoder::new(file, Compression::default());
        gz.write_all(&bytes)?;
        gz.finish()?;
    } else {
        let mut file = file;
        file.write_all(&bytes)?;
    }
    Ok(path)
}

/// The file's bytes in `format`, uncompressed.
pub fn encode(act: &ParsedActivity, format: FileFormat) -> Vec<u8> {
    match format {
        FileFormat::Gpx => to_gpx(act),
        FileFormat::Tcx => to_tcx(act),
        FileFormat::Fit => write_fit(act),
    }
}

/// GPX 1.1: one `<trk>` with a `<trkseg>` per segment (or, for a route,
/// one `<rte>` with all points). Coordinates with 7 decimals (~1 cm),
/// elevation with 1.
pub fn to_gpx(a: &ParsedActivity) -> Vec<u8> {
    let mut out = Vec::with_capacity(512 + a.num_points() * 104);
    out.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<gpx version=\"1.1\" creator=\"hotpot demo\" xmlns=\"http://www.topografix.com/GPX/1/1\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
xsi:schemaLocation=\"http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd\">\n",
    );
    if let Some(t) = a.start_time {
        out.extend_from_slice(b" <metadata><time>");
        push_iso8601(&mut out, t);
        out.extend_from_slice(b"</time></metadata>\n");
    }
    let (outer, point_tag) = match a.kind {
        ActivityKind::Track => ("trk", "trkpt"),
        ActivityKind::Route => ("rte", "rtept"),
    };
    push_open(&mut out, 1, outer);
    push_text_element(&mut out, 2, "name", a.title.as_deref());
    push_text_element(&mut out, 2, "type", a.sport.as_deref());
    match a.kind {
        ActivityKind::Track => {
            for segment in &a.segments {
                push_open(&mut out, 2, "trkseg");
                segment
                    .iter()
                    .for_each(|p| push_gpx_point(&mut out, 3, point_tag, p));
                push_close(&mut out, 2, "trkseg");
            }
        }
        // Routes have no segments in GPX.
        ActivityKind::Route => a
            .points()
            .for_each(|p| push_gpx_point(&mut out, 2, point_tag, p)),
    }
    push_close(&mut out, 1, outer);
    out.extend_from_slice(b"</gpx>\n");
    out
}

fn push_gpx_point(out: &mut Vec<u8>, depth: usize, tag: &str, p: &Point) {
    push_indent(out, depth);
    out.push(b'<');
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(b" lat=\"");
    push_fixed(out, p.lat, 7);
    out.extend_from_slice(b"\" lon=\"");
    push_fixed(out, p.lon, 7);
    out.extend_from_slice(b"\">");
    if let Some(ele) = p.ele {
        push_inline(out, "ele", |out| push_fixed(out, ele, 1));
    }
    if let Some(t) = p.time {
        push_inline(out, "time", |out| push_iso8601(out, t));
    }
    out.extend_from_slice(b"</");
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(b">\n");
}

/// Garmin Training Center XML: one `<Activity>` with one `<Lap>` holding a
/// `<Track>` per segment; the title goes in `<Notes>`. Routes are written
/// as activities too (TCX courses are not needed by the demo).
pub fn to_tcx(a: &ParsedActivity) -> Vec<u8> {
    let mut out = Vec::with_capacity(512 + a.num_points() * 190);
    out.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<TrainingCenterDatabase xmlns=\"http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
xsi:schemaLocation=\"http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2 \
http://www.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd\">\n",
    );
    push_open(&mut out, 1, "Activities");
    push_indent(&mut out, 2);
    out.extend_from_slice(b"<Activity Sport=\"");
    out.extend_from_slice(tcx_sport(a.sport.as_deref()).as_bytes());
    out.extend_from_slice(b"\">\n");
    let first = a.points().filter_map(|p| p.time).min();
    let last = a.points().filter_map(|p| p.time).max();
    // TCX requires an Id and a lap start; fall back to the first point.
    let start = a.start_time.or(first).unwrap_or(0);
    push_indent(&mut out, 3);
    push_inline(&mut out, "Id", |out| push_iso8601(out, start));
    out.push(b'\n');
    push_indent(&mut out, 3);
    out.extend_from_slice(b"<Lap StartTime=\"");
    push_iso8601(&mut out, start);
    out.extend_from_slice(b"\">\n");
    let seconds = last.zip(first).map_or(0, |(l, f)| l - f) as f64 / 1000.0;
    push_number_element(&mut out, 4, "TotalTimeSeconds", seconds, 1);
    push_number_element(&mut out, 4, "DistanceMeters", distance_m(a), 1);
    push_text_element(&mut out, 4, "Calories", Some("0"));
    push_text_element(&mut out, 4, "Intensity", Some("Active"));
    push_text_element(&mut out, 4, "TriggerMethod", Some("Manual"));
    for segment in &a.segments {
        push_open(&mut out, 4, "Track");
        segment.iter().for_each(|p| push_tcx_point(&mut out, 5, p));
        push_close(&mut out, 4, "Track");
    }
    push_close(&mut out, 3, "Lap");
    push_text_element(&mut out, 3, "Notes", a.title.as_deref());
    push_close(&mut out, 2, "Activity");
    push_close(&mut out, 1, "Activities");
    out.extend_from_slice(b"</TrainingCenterDatabase>\n");
    out
}

fn push_tcx_point(out: &mut Vec<u8>, depth: usize, p: &Point) {
    push_indent(out, depth);
    push_inline(out, "Trackpoint", |out| {
        if let Some(t) = p.time {
            push_inline(out, "Time", |out| push_iso8601(out, t));
        }
        push_inline(out, "Position", |out| {
            push_inline(out, "LatitudeDegrees", |out| push_fixed(out, p.lat, 7));
            push_inline(out, "LongitudeDegrees", |out| push_fixed(out, p.lon, 7));
        });
        if let Some(ele) = p.ele {
            push_inline(out, "AltitudeMeters", |out| push_fixed(out, ele, 1));
        }
    });
    out.push(b'\n');
}

/// TCX knows only these three sports.
fn tcx_sport(sport: Option<&str>) -> &'static str {
    match sport {
        Some("cycling" | "biking" | "ride" | "bike") => "Biking",
        Some("running" | "run") => "Running",
        _ => "Other",
    }
}

/// Length of the recorded track, not counting gaps between segments.
fn distance_m(a: &ParsedActivity) -> f64 {
    a.segments
        .iter()
        .flat_map(|s| s.windows(2))
        .map(|w| haversine_m(w[0].lat, w[0].lon, w[1].lat, w[1].lon))
        .sum()
}

fn push_indent(out: &mut Vec<u8>, depth: usize) {
    out.extend(std::iter::repeat_n(b' ', depth));
}

fn push_open(out: &mut Vec<u8>, depth: usize, tag: &str) {
    push_indent(out, depth);
    out.push(b'<');
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(b">\n");
}

fn push_close(out: &mut Vec<u8>, depth: usize, tag: &str) {
    push_indent(out, depth);
    out.extend_from_slice(b"</");
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(b">\n");
}

/// `<tag>`, what `content` writes, `</tag>`.
fn push_inline(out: &mut Vec<u8>, tag: &str, content: impl FnOnce(&mut Vec<u8>)) {
    out.push(b'<');
    out.extend_from_slice(tag.as_bytes());
    out.push(b'>');
    content(out);
    out.extend_from_slice(b"</");
    out.extend_from_slice(tag.as_bytes());
    out.push(b'>');
}

/// `<tag>text</tag>` on its own line, escaped; nothing when `text` is None.
fn push_text_element(out: &mut Vec<u8>, depth: usize, tag: &str, text: Option<&str>) {
    let Some(text) = text else { return };
    push_indent(out, depth);
    push_inline(out, tag, |out| push_escaped(out, text));
    out.push(b'\n');
}

fn push_number_element(out: &mut Vec<u8>, depth: usize, tag: &str, value: f64, decimals: u32) {
    push_indent(out, depth);
    push_inline(out, tag, |out| push_fixed(out, value, decimals));
    out.push(b'\n');
}

/// XML-escapes text for element content and attribute values.
fn push_escaped(out: &mut Vec<u8>, text: &str) {
    for &byte in text.as_bytes() {
        match byte {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\'' => out.extend_from_slice(b"&apos;"),
            _ => out.push(byte),
        }
    }
}

/// Writes `value` with exactly `decimals` decimals (at most 9), rounding
/// half away from zero. Never writes "-0.0". Non-finite values come out
/// as 0 (no demo point has one).
fn push_fixed(out: &mut Vec<u8>, value: f64, decimals: u32) {
    const POW10: [u64; 10] = [
        1,
        10,
        100,
        1_000,
        10_000,
        100_000,
        1_000_000,
        10_000_000,
        100_000_000,
        1_000_000_000,
    ];
    let scale = POW10[decimals as usize];
    let scaled = (value * scale as f64).round();
    let n = if scaled.is_finite() { scaled as i64 } else { 0 };
    if n < 0 {
        out.push(b'-');
    }
    let n = n.unsigned_abs();
    push_uint(out, n / scale, 1);
    if decimals > 0 {
        out.push(b'.');
        push_uint(out, n % scale, decimals as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::Reader;
    use quick_xml::events::Event;

    fn sample() -> ParsedActivity {
        let t0 = 1_714_547_523_000; // 2024-05-01T07:12:03Z
        let point = |i: i64, lat: f64| Point {
            lat,
            lon: 13.3 + i as f64 * 1e-4,
            ele: Some(41.25 + i as f64),
            time: Some(t0 + i * 1000),
        };
        ParsedActivity {
            segments: vec![
                vec![point(0, 52.45), point(1, 52.4501)],
                vec![point(600, 52.46), point(601, -0.000_000_01)],
            ],
            kind: ActivityKind::Track,
            sport: Some("cycling".into()),
            title: Some("Rund um den See & <zurück> \"gut\"".into()),
            start_time: Some(t0),
        }
    }

    /// Parses `xml` fully; returns (text of the first `tag`, count of `count_tag`).
    fn parse(xml: &[u8], tag: &str, count_tag: &str) -> (String, usize) {
        let mut reader = Reader::from_str(std::str::from_utf8(xml).expect("UTF-8"));
        let (mut text, mut count, mut depth, mut in_tag) = (None::<String>, 0, 0i32, false);
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) => {
                    depth += 1;
                    in_tag = e.name().as_ref() == tag && text.is_none();
                    count += usize::from(e.name().as_ref() == count_tag);
                }
                Event::End(_) => {
                    depth -= 1;
                    in_tag = false;
                }
                Event::Text(t) if in_tag => text.get_or_insert_default().push_str(&t),
                Event::GeneralRef(r) if in_tag => {
                    let ch = match &*r {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("entity {other}"),
                    };
                    text.get_or_insert_default().push_str(ch);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0, "balanced tags");
        (text.unwrap_or_default(), count)
    }

    #[test]
    fn fixed_point() {
        let fmt = |v: f64, d: u32| {
            let mut out = Vec::new();
            push_fixed(&mut out, v, d);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(fmt(52.45, 7), "52.4500000");
        assert_eq!(fmt(13.300_000_06, 7), "13.3000001");
        assert_eq!(fmt(-0.000_000_01, 7), "0.0000000");
        assert_eq!(fmt(-122.419_416_4, 7), "-122.4194164");
        assert_eq!(fmt(41.25, 1), "41.3");
        assert_eq!(fmt(-3.04, 1), "-3.0");
        assert_eq!(fmt(0.05, 0), "0");
        assert_eq!(fmt(1234.5, 0), "1235");
    }

    #[test]
    fn gpx_is_well_formed() {
        let a = sample();
        let xml = to_gpx(&a);
        let (name, points) = parse(&xml, "name", "trkpt");
        assert_eq!(name, a.title.clone().unwrap());
        assert_eq!(points, 4);
        let text = String::from_utf8(xml).unwrap();
        assert!(text.contains("<trkpt lat=\"52.4500000\" lon=\"13.3000000\"><ele>41.3</ele><time>2024-05-01T07:12:03Z</time></trkpt>"));
        assert_eq!(text.matches("<trkseg>").count(), 2);
        assert!(text.contains("<type>cycling</type>"));
        assert!(text.contains("<metadata><time>2024-05-01T07:12:03Z</time></metadata>"));
    }

    #[test]
    fn gpx_route_has_no_segments() {
        let a = ParsedActivity {
            kind: ActivityKind::Route,
            ..sample()
        };
        let xml = to_gpx(&a);
        let (_, points) = parse(&xml, "name", "rtept");
        assert_eq!(points, 4);
        assert!(!String::from_utf8(xml).unwrap().contains("trkseg"));
    }

    #[test]
    fn tcx_is_well_formed() {
        let a = sample();
        let xml = to_tcx(&a);
        let (notes, points) = parse(&xml, "Notes", "Trackpoint");
        assert_eq!(notes, a.title.clone().unwrap());
        assert_eq!(points, 4);
        let (_, tracks) = parse(&xml, "Id", "Track");
        assert_eq!(tracks, 2);
        let text = String::from_utf8(xml).unwrap();
        assert!(text.contains("<Activity Sport=\"Biking\">"));
        assert!(text.contains("<Id>2024-05-01T07:12:03Z</Id>"));
        assert!(text.contains("<TotalTimeSeconds>601.0</TotalTimeSeconds>"));
        assert!(text.contains("<LatitudeDegrees>52.4500000</LatitudeDegrees>"));
    }

    #[test]
    fn plan_shares_are_close() {
        let plan = FormatPlan::demo();
        let mut counts = [0usize; 3];
        let mut gz = 0;
        for i in 0..1000 {
            let (f, g) = plan.choose(i);
            counts[f as usize] += 1;
            gz += usize::from(g);
        }
        assert!((580..=620).contains(&counts[0]), "{counts:?}");
        assert!(
            (180..=220).contains(&counts[1]) && (180..=220).contains(&counts[2]),
            "{counts:?}"
        );
        assert!((313..=353).contains(&gz), "{gz}");
        assert!((0..1000).all(|i| FormatPlan::benchmark().choose(i) == (FileFormat::Gpx, false)));
    }

    #[test]
    fn files_are_written_and_gzip_round_trips() {
        use std::io::Read;
        let dir = std::env::temp_dir().join(format!("hotpot-demo-write-{}", std::process::id()));
        let a = sample();
        let plain = write_file(&dir, 7, &a, FileFormat::Gpx, false).unwrap();
        let gz = write_file(&dir, 8, &a, FileFormat::Tcx, true).unwrap();
        assert!(plain.ends_with("activities/000007.gpx"));
        assert!(gz.ends_with("activities/000008.tcx.gz"));
        assert_eq!(fs::read(&plain).unwrap(), to_gpx(&a));
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(File::open(&gz).unwrap())
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, to_tcx(&a));
        let again = write_file(&dir, 8, &a, FileFormat::Tcx, true).unwrap();
        assert_eq!(
            fs::read(&gz).unwrap(),
            fs::read(&again).unwrap(),
            "deterministic gzip"
        );
        let all = write_files(&dir, &[a.clone(), a.clone(), a], FormatPlan::demo()).unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|p| p.exists()));
        fs::remove_dir_all(&dir).unwrap();
    }
}
