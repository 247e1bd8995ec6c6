//! Import and poster benchmark at the scale hotpot advertises: 2,000 rides of
//! about 50 km as GPX (~100,000 km, ~13 M points, ~1.3 GB).
//!
//! `cargo bench --bench foundation`. `HOTPOT_BENCH_SCALE=0.1` runs a tenth of
//! it. The generated files are kept under `target/bench-data/` between runs.

mod common;

use hotpot::ingest::importer::{ImportOptions, Importer};
use hotpot::render::colormap::{Colormap, Gradient};
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::poster::{PosterFiles, PosterSpec, height_for_width, render_poster};
use hotpot::scene::Scene;
use hotpot::store::Store;
use std::path::Path;
use std::time::Instant;

fn main() {
    let cfg = common::config();
    let data = common::ensure_files(&cfg);
    let (files, bytes) = dir_size(&data);
    println!(
        "data set: {} files, {:.1} MB of GPX in {}",
        files,
        bytes as f64 / 1e6,
        data.display()
    );

    let db = common::root().join(format!("bench-{}.sqlite3", std::process::id()));
    let mut store = Store::open(&db).unwrap();
    let t = Instant::now();
    let report = Importer::new(&mut store, ImportOptions::default())
        .import_paths(std::slice::from_ref(&data))
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
        common::file_mb(&db)
    );

    let t = Instant::now();
    let scene = Scene::load(&store, None, None).unwrap();
    println!(
        "scene load: {:.3} s ({} tracks, {} points)",
        t.elapsed().as_secs_f64(),
        scene.tracks.len(),
        scene.num_points()
    );
    let area = scene.bounds().unwrap().padded(0.02, 1e-6);
    for width in [1024, 4096] {
        let spec = PosterSpec::new(
            area,
            width,
            height_for_width(area, width),
            Colormap::new(Gradient::palette("hot").unwrap(), None),
        );
        let out = common::root().join(format!("poster-{width}.png"));
        let files = PosterFiles {
            png: &out,
            raw: None,
        };
        let timing = render_poster(&mut CpuRenderer::new(), &scene, &spec, &files).unwrap();
        println!(
            "poster {}x{} cpu: render+colorize {:.3} s, png {:.3} s (overlapped), total {:.3} s ({:.1} MB)",
            spec.width,
            spec.height,
            timing.render.as_secs_f64(),
            timing.encode.as_secs_f64(),
            timing.total.as_secs_f64(),
            common::file_mb(&out)
        );
    }
    drop(store);
    common::remove_db(&db);
}

fn dir_size(dir: &Path) -> (usize, u64) {
    let mut n = 0;
    let mut bytes = 0;
    for e in std::fs::read_dir(dir.join("activities")).unwrap().flatten() {
        if hotpot::ingest::is_gps_file_name(&e.file_name().to_string_lossy()) {
            n += 1;
            bytes += e.metadata().unwrap().len();
        }
    }
    (n, bytes)
}
