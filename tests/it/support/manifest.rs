//! The real-track corpus beside the checkout (`../shared/data/tracks`) and
//! its MANIFEST.tsv. The one reader of them: the integration tests use it
//! as `support::manifest`, the library's parser tests include this file by
//! `#[path]` (src/ingest/mod.rs), so it uses nothing but std and flate2.
//! Tests that use it are ignored where build.rs found no corpus
//! (`hotpot_no_corpus`); in CI it must be there.

use std::io::Read;
use std::path::PathBuf;

/// The corpus directory.
pub fn dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/tracks");
    assert!(
        dir.join("MANIFEST.tsv").exists(),
        "the real-track corpus is missing at {}",
        dir.display()
    );
    dir
}

/// One row of MANIFEST.tsv: a track file and what was noted about it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Relative to [`dir`], such as `gpx/osm-website__a.gpx`.
    pub path: String,
    /// `gpx`, `tcx`, `fit` or `fit.gz`.
    pub format: String,
    /// The points an independent parser counted, where the row says.
    pub approx_points: Option<u64>,
    pub notes: String,
}

impl Entry {
    /// The file as it is stored.
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(dir().join(&self.path)).expect("corpus file")
    }

    /// The file as the importer hands it to a parser: gzip (recognised by
    /// its magic bytes, whatever the name) undone.
    pub fn unzipped(&self) -> Vec<u8> {
        let raw = self.bytes();
        if !raw.starts_with(&[0x1F, 0x8B]) {
            return raw;
        }
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    }
}

/// Every track file of the manifest (not its CSVs), in its order.
pub fn entries() -> Vec<Entry> {
    let text = std::fs::read_to_string(dir().join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // path, source_repo, source_path, format, bytes,
            // approx_trackpoints, notes
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(
                cols.len() >= 7,
                "MANIFEST.tsv row of {} columns: {l}",
                cols.len()
            );
            Entry {
                path: cols[0].to_string(),
                format: cols[3].to_string(),
                approx_points: cols[5].trim().parse().ok(),
                notes: cols[6].to_string(),
            }
        })
        .filter(|e| !e.path.starts_with("csv/"))
        .collect()
}
