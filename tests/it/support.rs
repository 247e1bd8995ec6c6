//! The integration tests' kit: temporary directories, fixtures, the
//! real-track corpus ([`manifest`]), servers in this process ([`server`]),
//! rendering and comparing, and Chromium.

// Also the library's parser tests' reader, which use what these do not.
#[allow(dead_code)]
pub mod manifest;
pub mod server;

pub use manifest::dir as corpus_dir;

use hotpot::geo::WorldPoint;
use hotpot::ingest::importer::{ImportOptions, Importer};
use hotpot::ingest::types::{ParsedActivity, Point};
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::{Density, RenderJob, Renderer, RgbaImage, View};
use hotpot::scene::Scene;
use hotpot::store::Store;
use hotpot::store::track::Track;
use std::path::{Path, PathBuf};

/// A directory of its own under the system's temporary one, removed when
/// dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("hotpot-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A ride of `n` points heading north-east from (lat, lon), one per second.
pub fn ride(lat: f64, lon: f64, n: usize, t0: i64) -> ParsedActivity {
    let seg = (0..n)
        .map(|i| Point {
            lat: lat + i as f64 * 0.00005,
            lon: lon + i as f64 * 0.00007,
            ele: Some(40.0 + (i as f64 * 0.05).sin() * 10.0),
            time: Some(t0 + i as i64 * 1000),
        })
        .collect();
    ParsedActivity {
        segments: vec![seg],
        sport: Some("cycling".into()),
        start_time: Some(t0),
        ..Default::default()
    }
}

/// A small demo city (20 rides, 10 runs) in `dir/h.sqlite3`; its path.
pub fn demo_db(dir: &Path) -> PathBuf {
    let db = dir.join("h.sqlite3");
    let mut store = Store::open(&db).unwrap();
    let cfg = hotpot_demo::DemoConfig {
        rides: 20,
        runs: 10,
        ..Default::default()
    };
    Importer::new(&mut store, ImportOptions::default())
        .import_parsed("demo", hotpot_demo::generate(&cfg))
        .unwrap();
    db
}

/// A scene from tracks given as segments of (lon, lat).
pub fn scene(tracks: &[Vec<Vec<(f64, f64)>>]) -> Scene {
    Scene::from_tracks(
        tracks
            .iter()
            .enumerate()
            .map(|(i, segs)| {
                let segs: Vec<Vec<WorldPoint>> = segs
                    .iter()
                    .map(|s| {
                        s.iter()
                            .map(|&(lon, lat)| WorldPoint::from_lonlat(lon, lat))
                            .collect()
                    })
                    .collect();
                (i as i64 + 1, Track::from_segments(&segs))
            })
            .collect(),
    )
}

/// A winding ride around (13.40, 52.52): curves, a hairpin, a crossing.
pub fn winding() -> Vec<(f64, f64)> {
    (0..200)
        .map(|i| {
            let t = i as f64 / 199.0 * 6.0;
            (
                13.40 + 0.010 * t.cos() * (1.0 + 0.3 * t),
                52.52 + 0.006 * (1.7 * t).sin(),
            )
        })
        .collect()
}

pub fn render(scene: &Scene, view: View, line_width: f32) -> Density {
    CpuRenderer::new()
        .render_density(scene, &[RenderJob { view, line_width }])
        .unwrap()
        .remove(0)
}

/// Inserts `k - 1` evenly spaced points between each pair of points.
pub fn densify(points: &[(f64, f64)], k: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * k);
    for w in points.windows(2) {
        for i in 0..k {
            let t = i as f64 / k as f64;
            out.push((
                w[0].0 + (w[1].0 - w[0].0) * t,
                w[0].1 + (w[1].1 - w[0].1) * t,
            ));
        }
    }
    out.extend(points.last());
    out
}

/// Sum of absolute pixel differences over the total of `a`.
pub fn rel_diff(a: &Density, b: &Density) -> f64 {
    let diff: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| x.abs_diff(y) as f64)
        .sum();
    diff / a.data.iter().map(|&v| v as f64).sum::<f64>().max(1.0)
}

/// The largest difference of one pixel, in visits.
pub fn max_diff(a: &Density, b: &Density) -> f32 {
    let m = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| x.abs_diff(y))
        .max()
        .unwrap_or(0);
    m as f32 / hotpot::render::DENSITY_ONE as f32
}

/// The Chromium binary for browser tests. Tests that use it are ignored
/// when build.rs found none on the PATH (`hotpot_no_chromium`); in CI it
/// must be there.
pub fn chromium() -> &'static str {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("browser tests need Chromium (apt-get install chromium)")
}

/// Headless Chromium's screenshot of `url` in a window of `size` (width,
/// height) after `budget_ms` of virtual time. It is also kept as
/// `target/{name}.png` for people to look at.
pub fn screenshot(url: &str, name: &str, size: (u32, u32), budget_ms: u32) -> RgbaImage {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/{name}.png"));
    let profile = TempDir::new(&format!("{name}-profile"));
    let run = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--window-size={},{}", size.0, size.1))
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", out.display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    eprintln!("screenshot of {url}: {}", out.display());
    hotpot::render::encode::read_png_rgba(&std::fs::read(&out).unwrap()).unwrap()
}

/// Pixels in heat colours (red to yellow: much more red than blue), as a
/// heatmap shows over the pages' dark or light maps.
pub fn heat_pixels(img: &RgbaImage) -> usize {
    img.data
        .chunks(4)
        .filter(|p| p[0] > 150 && p[0] as i32 - p[2] as i32 > 80)
        .count()
}
