//! Every real file under `../shared/data/tracks/` (recorded by other people,
//! clean and broken) imported through the normal path, checked against what
//! its MANIFEST.tsv row implies: so many points, or a clear error.

use crate::support::TempDir;
use crate::support::corpus_dir;
use crate::support::manifest::{self, Entry};
use hotpot::ingest::importer::{ImportOptions, Importer};
use hotpot::store::Store;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// This many points (the lower bound allows damaged files to lose a few).
    Points { min: u64, max: u64 },
    /// A per-file error.
    Fails,
}

/// A number that the notes give before `marker`, e.g. "2/494 Trackpoints
/// without Position" → 2 for marker "/".
fn number_before(notes: &str, marker: &str) -> Option<u64> {
    let at = notes.find(marker)?;
    let digits: String = notes[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

fn expectation(r: &Entry) -> Expect {
    let n = &r.notes;
    if n.contains("header data_size=0") {
        // A recording the device never finalized: the header claims no data,
        // the independent parser stops there, but 86 KB of valid records
        // follow. We recover them (about 30 bytes per record) with a warning.
        return Expect::Points {
            min: 1000,
            max: 86_000 / 30,
        };
    }
    let not_gps = ["not a plain track file", "not GPS data", "bzip2-compressed"];
    if not_gps.iter().any(|m| n.contains(m)) || n.contains("no Position in any Trackpoint") {
        return Expect::Fails;
    }
    if n.contains("route-only")
        && let Some(k) = number_before(n, " rtept)")
    {
        return Expect::Points { min: k, max: k };
    }
    let Some(mut points) = r.approx_points.filter(|&a| a > 0) else {
        return Expect::Fails;
    };
    // The manifest counts TCX trackpoints with and without a position; only
    // those with one are points.
    if n.contains("Trackpoints without Position") {
        points -= number_before(n, "/").unwrap_or(0);
    }
    // Non-numeric coordinates and (0, 0) "null island" fixes are dropped.
    for marker in [
        " trkpt with non-numeric",
        " Trackpoint Positions with non-numeric",
        " points at 0,0",
    ] {
        points -= number_before(n, marker).unwrap_or(0);
    }
    if points == 0 {
        return Expect::Fails;
    }
    // Damaged files keep what was readable before the damage, which an
    // independent parser may count a little differently. Outlier-filter test
    // inputs lose their impossible spikes (ingest/jumps.rs).
    let damaged = [
        "outlier",
        "TRUNCATED",
        "MALFORMED",
        "CRC",
        "corrupt",
        "decoders fail",
        "undefined local",
    ];
    let min = if damaged.iter().any(|m| n.contains(m)) {
        points * 9 / 10
    } else {
        points
    };
    Expect::Points { min, max: points }
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn every_corpus_file_imports_as_its_manifest_says() {
    let dir = corpus_dir();
    let rows = manifest::entries();
    assert!(
        rows.len() > 100,
        "manifest lists {} track files",
        rows.len()
    );
    let tmp = TempDir::new("corpus");
    let mut store = Store::open(&tmp.path().join("corpus.sqlite3")).unwrap();
    let paths = ["gpx", "tcx", "fit"].map(|d| dir.join(d)).to_vec();
    let report = Importer::new(&mut store, ImportOptions::default())
        .import_paths(&paths)
        .unwrap();

    let key = |p: &Path| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
    let failed: BTreeMap<String, String> = report
        .failed
        .iter()
        .map(|(p, e)| (key(p), e.clone()))
        .collect();
    let read: BTreeMap<String, (u64, usize)> = report
        .files
        .iter()
        .map(|f| (key(&f.path), (f.points, f.added + f.duplicates)))
        .collect();
    let mut problems = Vec::new();
    for r in &rows {
        let want = expectation(r);
        let got = match (failed.get(&r.path), read.get(&r.path)) {
            (Some(e), _) => format!("error: {e}"),
            (None, Some((p, n))) => format!("{p} points in {n} activities"),
            (None, None) => "not imported at all".into(),
        };
        println!("{:<70} {:<28} {got}", r.path, format!("{want:?}"));
        let ok = match (&want, failed.get(&r.path), read.get(&r.path)) {
            (Expect::Fails, Some(e), _) => !e.trim().is_empty() && !e.contains('\n'),
            (Expect::Points { min, max }, None, Some((p, n))) => {
                (min..=max).contains(&p) && *n >= 1
            }
            _ => false,
        };
        if !ok {
            problems.push(format!("{}: expected {want:?}, got {got}", r.path));
        }
    }
    assert!(
        problems.is_empty(),
        "{} files differ from the manifest:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(
        report.files.len() + report.failed.len(),
        rows.len(),
        "every file is accounted for"
    );
    let s = store.summary().unwrap();
    assert_eq!(s.activities as usize, report.activities_added);
    println!(
        "{} activities, {:.0} km, {} duplicates skipped",
        s.activities, s.distance_km, report.duplicates
    );
}
