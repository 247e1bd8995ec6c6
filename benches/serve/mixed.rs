//! Issue 12's serve run: cold mixed 512 px tiles that hold data, one
//! connection, then 32 connections; then the same after the server has
//! pre-rendered the default style and restarted (memory cache empty,
//! tiles on disk). See the top of `serve.rs`.
//!
//! Measured on the 2-core machine (load average ~1-2), CPU renderer,
//! 2,000 rides, 140 tiles z8-z16 (z8-z10 hold only 2, 4 and 8), medians
//! of 3 runs:
//!
//! | run | tiles/s | p50 | p99 | max |
//! |---|---|---|---|---|
//! | fresh, 1 connection | 80 | 4.6 ms | 97 ms | 99 ms |
//! | fresh, another palette | 183 | 3.2 ms | 46 ms | 53 ms |
//! | fresh, 32 connections (343 tiles) | 176 | 150 ms | 436 ms | 437 ms |
//! | pre-rendered, restarted, 1 connection | 7,365 | 0.04 ms | 3.3 ms | 5.1 ms |
//! | pre-rendered, another palette (swap) | 9,613 | 0.03 ms | 2.2 ms | 4.8 ms |
//! | pre-rendered, 32 connections | 9,428 | 2.4 ms | 10.0 ms | 11.4 ms |
//!
//! Pre-rendering z2-16 at 256 and 512 px: 6,230 tiles, 57 MB, 15.9 s.
//! hotpot 0.3.0 on the same run (issue 12): 129 tiles/s, p50 2.4 ms, p99
//! 155 ms, max 237 ms.

use crate::common;
use hotpot::geo::WORLD_SIZE;
use hotpot::render::Renderer;
use hotpot::render::cpu::CpuRenderer;
use hotpot::serve::ServeOptions;
use hotpot::serve::prerender::PrerenderOptions;
use hotpot::serve::state::AppState;
use hotpot::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Tiles per zoom in the one-connection run: 9 zooms of about 21 make the
/// issue's 185 (fewer where a zoom has fewer tiles with data).
const ONE_PER_ZOOM: usize = 21;
/// Tiles per zoom in the 32-connection run.
const MANY_PER_ZOOM: usize = 64;
const CONNECTIONS: usize = 32;

