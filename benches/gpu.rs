//! GPU vs CPU renderer: posters of 1024², 4096² and 16384² pixels and a batch
//! of 256 tiles, on the 2,000-ride benchmark set (`HOTPOT_BENCH_SCALE`
//! scales it). Prints times, segments/s and the GPU/CPU ratio, and where the
//! GPU's time goes. `HOTPOT_BENCH_SIZES=1024,4096` picks poster sizes.

mod common;

use hotpot::geo::UnitRect;
use hotpot::render::colormap::{Colormap, Gradient};
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::encode::png_bytes;
use hotpot::render::gpu::{GpuContext, GpuRenderer};
use hotpot::render::lod::{Level, LevelKey};
use hotpot::render::{RenderJob, Renderer, View, lod};
use hotpot::scene::Scene;
use hotpot::store::Store;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let cfg = common::config();
    let db = common::ensure_db(&cfg);
    let store = Store::open(&db).unwrap();
    let scene = Scene::load(&store, None, None).unwrap();
    println!(
        "scene: {} tracks, {} points",
        scene.tracks.len(),
        scene.num_points()
    );
    let ctx = match GpuContext::new() {
        Ok(ctx) => Arc::new(ctx),
        Err(e) => {
            println!("no GPU adapter ({e}): nothing to compare");
            return;
        }
    };
    println!("gpu: {}", ctx.info);
    println!("cpu: {} threads", rayon::current_num_threads());
    let mut gpu = GpuRenderer::new(ctx);
    let mut cpu = CpuRenderer::new();
    let cm = Colormap::new(Gradient::palette("hot").unwrap(), None);
    let area = scene.bounds().unwrap().padded(0.02, 1e-6);

    let sizes: Vec<u32> = std::env::var("HOTPOT_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|v| v.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1024, 4096, 16384]);
    for size in sizes {
        let job = RenderJob::new(View::for_rect(square(area), size, size));
        let segs = segments(&scene, &[job]);
        println!(
            "\nposter {size}x{size}: {segs} segments at level {}, line width {:.2}",
            lod::level_for(&job.view),
            job.line_width
        );
        compare(&scene, &[job], segs, &mut cpu, &mut gpu, &cm);
        let t = Instant::now();
        let img = gpu.render_rgba(&scene, &[job], &cm).unwrap().remove(0);
        let png = png_bytes(&img, true).unwrap();
        println!(
            "  png encode (fast): {:.3} s, {:.1} MB",
            t.elapsed().as_secs_f64(),
            png.len() as f64 / 1e6
        );
    }

    for (z, label) in [(12u8, "z12 (whole region)"), (15u8, "z15 (city centre)")] {
        let jobs = tile_block(area, z, 16);
        let segs = segments(&scene, &jobs);
        println!("\n256 tiles at {label}: {segs} segments");
        compare(&scene, &jobs, segs, &mut cpu, &mut gpu, &cm);
    }
    // Filters: a scene keeping the latest 10% of activities, for 256 tiles.
    let mut starts: Vec<i64> = store
        .activities()
        .unwrap()
        .iter()
        .filter_map(|a| a.start_time)
        .collect();
    starts.sort_unstable();
    let cut = hotpot::timefmt::iso8601(starts[starts.len() * 9 / 10]);
    let filter = hotpot::filter::Filter::parse(&format!("start_time >= {cut}")).unwrap();
    let t = Instant::now();
    let filtered = Scene::load(&store, None, Some(&filter)).unwrap();
    println!(
        "\nfilter start_time >= {cut}: {} of {} tracks, scene loaded in {:.3} s",
        filtered.tracks.len(),
        scene.tracks.len(),
        t.elapsed().as_secs_f64()
    );
    let jobs = tile_block(area, 13, 16);
    for (label, s) in [("no filter", &scene), ("10% filter", &filtered)] {
        let segs = segments(s, &jobs);
        println!("256 tiles at z13, {label}: {segs} segments");
        compare(s, &jobs, segs, &mut cpu, &mut gpu, &cm);
    }
    println!("\npeak memory: {:.0} MB", common::peak_rss_mb());
}

fn compare(
    scene: &Scene,
    jobs: &[RenderJob],
    segs: u64,
    cpu: &mut CpuRenderer,
    gpu: &mut GpuRenderer,
    cm: &Colormap,
) {
    let t = Instant::now();
    gpu.render_rgba(scene, jobs, cm).unwrap();
    let cold = t.elapsed().as_secs_f64();
    let t = Instant::now();
    gpu.render_rgba(scene, jobs, cm).unwrap();
    let g = t.elapsed().as_secs_f64();
    gpu.profile = true;
    gpu.render_rgba(scene, jobs, cm).unwrap();
    gpu.profile = false;
    let p = gpu.timings.clone();
    let t = Instant::now();
    cpu.render_rgba(scene, jobs, cm).unwrap();
    let c = t.elapsed().as_secs_f64();
    println!(
        "  cpu: {c:.3} s ({:.1} M segments/s)",
        segs as f64 / c / 1e6
    );
    println!(
        "  gpu: {g:.3} s warm, {cold:.3} s cold ({:.1} M segments/s); gpu/cpu time ratio {:.2}",
        segs as f64 / g / 1e6,
        g / c
    );
    println!(
        "  gpu steps (profiled): upload {:.3} s, plan {:.3} s, draw {:.3} s, colormap {:.3} s, readback {:.3} s",
        p.upload.as_secs_f64(),
        p.plan.as_secs_f64(),
        p.draw.as_secs_f64(),
        p.colormap.as_secs_f64(),
        p.readback.as_secs_f64()
    );
}

/// Segments the renderers draw for these jobs (at their LOD levels).
fn segments(scene: &Scene, jobs: &[RenderJob]) -> u64 {
    let mut levels: Vec<LevelKey> = jobs.iter().map(|j| LevelKey::for_job(j, scene)).collect();
    levels.dedup();
    levels
        .iter()
        .map(|&l| Level::build(scene, l).segments())
        .sum()
}

fn square(r: UnitRect) -> UnitRect {
    let side = r.width().max(r.height());
    let (cx, cy) = ((r.x0 + r.x1) / 2.0, (r.y0 + r.y1) / 2.0);
    UnitRect {
        x0: cx - side / 2.0,
        y0: cy - side / 2.0,
        x1: cx + side / 2.0,
        y1: cy + side / 2.0,
    }
}

/// An `n` x `n` block of tiles at zoom `z` around the data's centre.
fn tile_block(area: UnitRect, z: u8, n: u32) -> Vec<RenderJob> {
    let (cx, cy) = ((area.x0 + area.x1) / 2.0, (area.y0 + area.y1) / 2.0);
    let tiles = (1u64 << z) as f64;
    let (x0, y0) = ((cx * tiles) as u32 - n / 2, (cy * tiles) as u32 - n / 2);
    (0..n * n)
        .map(|i| RenderJob::new(View::tile(z, x0 + i % n, y0 + i / n, 256)))
        .collect()
}
