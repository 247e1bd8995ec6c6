//! Reading GPS files: format sniffing, decompression and the per-format
//! parsers, then turning parsed activities into rows for the store.
//!
//! Everything here is pure (bytes in, values out) except [`importer`], the
//! one way into the store, and [`walk`], which finds and reads files.

pub mod activity;
mod clock;
pub mod fit;
pub mod gpx;
pub mod importer;
pub mod join;
mod jumps;
pub mod stats;
pub mod tcx;
pub mod time;
pub mod trim;
pub mod types;
mod walk;
mod xml;

/// The real-track corpus and its manifest, read as the integration tests
/// read them (one reader for both).
#[cfg(test)]
#[path = "../../tests/it/support/manifest.rs"]
mod test_corpus;

pub use types::{ActivityKind, ParseError, Parsed, ParsedActivity, Point};

use std::io::Read;

/// The formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gpx,
    Tcx,
    Fit,
}

/// Decompressed files larger than this are refused: a GPS file that big is a
/// gzip bomb or not a GPS file (the largest real activities are ~100 MB).
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Parses one file's bytes, whatever its format, gzipped or not. `name` is
/// only a hint, used when the content does not say what it is.
pub fn parse_bytes(name: &str, bytes: &[u8]) -> Result<Parsed, ParseError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let inflated = gunzip(bytes)?;
        return parse_plain(name.trim_end_matches(".gz"), &inflated);
    }
    parse_plain(name, bytes)
}

fn parse_plain(name: &str, bytes: &[u8]) -> Result<Parsed, ParseError> {
    match sniff(name, bytes)? {
        Format::Gpx => gpx::parse_gpx(bytes),
        Format::Tcx => tcx::parse_tcx(bytes),
        Format::Fit => fit::parse_fit(bytes),
    }
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, ParseError> {
    let mut out = Vec::with_capacity(bytes.len() * 8);
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(MAX_DECOMPRESSED);
    match decoder.read_to_end(&mut out) {
        Ok(_) if out.len() as u64 >= MAX_DECOMPRESSED => Err(ParseError::Unsupported(
            "decompresses to more than 1 GiB".into(),
        )),
        Ok(_) => Ok(out),
        // A truncated download still holds whole points before the cut: parse
        // what inflated, and let the parser report the damage.
        Err(_) if !out.is_empty() => Ok(out),
        Err(e) => Err(ParseError::Malformed {
            format: "gzip",
            message: e.to_string(),
        }),
    }
}

/// Decides the format from the content first (files are often misnamed), the
/// extension second.
pub fn sniff(name: &str, bytes: &[u8]) -> Result<Format, ParseError> {
    if bytes.len() >= 12 && &bytes[8..12] == b".FIT" {
        return Ok(Format::Fit);
    }
    if let Some(what) = foreign_format(bytes) {
        return Err(ParseError::Unsupported(what.into()));
    }
    let head = &bytes[..bytes.len().min(4096)];
    let head = match xml::utf16(head) {
        Some((encoding, bom)) => encoding.decode_without_bom_handling(&head[bom..]).0,
        None => String::from_utf8_lossy(head),
    };
    if head.contains("<TrainingCenterDatabase") {
        return Ok(Format::Tcx);
    }
    if head.contains("<gpx") || head.contains(":gpx") {
        return Ok(Format::Gpx);
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".gpx") {
        Ok(Format::Gpx)
    } else if lower.ends_with(".tcx") {
        Ok(Format::Tcx)
    } else if lower.ends_with(".fit") {
        Ok(Format::Fit)
    } else if bytes.is_empty() {
        Err(ParseError::Unsupported("empty file".into()))
    } else {
        Err(ParseError::Unsupported("not a GPX, TCX or FIT file".into()))
    }
}

/// Names well-known non-GPS formats so the user learns what the file really is.
fn foreign_format(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"BZh") {
        Some("bzip2-compressed file (decompress it with bunzip2 first)")
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        Some("ZIP archive (unpack it first)")
    } else if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
        Some("tar archive (unpack it first)")
    } else if starts(&[0xff, 0xd8, 0xff]) {
        Some("JPEG image, not GPS data")
    } else if starts(b"\x89PNG") {
        Some("PNG image, not GPS data")
    } else if starts(b"%PDF") {
        Some("PDF document, not GPS data")
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z']) {
        Some("xz-compressed file (decompress it first)")
    } else {
        None
    }
}

/// Whether a path looks like a GPS file when walking directories.
pub fn is_gps_file_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let base = lower.strip_suffix(".gz").unwrap_or(&lower);
    base.ends_with(".gpx") || base.ends_with(".tcx") || base.ends_with(".fit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_content_before_extension() {
        let gpx = br#"<?xml version="1.0"?><gpx version="1.1"></gpx>"#;
        assert_eq!(sniff("x.fit", gpx), Ok(Format::Gpx));
        let tcx = br#"<TrainingCenterDatabase xmlns="x"></TrainingCenterDatabase>"#;
        assert_eq!(sniff("x.gpx", tcx), Ok(Format::Tcx));
        let mut fit = vec![14, 0x10, 0, 0, 0, 0, 0, 0];
        fit.extend_from_slice(b".FIT");
        assert_eq!(sniff("x.gpx", &fit), Ok(Format::Fit));
        assert!(
            matches!(sniff("a.gpx", b"PK\x03\x04rest"), Err(ParseError::Unsupported(m)) if m.contains("ZIP"))
        );
        assert!(
            matches!(sniff("a.gpx", &[0xff, 0xd8, 0xff, 0xe0]), Err(ParseError::Unsupported(m)) if m.contains("JPEG"))
        );
        assert!(matches!(
            sniff("notes.txt", b"hello"),
            Err(ParseError::Unsupported(_))
        ));
    }

    #[test]
    fn gzip_is_unwrapped_whatever_the_name() {
        use std::io::Write;
        let gpx = br#"<gpx><trk><trkseg><trkpt lat="52.5" lon="13.4"/><trkpt lat="52.6" lon="13.5"/></trkseg></trk></gpx>"#;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(gpx).unwrap();
        let gz = enc.finish().unwrap();
        let parsed = parse_bytes("ride.gpx", &gz).unwrap();
        assert_eq!(parsed.activities[0].num_points(), 2);
        // Truncated gzip: nothing inflates cleanly, so it is a clear error.
        assert!(parse_bytes("ride.gpx.gz", &gz[..12]).is_err());
    }

    #[test]
    fn walk_filter_knows_the_extensions() {
        for ok in ["a.gpx", "B.GPX", "c.tcx.gz", "d.FIT", "e.fit.gz"] {
            assert!(is_gps_file_name(ok), "{ok}");
        }
        for no in ["a.csv", "b.gz", "c.gpx.bak", "activities.json"] {
            assert!(!is_gps_file_name(no), "{no}");
        }
    }
}
