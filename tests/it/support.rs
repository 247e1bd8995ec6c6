//! Shared helpers for the integration tests.

use hotpot::geo::WorldPoint;
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::{Density, RenderJob, Renderer, View};
use hotpot::scene::Scene;
use hotpot::store::track::Track;
use std::path::PathBuf;

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

/// The real-track corpus beside the checkout. Tests that use it are
/// ignored when build.rs found no corpus (`hotpot_no_corpus`); in CI it
/// must be there.
pub fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/tracks");
    assert!(
        dir.join("MANIFEST.tsv").exists(),
        "the real-track corpus is missing at {}",
        dir.display()
    );
    dir
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
