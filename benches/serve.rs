//! Load benchmark of `hotpot serve`, loopback only.
//!
//! - `issue` (issue 12's run): the 2,000-ride benchmark set
//!   (`HOTPOT_BENCH_SCALE` scales it), a fresh server, nothing cached, one
//!   client on one connection requesting mixed 512 px tiles (`@2x`) at
//!   zooms 8..16 that hold data, in shuffled order: tiles/s and
//!   p50/p99/max per zoom. Then the same tiles under another palette
//!   (levels of detail built, tiles not cached), then a fresh server with
//!   32 connections on a larger mixed set.
//! - `demo`: the demo data set, requests/s and p50/p99 latency for
//!   uncached and cached tiles at zooms 8..16, with 8 client threads.
//!   Bounded: at most 64 tiles per zoom.
//!
//! `HOTPOT_BENCH_RUNS=issue,demo` picks runs (default both);
//! `HOTPOT_BENCH_BACKEND=cpu|gpu|both` (default both when an adapter exists).
//! Then cached tiles/s with and without a steady stream of ~20 uploads/s
//! (issue 10, item 6), CPU renderer, for `3 * HOTPOT_BENCH_SCALE` seconds
//! each; `HOTPOT_BENCH_SERVE=uploads` runs only that.

mod common;
#[path = "serve/mixed.rs"]
mod serve_mixed;

use hotpot::geo::lonlat_to_unit;
use hotpot::ingest::importer::{ImportOptions, Importer};
use hotpot::render::Renderer;
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::gpu::{GpuContext, GpuRenderer};
use hotpot::serve::ServeOptions;
use hotpot::store::Store;
use hotpot_demo::DemoConfig;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;
const PER_ZOOM: u32 = 8; // an 8x8 block of tiles

fn main() {
    let runs = std::env::var("HOTPOT_BENCH_RUNS").unwrap_or_else(|_| "issue,demo".into());
    if runs.split(',').any(|r| r.trim() == "issue") {
        serve_mixed::main();
    }
    if !runs.split(',').any(|r| r.trim() == "demo") {
        return;
    }
    let db = common::root().join("serve-demo.sqlite3");
    if !db.exists() {
        std::fs::create_dir_all(common::root()).unwrap();
        let mut store = Store::open(&db).unwrap();
        Importer::new(&mut store, ImportOptions::default())
            .import_parsed("demo", hotpot_demo::generate(&DemoConfig::default()))
            .unwrap();
    }
    under_uploads(&db);
    // HOTPOT_BENCH_SERVE=uploads: only the part above.
    if std::env::var("HOTPOT_BENCH_SERVE").is_ok_and(|v| v == "uploads") {
        return;
    }
    encoding(&db);
    let which = std::env::var("HOTPOT_BENCH_BACKEND").unwrap_or_else(|_| "both".into());
    let gpu = GpuContext::new().ok().map(Arc::new);
    if which != "gpu" {
        run("cpu", &db, Box::new(CpuRenderer::new()));
    }
    match (&gpu, which.as_str()) {
        (Some(ctx), "gpu" | "both") => run(
            &format!("gpu ({})", ctx.info.name),
            &db,
            Box::new(GpuRenderer::new(ctx.clone())),
        ),
        (None, "gpu") => println!("no GPU adapter"),
        _ => {}
    }
}