pub fn main() {
    let cfg = common::config();
    let db = common::ensure_db(&cfg);
    let t = Instant::now();
    let counts = tiles_with_data(&db);
    println!(
        "\nissue 12 run: {} rides, {} (tiles with data found in {:.1} s)",
        cfg.rides,
        db.display(),
        t.elapsed().as_secs_f64()
    );
    let one = sample(&counts, ONE_PER_ZOOM, 0x9e37_79b9_7f4a_7c15);
    let many = sample(&counts, MANY_PER_ZOOM, 0x2545_f491_4f6c_dd1d);

    dense(&db, &counts);
    if std::env::var("HOTPOT_BENCH_DENSE_ONLY").is_ok() {
        return;
    }
    let (rt, base) = start(&db, Box::new(CpuRenderer::new()));
    println!(
        "cpu, cold, 1 connection, {} mixed 512 px tiles z8-z16:",
        one.len()
    );
    let urls: Vec<String> = one.iter().map(|t| url(&base, t, "")).collect();
    let lat = sequential(&urls);
    report(&one, &lat);
    println!("same tiles, another palette (levels built, tiles not cached):");
    let urls: Vec<String> = one
        .iter()
        .map(|t| url(&base, t, "?palette=viridis"))
        .collect();
    let lat = sequential(&urls);
    report(&one, &lat);
    drop(rt);

    let (rt, base) = start(&db, Box::new(CpuRenderer::new()));
    println!(
        "cpu, cold, {CONNECTIONS} connections, {} mixed 512 px tiles z8-z16:",
        many.len()
    );
    let urls: Vec<String> = many.iter().map(|t| url(&base, t, "")).collect();
    report_concurrent(&urls);
    drop(rt);

    // The default style drawn ahead and saved beside the database, then a
    // restart: nothing in memory, every tile of z2-16 on disk.
    let prerender = PrerenderOptions::beside(&db);
    common::remove_db(&prerender.path);
    let t = Instant::now();
    let (rt, _, state) = start_with(&db, Box::new(CpuRenderer::new()), Some(prerender.clone()));
    let pre = state.prerender.clone().expect("pre-rendering starts");
    while !pre.complete() || pre.busy.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (tiles, bytes) = pre.saved.totals().unwrap();
    println!(
        "pre-rendered z2-16 at 256 and 512 px: {tiles} tiles, {:.1} MB, in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    drop((rt, state, pre));
    let (rt, base, _) = start_with(&db, Box::new(CpuRenderer::new()), Some(prerender));
    println!(
        "cpu, pre-rendered, restarted (memory cache empty), 1 connection, {} tiles:",
        one.len()
    );
    let urls: Vec<String> = one.iter().map(|t| url(&base, t, "")).collect();
    report(&one, &sequential(&urls));
    println!("same tiles, another palette (the saved tiles' palette swapped):");
    let urls: Vec<String> = one
        .iter()
        .map(|t| url(&base, t, "?palette=viridis"))
        .collect();
    report(&one, &sequential(&urls));
    println!(
        "cpu, pre-rendered, {CONNECTIONS} connections, {} tiles:",
        many.len()
    );
    let urls: Vec<String> = many.iter().map(|t| url(&base, t, "")).collect();
    report_concurrent(&urls);
    drop(rt);
}

/// Tiles/s and latencies of `urls` over [`CONNECTIONS`] connections.
fn report_concurrent(urls: &[String]) {
    let (lat, wall) = concurrent(urls, CONNECTIONS);
    let mut all = lat.clone();
    all.sort();
    println!(
        "  {:.0} tiles/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len() as f64 / wall.as_secs_f64(),
        pct(&all, 0.5),
        pct(&all, 0.99),
        pct(&all, 1.0)
    );
}

/// A fresh server on 127.0.0.1 with `renderer`, its runtime and base URL.
pub fn start(db: &Path, renderer: Box<dyn Renderer + Send>) -> (tokio::runtime::Runtime, String) {
    let (rt, base, _) = start_with(db, renderer, None);
    (rt, base)
}

/// [`start`], pre-rendering as `prerender` says; with the server's state.
pub fn start_with(
    db: &Path,
    renderer: Box<dyn Renderer + Send>,
    prerender: Option<PrerenderOptions>,
) -> (tokio::runtime::Runtime, String, Arc<AppState>) {
    let opts = ServeOptions {
        db: db.to_owned(),
        cache_mb: 512,
        uploads: false,
        upload_token: None,
        max_upload_mb: 1,
        prerender,
        ..Default::default()
    };
    let (server, state) = common::server::serve_hotpot(&opts, renderer, None);
    (server.rt, server.base, state)
}

type Tile = (u8, u32, u32);

fn url(base: &str, &(z, x, y): &Tile, query: &str) -> String {
    format!("{base}/tiles/{z}/{x}/{y}@2x.png{query}")
}

/// Points per tile at zooms 8..16, for every tile holding a point.
fn tiles_with_data(db: &Path) -> BTreeMap<Tile, u32> {
    let scene = hotpot::scene::Scene::load(&Store::open_existing(db).unwrap(), None, None).unwrap();
    let mut counts = BTreeMap::new();
    for z in 8u8..=16 {
        let shift = 32 - z as u32;
        let mut at: HashMap<(u32, u32), u32> = HashMap::new();
        for t in &scene.tracks {
            for p in &t.track.points {
                *at.entry((p.x >> shift, p.y >> shift)).or_default() += 1;
            }
        }
        counts.extend(at.into_iter().map(|((x, y), n)| ((z, x, y), n)));
    }
    debug_assert_eq!(WORLD_SIZE, (1u64 << 32) as f64);
    counts
}

/// Up to `per_zoom` tiles of each zoom, picked at random (fixed seed) and
/// shuffled across zooms.
fn sample(counts: &BTreeMap<Tile, u32>, per_zoom: usize, seed: u64) -> Vec<Tile> {
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut out = Vec::new();
    for z in 8u8..=16 {
        let mut tiles: Vec<Tile> = counts.keys().filter(|t| t.0 == z).copied().collect();
        for i in (1..tiles.len()).rev() {
            tiles.swap(i, (next() % (i as u64 + 1)) as usize);
        }
        out.extend(tiles.into_iter().take(per_zoom));
    }
    for i in (1..out.len()).rev() {
        out.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    out
}

fn get(agent: &ureq::Agent, url: &str) -> Duration {
    let t = Instant::now();
    let mut res = agent.get(url).call().unwrap();
    res.body_mut().read_to_vec().unwrap();
    t.elapsed()
}

/// One client, one kept-alive connection, one request at a time.
fn sequential(urls: &[String]) -> (Vec<Duration>, Duration) {
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let t = Instant::now();
    let lat = urls.iter().map(|u| get(&agent, u)).collect();
    (lat, t.elapsed())
}

/// `connections` clients taking URLs from one queue; latencies in URL order.
fn concurrent(urls: &[String], connections: usize) -> (Vec<Duration>, Duration) {
    let queue = Arc::new(Mutex::new((0..urls.len()).rev().collect::<Vec<_>>()));
    let urls = Arc::new(urls.to_vec());
    let t = Instant::now();
    let handles: Vec<_> = (0..connections)
        .map(|_| {
            let (queue, urls) = (queue.clone(), urls.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
                let mut lat = Vec::new();
                loop {
                    let Some(i) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    lat.push((i, get(&agent, &urls[i])));
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<(usize, Duration)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let wall = t.elapsed();
    lat.sort();
    (lat.into_iter().map(|(_, d)| d).collect(), wall)
}

/// Milliseconds at percentile `p` of sorted latencies.
fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
}

/// Tiles/s overall, and p50/p99/max per zoom and overall.
fn report(tiles: &[Tile], (lat, wall): &(Vec<Duration>, Duration)) {
    println!("  zoom  tiles   p50 ms   p99 ms   max ms");
    let row = |label: &str, mut l: Vec<Duration>| {
        l.sort();
        println!(
            "  {label:>4}  {:>5}  {:>7.1}  {:>7.1}  {:>7.1}",
            l.len(),
            pct(&l, 0.5),
            pct(&l, 0.99),
            pct(&l, 1.0)
        );
    };
    for z in 8u8..=16 {
        let l: Vec<Duration> = tiles
            .iter()
            .zip(lat)
            .filter(|(t, _)| t.0 == z)
            .map(|(_, d)| *d)
            .collect();
        if !l.is_empty() {
            row(&z.to_string(), l);
        }
    }
    row("all", lat.clone());
    println!(
        "  {:.0} tiles/s over {:.2} s",
        lat.len() as f64 / wall.as_secs_f64(),
        wall.as_secs_f64()
    );
}

/// The renderer alone on the three tiles with the most points at each of
/// zooms 11..13 (dense city centre), levels built: median wall time of 5
/// renders, and CPU time per render (the machine is shared: CPU time is
/// what a change saves), with the segments the tile draws.
fn dense(db: &Path, counts: &BTreeMap<Tile, u32>) {
    use hotpot::render::lod::{Level, LevelKey, reach_rect};
    use hotpot::render::{RenderJob, View};
    let scene = hotpot::scene::Scene::load(&Store::open_existing(db).unwrap(), None, None).unwrap();
    let mut r = CpuRenderer::new();
    println!("cpu render only, densest 512 px tiles, levels built, median of 5:");
    for z in 11u8..=13 {
        let mut tiles: Vec<(&Tile, &u32)> = counts.iter().filter(|(t, _)| t.0 == z).collect();
        tiles.sort_by_key(|(_, n)| std::cmp::Reverse(**n));
        let job = |x, y| RenderJob::new(View::tile(z, x, y, 512));
        let level = Level::build(&scene, LevelKey::for_job(&job(0, 0), &scene));
        for (&(z, x, y), n) in tiles.into_iter().take(3) {
            let job = job(x, y);
            let rect = reach_rect(&job);
            let segs: usize = level
                .runs
                .iter()
                .filter(|r| r.touches(rect))
                .map(|r| r.span.segs())
                .sum();
            r.render_density(&scene, &[job]).unwrap();
            let cpu = cpu_ms();
            let mut ms: Vec<f64> = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    r.render_density(&scene, &[job]).unwrap();
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            let cpu = (cpu_ms() - cpu) / 5.0;
            ms.sort_by(f64::total_cmp);
            println!(
                "  {z}/{x}/{y}: {n} points, {segs} segments: {:.1} ms, {cpu:.0} ms CPU",
                ms[2]
            );
        }
    }
}

/// CPU time of this process so far (user + system), in ms, at the
/// kernel's tick (10 ms).
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, s)| s);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) * 10.0
}
