//! `hotpot export` of the whole pyramid on the 2,000-ride benchmark set
//! (`HOTPOT_BENCH_SCALE` scales it): z2-z16 at 256 px into PMTiles, run as
//! the real command in a child process so that peak RSS is the export's
//! own. Prints tiles, tiles/s, bytes, peak RSS and time per stage, the
//! median of `HOTPOT_BENCH_REPS` runs (default 3), for the CPU renderer and
//! the GPU one (a software adapter such as lavapipe where that is all
//! there is). `HOTPOT_BENCH_BACKEND=cpu|gpu|both` (default both).
//! `HOTPOT_BENCH_ZOOM` overrides the zoom range (default 2-16).

mod common;

use common::peak::run_measured;
use hotpot::ingest::importer::{ImportOptions, Importer};
use hotpot::store::Store;
use hotpot_demo::{Demo, DemoConfig};
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let cfg = common::config();
    let db = ensure_db(&cfg);
    let reps: usize = env_or("HOTPOT_BENCH_REPS", "3").parse().unwrap_or(3).max(1);
    let zoom = env_or("HOTPOT_BENCH_ZOOM", "2-16");
    let which = env_or("HOTPOT_BENCH_BACKEND", "both");
    println!(
        "export benchmark: {} rides, zooms {zoom}, 256 px, median of {reps}",
        cfg.rides
    );
    for backend in ["cpu", "gpu"] {
        if which != "both" && which != backend {
            continue;
        }
        let mut runs = Vec::new();
        for _ in 0..reps {
            let out = common::root().join(format!("export-{backend}.pmtiles"));
            let m = run_measured(
                Command::new(env!("CARGO_BIN_EXE_hotpot"))
                    .arg("--db")
                    .arg(&db)
                    .args(["--backend", backend, "export", "--zoom", &zoom])
                    .arg(&out),
            );
            if !m.success {
                println!("{backend}: export failed: {}", m.stderr.trim());
                break;
            }
            let mut r = parse(&m.stdout);
            r.wall = m.wall.as_secs_f64();
            r.rss_mb = m.peak_rss as f64 / 1e6;
            r.bytes = common::file_mb(&out);
            runs.push(r);
        }
        if runs.is_empty() {
            continue;
        }
        let med = |f: fn(&Run) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let tiles = med(|r| r.tiles);
        let wall = med(|r| r.wall);
        println!(
            "{backend:>4} ({}): {tiles:.0} tiles, {:.0} tiles/s, {:.1} MB, wall {wall:.2} s, peak RSS {:.0} MB",
            runs[0].renderer,
            tiles / wall,
            med(|r| r.bytes),
            med(|r| r.rss_mb)
        );
        println!(
            "      stages (median s): load {:.2}, enumerate {:.2}, render {:.2}, encode {:.2} (overlaps render), write {:.2}, finish {:.2}",
            med(|r| r.stages[0]),
            med(|r| r.stages[1]),
            med(|r| r.stages[2]),
            med(|r| r.stages[3]),
            med(|r| r.stages[4]),
            med(|r| r.stages[5]),
        );
        println!("      per zoom: {}", runs[0].per_zoom);
    }
}

/// The benchmark set stored straight from the generator, a hundred
/// activities at a time: the same activities as the GPX files of
/// `common::ensure_db` without writing and parsing 1.3 GB of GPX first.
fn ensure_db(cfg: &DemoConfig) -> PathBuf {
    let db = common::root().join(format!("export-rides-{}-{}.sqlite3", cfg.seed, cfg.rides));
    let done = db.with_extension("complete");
    if done.exists() {
        return db;
    }
    let t = std::time::Instant::now();
    std::fs::create_dir_all(common::root()).unwrap();
    common::remove_db(&db);
    let mut store = Store::open(&db).unwrap();
    let demo = Demo::new(cfg);
    let ids: Vec<usize> = (0..demo.len()).collect();
    for chunk in ids.chunks(100) {
        let acts = chunk.iter().map(|&i| demo.activity(i)).collect();
        Importer::new(&mut store, ImportOptions::default())
            .import_parsed("bench", acts)
            .unwrap();
    }
    std::fs::write(&done, b"").unwrap();
    println!(
        "stored {} activities in {:.1} s",
        demo.len(),
        t.elapsed().as_secs_f64()
    );
    db
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

#[derive(Default)]
struct Run {
    tiles: f64,
    wall: f64,
    rss_mb: f64,
    bytes: f64,
    /// load, enumerate, render, encode, write, finish.
    stages: [f64; 6],
    renderer: String,
    per_zoom: String,
}

/// Reads the export's summary lines (see src/cli/export.rs).
fn parse(stdout: &str) -> Run {
    let mut r = Run::default();
    for line in stdout.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("wrote ") {
            r.tiles = rest
                .split(" : ")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0.0);
            r.renderer = rest
                .rsplit_once(", ")
                .map(|(_, x)| x.strip_suffix(")").unwrap_or(x).to_string())
                .unwrap_or_default();
        } else if let Some(z) = line.strip_prefix("per zoom: ") {
            r.per_zoom = z.to_string();
        } else if let Some(t) = line.split("time: ").nth(1) {
            let secs: Vec<f64> = t
                .split(", ")
                .filter_map(|kv| kv.split_whitespace().nth(1))
                .filter_map(|v| v.trim_end_matches('s').parse().ok())
                .collect();
            for (i, s) in secs.into_iter().take(6).enumerate() {
                r.stages[i] = s;
            }
        }
    }
    r
}
