//! Costs of issue 14's features on the benchmark set (`HOTPOT_BENCH_SCALE`
//! scales it): the explorer tiles' supercover walk per point and their
//! rows in the database, the glow's blur per pixel, and one eqhist
//! histogram. Prints medians of 3 runs.

mod common;

use hotpot::explorer::cover::track_tiles;
use hotpot::render::tone::EqHist;
use hotpot::render::{Density, RenderJob, View, glow};
use hotpot::scene::Scene;
use hotpot::store::Store;
use std::time::Instant;

fn median(mut f: impl FnMut() -> f64) -> f64 {
    let mut v: Vec<f64> = (0..3).map(|_| f()).collect();
    v.sort_by(f64::total_cmp);
    v[1]
}

fn main() {
    let cfg = common::config();
    let db = common::ensure_db(&cfg);
    let store = Store::open(&db).unwrap();
    let scene = Scene::load(&store, None, None).unwrap();
    let points = scene.num_points();
    println!("data: {} tracks, {points} points", scene.tracks.len());

    for zoom in [14u8, 17] {
        let mut tiles = 0;
        let secs = median(|| {
            let t = Instant::now();
            tiles = scene
                .tracks
                .iter()
                .map(|s| track_tiles(&s.track, zoom).len())
                .sum::<usize>();
            t.elapsed().as_secs_f64()
        });
        println!(
            "explorer z{zoom}: {tiles} activity-tiles, {:.3} s ({:.1} ns/point)",
            secs,
            secs * 1e9 / points as f64
        );
    }
    for zoom in [14u8, 17] {
        println!(
            "explorer z{zoom}: {} visited tiles",
            store.explorer_visits(zoom).unwrap().len()
        );
    }

    let (w, h) = (4096u32, 4096u32);
    let mut d = Density::zeros(w, h);
    for (i, v) in d.data.iter_mut().enumerate() {
        *v = ((i * 2_654_435_761) >> 20) as u32 % 4096;
    }
    for r in [3u32, 8, 32] {
        let secs = median(|| {
            let t = Instant::now();
            std::hint::black_box(glow::apply(&d, r));
            t.elapsed().as_secs_f64()
        });
        let px = ((w - 2 * r) * (h - 2 * r)) as f64;
        println!(
            "glow r={r}: {:.3} s for 4096² ({:.1} ns/px)",
            secs,
            secs * 1e9 / px
        );
    }

    if let Some(b) = scene.bounds() {
        let (cx, cy) = ((b.x0 + b.x1) / 2.0, (b.y0 + b.y1) / 2.0);
        for z in [10u8, 13, 16] {
            let n = (1u64 << z) as f64;
            let job = RenderJob::new(View::tile(z, (cx * n) as u32, (cy * n) as u32, 256));
            let secs = median(|| {
                let t = Instant::now();
                std::hint::black_box(EqHist::sample(&scene, &job, false));
                t.elapsed().as_secs_f64()
            });
            println!("eqhist z{z}: {secs:.3} s (64 windows of 256², once per zoom)");
        }
    }
}
