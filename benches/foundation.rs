//! Import and poster benchmark at the scale hotpot advertises: 2,000 rides of
//! about 50 km as GPX (~100,000 km, ~14 M points, ~1.4 GB).
//!
//! `cargo bench --bench foundation`. `HOTPOT_BENCH_SCALE=0.1` runs a tenth of
//! it. The generated files are kept under `target/bench-data/` between runs.

use hotpot::demo::{Demo, DemoConfig, FileFormat, write_file};
use hotpot::ingest::import::{ImportOptions, import_paths};
use hotpot::render::colormap::{Colormap, Gradient};
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::poster::{PosterSpec, height_for_width, render_poster};
use hotpot::scene::Scene;
use hotpot::store::Store;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let scale: f64 = std::env::var("HOTPOT_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let mut cfg = DemoConfig::benchmark();
    cfg.rides = ((cfg.rides as f64 * scale).round() as usize).max(1);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let data = root.join(format!("rides-{}-{}", cfg.seed, cfg.rides));
    ensure_data(&cfg, &data);
    let (files, bytes) = dir_size(&data);
    println!(
        "data set: {} files, {:.1} MB of GPX in {}",
        files,
        bytes as f64 / 1e6,
        data.display()
    );

    let db = root.join(format!("bench-{}.sqlite3", std::process::id()));
    let mut store = Store::open(&db).unwrap();
    let t = Instant::now();
    let report = import_paths(
        &mut store,
        std::slice::from_ref(&data),
        &ImportOptions::default(),
    )
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    println!(
        "import: {:.2} s for {} activities: {:.0} files/s, {:.2} M points/s, {:.0} MB/s ({} threads)",
        secs,
        report.activities_added,
        report.files_read as f64 / secs,
        report.points_added as f64 / secs / 1e6,
        report.bytes_read as f64 / secs / 1e6,
        rayon::current_num_threads()
    );
    let summary = store.summary().unwrap();
    println!(
        "stored: {:.0} km, {} points, db {:.1} MB",
        summary.distance_km,
        summary.points,
        file_mb(&db)
    );

    let t = Instant::now();
    let scene = Scene::load(&store, None).unwrap();
    println!(
        "scene load: {:.3} s ({} tracks, {} points)",
        t.elapsed().as_secs_f64(),
        scene.tracks.len(),
        scene.num_points()
    );
    let area = scene.bounds().unwrap().padded(0.02, 1e-6);
    for width in [1024, 4096] {
        let spec = PosterSpec {
            area,
            width,
            height: height_for_width(area, width),
            line_width: None,
            colormap: Colormap::new(Gradient::palette("hot").unwrap(), None),
        };
        let out = root.join(format!("poster-{width}.png"));
        let timing = render_poster(&mut CpuRenderer::new(), &scene, &spec, &out).unwrap();
        println!(
            "poster {}x{} cpu: render+colorize {:.3} s, png {:.3} s, total {:.3} s ({:.1} MB)",
            spec.width,
            spec.height,
            timing.render.as_secs_f64(),
            timing.encode.as_secs_f64(),
            (timing.render + timing.encode).as_secs_f64(),
            file_mb(&out)
        );
    }
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

fn ensure_data(cfg: &DemoConfig, dir: &Path) {
    let done = dir.join(".complete");
    if done.exists() {
        return;
    }
    let t = Instant::now();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let demo = Demo::new(cfg);
    (0..demo.len()).into_par_iter().for_each(|i| {
        write_file(dir, i, &demo.activity(i), FileFormat::Gpx, false).unwrap();
    });
    std::fs::write(&done, b"").unwrap();
    println!(
        "generated {} activities in {:.1} s",
        demo.len(),
        t.elapsed().as_secs_f64()
    );
}

fn dir_size(dir: &Path) -> (usize, u64) {
    let mut n = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else if hotpot::ingest::is_gps_file_name(&e.file_name().to_string_lossy()) {
                n += 1;
                bytes += m.len();
            }
        }
    }
    (n, bytes)
}

fn file_mb(p: &Path) -> f64 {
    std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1e6)
}