fn run(label: &str, db: &std::path::Path, renderer: Box<dyn Renderer + Send>) {
    let (_rt, base) = serve_mixed::start(db, renderer);
    println!(
        "\n{label}: {CLIENTS} clients, {}x{} tiles per zoom",
        PER_ZOOM, PER_ZOOM
    );
    println!("zoom  phase     requests  req/s    p50 ms   p99 ms");
    for z in 8u8..=16 {
        let urls = tiles(&base, z);
        for phase in ["uncached", "cached"] {
            let (lat, wall) = load(&urls);
            let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
            println!(
                "{z:>4}  {phase:<8}  {:>8}  {:>7.0}  {:>7.2}  {:>7.2}",
                lat.len(),
                lat.len() as f64 / wall.as_secs_f64(),
                pct(0.5),
                pct(0.99)
            );
        }
    }
    let stats: serde_json::Value = serde_json::from_str(
        &ureq::get(&format!("{base}/api/stats"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    println!(
        "render passes {}, tiles rendered {}, mean batch {:.1}, max batch {}",
        stats["render_passes"],
        stats["tiles_rendered"],
        stats["batch"]["mean"].as_f64().unwrap_or(0.0),
        stats["batch"]["max"]
    );
}

/// Cached tiles from `CLIENTS` threads for a while, alone and beside an
/// ~20 uploads a second of small rides (far from the city, so
/// that what slows tiles is the scene update, not redrawing).
fn under_uploads(demo: &std::path::Path) {
    let scale: f64 = std::env::var("HOTPOT_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let secs = 3.0 * scale;
    let copy = common::root().join("serve-uploads.sqlite3");
    std::fs::copy(demo, &copy).unwrap();
    let opts = ServeOptions {
        db: copy,
        cache_mb: 512,
        uploads: true,
        max_upload_mb: 8,
        ..Default::default()
    };
    // Following database changes as `hotpot serve` does.
    let (server, _) = common::server::serve_hotpot(
        &opts,
        Box::new(CpuRenderer::new()),
        Some(Duration::from_secs(2)),
    );
    let base = server.base.clone();
    let urls: Vec<String> = (12u8..=14).flat_map(|z| tiles(&base, z)).collect();
    load(&urls); // warm the cache
    println!("\ncached tiles for {secs:.0} s, {CLIENTS} clients (cpu):");
    println!("uploads/s  tiles/s   p50 ms   p99 ms");
    for with_uploads in [false, true] {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Four uploaders, one ride each every 200 ms: 20 a second while
        // an upload takes under 200 ms.
        let uploaders: Vec<_> = (0..4u32)
            .filter(|_| with_uploads)
            .map(|u| {
                let (stop, base) = (stop.clone(), base.clone());
                std::thread::spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
                    let mut sent = 0u32;
                    let t = Instant::now();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let (ctype, body) = upload_body(sent * 4 + u);
                        let res = agent
                            .post(&format!("{base}/upload"))
                            .header("Content-Type", &ctype)
                            .send(&body[..])
                            .unwrap();
                        assert_eq!(res.status(), 200);
                        sent += 1;
                        let due = Duration::from_millis(200) * sent;
                        std::thread::sleep(due.saturating_sub(t.elapsed()));
                    }
                    sent as f64 / t.elapsed().as_secs_f64()
                })
            })
            .collect();
        let (lat, wall) = load_for(&urls, Duration::from_secs_f64(secs));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let rate = uploaders
            .into_iter()
            .fold(0.0, |sum, u| sum + u.join().unwrap());
        let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
        println!(
            "{rate:>9.1}  {:>7.0}  {:>7.2}  {:>7.2}",
            lat.len() as f64 / wall.as_secs_f64(),
            pct(0.5),
            pct(0.99)
        );
    }
}

/// A multipart upload of one small ride in the Harz, different each time.
fn upload_body(i: u32) -> (String, Vec<u8>) {
    let (lat, lon) = (
        51.7 + (i % 50) as f64 * 0.004,
        10.5 + (i / 50) as f64 * 0.004,
    );
    let mut gpx = String::from(
        r#"<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>"#,
    );
    for k in 0..200 {
        gpx.push_str(&format!(
            r#"<trkpt lat="{:.6}" lon="{:.6}"><time>2023-05-{:02}T10:{:02}:{:02}Z</time></trkpt>"#,
            lat + k as f64 * 0.00005,
            lon + k as f64 * 0.00007,
            1 + i % 28,
            k / 60,
            k % 60
        ));
    }
    gpx.push_str("</trkseg></trk></gpx>");
    let boundary = "bench-boundary-1f2e";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r{i}.gpx\"\r\n\r\n{gpx}\r\n--{boundary}--\r\n"
    )
    .into_bytes();
    body.shrink_to_fit();
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Requests `urls` round and round from `CLIENTS` threads for `time`.
fn load_for(urls: &[String], time: Duration) -> (Vec<Duration>, Duration) {
    let urls = Arc::new(urls.to_vec());
    let t = Instant::now();
    clients(|c| {
        let urls = urls.clone();
        let mut i = c * 7;
        move || {
            i += 1;
            (t.elapsed() < time).then(|| urls[(i - 1) % urls.len()].clone())
        }
    })
}

/// An 8x8 block of tiles around the demo city's centre.
fn tiles(base: &str, z: u8) -> Vec<String> {
    let (x, y) = lonlat_to_unit(13.30, 52.45);
    let n = (1u64 << z) as f64;
    let (x0, y0) = ((x * n) as u32 - PER_ZOOM / 2, (y * n) as u32 - PER_ZOOM / 2);
    (0..PER_ZOOM * PER_ZOOM)
        .map(|i| {
            format!(
                "{base}/tiles/{z}/{}/{}.png",
                x0 + i % PER_ZOOM,
                y0 + i / PER_ZOOM
            )
        })
        .collect()
}

/// Requests every URL once from `CLIENTS` threads; sorted latencies and wall time.
fn load(urls: &[String]) -> (Vec<Duration>, Duration) {
    let queue = Arc::new(Mutex::new(urls.to_vec()));
    clients(|_| {
        let queue = queue.clone();
        // The lock is let go before the request: taken in a `while let`
        // around it, it was held for the whole request and the clients
        // took turns.
        move || queue.lock().unwrap().pop()
    })
}

/// `CLIENTS` threads, client `c` requesting the URLs `next(c)` gives until
/// it gives none; sorted latencies and wall time.
fn clients<N>(next: impl Fn(usize) -> N) -> (Vec<Duration>, Duration)
where
    N: FnMut() -> Option<String> + Send + 'static,
{
    let t = Instant::now();
    let handles: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let mut next = next(c);
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
                let mut lat = Vec::new();
                while let Some(url) = next() {
                    let t = Instant::now();
                    let mut res = agent.get(&url).call().unwrap();
                    res.body_mut().read_to_vec().unwrap();
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let wall = t.elapsed();
    lat.sort();
    (lat, wall)
}

/// Tile encoding: RGBA PNG (fast and balanced compression) against the
/// indexed PNG the server sends, on real tiles of the demo city.
fn encoding(db: &std::path::Path) {
    use hotpot::render::colormap::{Colormap, Gradient};
    use hotpot::render::encode::{indexed_png, png_bytes};
    use hotpot::render::{RenderJob, View};
    let scene = hotpot::scene::Scene::load(&Store::open_existing(db).unwrap(), None, None).unwrap();
    let cm = Colormap::new(Gradient::palette("hot").unwrap(), None);
    let (x, y) = lonlat_to_unit(13.30, 52.45);
    let jobs: Vec<RenderJob> = (0..16u32)
        .map(|i| {
            let z = 11 + (i % 4) as u8;
            let n = (1u64 << z) as f64;
            RenderJob::new(View::tile(z, (x * n) as u32 + i / 4, (y * n) as u32, 256))
        })
        .collect();
    let densities = CpuRenderer::new().render_density(&scene, &jobs).unwrap();
    let images: Vec<_> = densities.iter().map(|d| cm.colorize(d)).collect();
    let rounds = 20;
    let time = |f: &dyn Fn() -> usize| {
        let t = Instant::now();
        let mut bytes = 0;
        for _ in 0..rounds {
            bytes = f();
        }
        (
            t.elapsed().as_secs_f64() * 1e3 / (rounds * jobs.len()) as f64,
            bytes / jobs.len(),
        )
    };
    println!("tile encoding, mean over {} real 256² tiles:", jobs.len());
    for (label, (ms, bytes)) in [
        (
            "RGBA, fast",
            time(&|| {
                images
                    .iter()
                    .map(|i| png_bytes(i, true).unwrap().len())
                    .sum()
            }),
        ),
        (
            "RGBA, balanced",
            time(&|| {
                images
                    .iter()
                    .map(|i| png_bytes(i, false).unwrap().len())
                    .sum()
            }),
        ),
        (
            "indexed from the LUT (served)",
            time(&|| {
                densities
                    .iter()
                    .map(|d| indexed_png(d, &cm).unwrap().len())
                    .sum()
            }),
        ),
    ] {
        println!("  {label:<30} {ms:.3} ms, {bytes} bytes");
    }
}
