//! Data shared by the benchmarks: the demo generator's benchmark set as GPX
//! files, and a database of it, both kept under `target/bench-data/`.

#![allow(dead_code)]

pub mod peak;
/// In-process servers, the integration tests' starter.
#[path = "../../tests/it/support/server.rs"]
pub mod server;

use hotpot::ingest::importer::{ImportOptions, Importer};
use hotpot::store::Store;
use hotpot_demo::{Demo, DemoConfig, FileFormat, write_file};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data")
}

/// `HOTPOT_BENCH_SCALE` (default 1) times the 2,000-ride benchmark set.
pub fn config() -> DemoConfig {
    let scale: f64 = std::env::var("HOTPOT_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let mut cfg = DemoConfig::benchmark();
    cfg.rides = ((cfg.rides as f64 * scale).round() as usize).max(1);
    cfg
}

/// The GPX files of `cfg`, generated once.
pub fn ensure_files(cfg: &DemoConfig) -> PathBuf {
    let dir = root().join(format!("rides-{}-{}", cfg.seed, cfg.rides));
    let done = dir.join(".complete");
    if done.exists() {
        return dir;
    }
    let t = Instant::now();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let demo = Demo::new(cfg);
    (0..demo.len()).into_par_iter().for_each(|i| {
        write_file(&dir, i, &demo.activity(i), FileFormat::Gpx, false).unwrap();
    });
    std::fs::write(&done, b"").unwrap();
    println!(
        "generated {} activities in {:.1} s",
        demo.len(),
        t.elapsed().as_secs_f64()
    );
    dir
}

/// A database holding `cfg`'s activities, imported once.
pub fn ensure_db(cfg: &DemoConfig) -> PathBuf {
    let files = ensure_files(cfg);
    let db = root().join(format!("rides-{}-{}.sqlite3", cfg.seed, cfg.rides));
    let done = root().join(format!("rides-{}-{}.sqlite3.complete", cfg.seed, cfg.rides));
    if !done.exists() {
        remove_db(&db);
        let mut store = Store::open(&db).unwrap();
        Importer::new(&mut store, ImportOptions::default())
            .import_paths(&[files])
            .unwrap();
        std::fs::write(&done, b"").unwrap();
    }
    db
}

pub fn remove_db(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

pub fn file_mb(p: &Path) -> f64 {
    std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1e6)
}

/// Peak resident memory of this process so far, in MB.
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
