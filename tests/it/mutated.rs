//! Mutated real files: every corpus file truncated, with bytes flipped and
//! spliced with another file, imported in one batch with the intact files.
//! Nothing may panic or hang, every file gets an outcome (imported, with or
//! without warnings, or a per-file error), and the intact files import as
//! they do alone. A probe of 592 such files found no panic; this keeps it so.

use crate::support::TempDir;
use crate::support::manifest;
use hotpot::ingest::importer::{ImportOptions, Importer};
use hotpot::store::Store;
use std::collections::BTreeSet;

/// Deterministic positions and bytes (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The corpus files (not the CSVs), as (relative path, bytes).
fn corpus() -> Vec<(String, Vec<u8>)> {
    manifest::entries()
        .into_iter()
        .map(|e| {
            let bytes = e.bytes();
            (e.path, bytes)
        })
        .collect()
}

/// The damage real files suffer: cut downloads, bit rot, two files run
/// together.
fn mutations(files: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::new();
    for (i, (name, bytes)) in files.iter().enumerate() {
        let len = bytes.len();
        for (tag, cut) in [
            ("half", len / 2),
            ("most", len * 9 / 10),
            ("head", len.min(100)),
        ] {
            out.push((format!("{tag}/{name}"), bytes[..cut].to_vec()));
        }
        let mut flipped = bytes.clone();
        for _ in 0..(len / 500).clamp(1, 40) {
            let at = rng.below(len);
            if let Some(b) = flipped.get_mut(at) {
                *b ^= 1 << rng.below(8);
            }
        }
        out.push((format!("flipped/{name}"), flipped));
        // Junk in the middle: another file's bytes spliced in.
        let other = &files[(i + 1 + rng.below(files.len() - 1)) % files.len()].1;
        let at = rng.below(len);
        let from = rng.below(other.len());
        let piece = &other[from..other.len().min(from + 4096)];
        let spliced = [&bytes[..at], piece, &bytes[at..]].concat();
        out.push((format!("spliced/{name}"), spliced));
    }
    out
}

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn mutated_real_files_never_panic_and_spare_the_intact_ones() {
    let files = corpus();
    assert!(files.len() > 100, "{} corpus files", files.len());
    let dir = TempDir::new("mutated");

    // The intact files alone: which of them import.
    let mut clean = Store::open(&dir.path().join("clean.sqlite3")).unwrap();
    let alone = Importer::new(&mut clean, ImportOptions::default())
        .import_bytes(files.clone())
        .unwrap();
    let good: BTreeSet<String> = alone
        .files
        .iter()
        .map(|f| f.path.to_string_lossy().into_owned())
        .collect();
    assert!(good.len() > 80, "{} of the corpus imports", good.len());

    // Mutated first, intact last, in one import.
    let mut batch = mutations(&files);
    let mutated = batch.len();
    batch.extend(files.iter().cloned());
    let mut store = Store::open(&dir.path().join("mixed.sqlite3")).unwrap();
    let r = Importer::new(&mut store, ImportOptions::default())
        .import_bytes(batch)
        .unwrap();
    assert_eq!(r.files.len() + r.failed.len(), mutated + files.len());
    for (path, reason) in &r.failed {
        assert!(
            !reason.is_empty(),
            "{} failed without a reason",
            path.display()
        );
    }
    let imported: BTreeSet<String> = r
        .files
        .iter()
        .map(|f| f.path.to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&String> = good.difference(&imported).collect();
    assert!(
        missing.is_empty(),
        "intact files lost in a damaged batch: {missing:?}"
    );
    // Whatever was stored is usable: every track decodes.
    assert_eq!(
        store.load_tracks(None, None).unwrap().len() as u64,
        store.summary().unwrap().activities
    );
    let intact_failed = files.len() - good.len();
    eprintln!(
        "{mutated} mutated files: {} imported, {} refused with a reason",
        r.files.len() - good.len(),
        r.failed.len() - intact_failed
    );
}
