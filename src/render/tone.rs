//! Tone mapping: how visit counts become positions on the gradient.
//!
//! - `counts`: absolute visits, the gradient's stops as written (default).
//! - `log`: log(1 + visits) / log(1 + last stop) of the way along the
//!   gradient, so that rarely ridden roads get more of it.
//! - `eqhist`: histogram equalisation against the whole data set at the
//!   picture's scale. The histogram is taken once per (scene, scale, line
//!   width, glow) from a fixed sample of windows spread over the data, and
//!   kept ([`EqHistCache`]): never per tile or per strip, so tiles and strips
//!   agree on brightness and join without seams.
//!
//! Sampling renders with the CPU renderer whatever renders the picture: the
//! GPU's density is the CPU's (`tests/it/gpu.rs`), and the server can
//! compute it off the render worker.

use super::cpu::CpuRenderer;
use super::{DENSITY_ONE, RenderJob, Renderer, View};
use crate::scene::Scene;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// `--scale` and `?scale=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// Absolute visit counts: the gradient's stops as written.
    #[default]
    Counts,
    /// log(1 + visits) along the gradient.
    Log,
    /// Equalised against the whole data set's histogram at this zoom.
    Eqhist,
}

/// A `--scale`/`?scale=` value that is none of [`Scale::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a scale; use counts, log or eqhist")]
pub struct UnknownScale(pub String);

impl Scale {
    pub const NAMES: [&'static str; 3] = ["counts", "log", "eqhist"];

    pub fn parse(s: &str) -> Result<Scale, UnknownScale> {
        match s.to_ascii_lowercase().as_str() {
            "counts" => Ok(Scale::Counts),
            "log" => Ok(Scale::Log),
            "eqhist" => Ok(Scale::Eqhist),
            _ => Err(UnknownScale(s.to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scale::Counts => "counts",
            Scale::Log => "log",
            Scale::Eqhist => "eqhist",
        }
    }
}

/// A scale ready to colour with (eqhist carries its histogram).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Tone {
    #[default]
    Counts,
    Log,
    Eqhist(Arc<EqHist>),
}

/// Density values (fixed point) at 254 evenly spaced quantiles of the
/// non-zero pixels: entry k - 1 is the k/255 quantile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqHist {
    pub(crate) thresholds: Vec<u32>,
}

/// Densities below this (1/64 visit, fixed point) are left clear and out
/// of the histogram. A glow's halo fades into a sea of near-zero pixels:
/// counted, they would take the bottom of the table, and the 1/1024 visit
/// that renderers may differ by would flip the faintest between clear and
/// the first colour.
pub(crate) const FLOOR: u32 = DENSITY_ONE / 64;

/// Windows (px) sampled for a histogram, and their size.
const SAMPLE_WINDOWS: usize = 64;
const WINDOW: u32 = 256;
/// Track points looked at to find windows with data.
const SAMPLE_POINTS: usize = 8192;

impl EqHist {
    pub(crate) fn from_values(mut values: Vec<u32>) -> EqHist {
        values.retain(|&v| v >= FLOOR);
        values.sort_unstable();
        let n = values.len();
        let thresholds = if n == 0 {
            Vec::new()
        } else {
            (1..255).map(|k| values[(k * n / 255).min(n - 1)]).collect()
        };
        EqHist { thresholds }
    }

    /// The histogram of `scene` at the scale of `job` (its view's scale and
    /// grid, its line width), with glow if `glow`.
    pub fn sample(scene: &Scene, job: &RenderJob, glow: bool) -> EqHist {
        let jobs: Vec<RenderJob> = sample_views(scene, &job.view)
            .into_iter()
            .map(|view| RenderJob { view, ..*job })
            .collect();
        let mut cpu = CpuRenderer::new();
        let rendered = if glow {
            super::glow::render_density(&mut cpu, scene, &jobs)
        } else {
            cpu.render_density(scene, &jobs)
        };
        // The CPU renderer has no failure mode short of memory for 256²
        // windows; an empty histogram colours every visited pixel fully.
        let values = rendered
            .map(|ds| ds.into_iter().flat_map(|d| d.data).collect())
            .unwrap_or_default();
        EqHist::from_values(values)
    }

    /// LUT index of a density: 0 (clear) below [`FLOOR`], else one more
    /// than the number of quantiles below it.
    #[inline]
    pub fn index(&self, fixed: u32) -> u8 {
        if fixed < FLOOR {
            return 0;
        }
        if self.thresholds.is_empty() {
            return 255;
        }
        (1 + self.thresholds.partition_point(|&q| q < fixed)) as u8
    }
}

/// Up to [`SAMPLE_WINDOWS`] 256² windows on `view`'s pixel grid, spread
/// over the places the scene's tracks pass (every n-th point, whole
/// windows), chosen the same way every time.
pub(crate) fn sample_views(scene: &Scene, view: &View) -> Vec<View> {
    let points = scene.num_points().max(1);
    let stride = points.div_ceil(SAMPLE_POINTS).max(1);
    let mut windows = BTreeSet::new();
    for t in &scene.tracks {
        for p in t.track.points.iter().step_by(stride) {
            let a = view.absolute(*p);
            windows.insert((
                (a[0] / WINDOW as f64).floor() as i64,
                (a[1] / WINDOW as f64).floor() as i64,
            ));
        }
    }
    let windows: Vec<(i64, i64)> = windows.into_iter().collect();
    let n = windows.len().min(SAMPLE_WINDOWS);
    (0..n)
        .map(|i| windows[i * windows.len() / n])
        .map(|(wx, wy)| View {
            origin: [wx * WINDOW as i64, wy * WINDOW as i64],
            width: WINDOW,
            height: WINDOW,
            ..*view
        })
        .collect()
}

impl Tone {
    /// The tone for `scale`; eqhist's histogram comes from `cache`.
    pub fn new(
        scale: Scale,
        cache: &EqHistCache,
        scene: &Scene,
        job: &RenderJob,
        glow: bool,
    ) -> Tone {
        match scale {
            Scale::Counts => Tone::Counts,
            Scale::Log => Tone::Log,
            Scale::Eqhist => Tone::Eqhist(cache.get(scene, job, glow)),
        }
    }

    /// LUT index of a fixed-point density; `max_count` is the gradient's
    /// last stop. Counts keep the colormap's square-root indexing.
    #[inline]
    pub fn index(&self, fixed: u32, max_count: f32) -> u8 {
        let d = fixed as f32 / DENSITY_ONE as f32;
        let t = match self {
            Tone::Counts => (d / max_count).sqrt(),
            Tone::Log => (d.ln_1p() / max_count.ln_1p()).min(1.0),
            Tone::Eqhist(h) => return h.index(fixed),
        };
        (t * 255.0 + 0.5).min(255.0) as u8
    }

    /// Visits that LUT entry `i` (of 256) shows.
    pub(crate) fn lut_visits(&self, i: usize, max_count: f32) -> f32 {
        let t = i as f32 / 255.0;
        match self {
            Tone::Counts => max_count * t * t,
            Tone::Log | Tone::Eqhist(_) => max_count * t,
        }
    }
}

/// Histograms kept per (scene, view scale and grid, line width, glow).
#[derive(Debug, Default)]
pub struct EqHistCache {
    map: Mutex<HashMap<[u64; 6], Arc<EqHist>>>,
}

impl EqHistCache {
    pub fn get(&self, scene: &Scene, job: &RenderJob, glow: bool) -> Arc<EqHist> {
        let v = &job.view;
        let key = [
            scene.id,
            v.scale[0].to_bits(),
            v.scale[1].to_bits(),
            v.frac[0].to_bits() ^ v.frac[1].to_bits().rotate_left(1),
            job.line_width.to_bits() as u64,
            glow as u64,
        ];
        if let Some(h) = self.map.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return h.clone();
        }
        let h = Arc::new(EqHist::sample(scene, job, glow));
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, h.clone());
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_spread_values_over_the_table() {
        let h = EqHist::from_values((0..=1000).map(|v| v * 10).collect());
        assert_eq!(h.thresholds.len(), 254);
        assert_eq!(h.index(FLOOR - 1), 0);
        assert_eq!(h.index(FLOOR), 1);
        assert_eq!(h.index(10_000), 255);
        let mid = h.index(5000);
        assert!((126..=129).contains(&mid), "{mid}");
    }

    #[test]
    fn log_brightens_low_counts_and_keeps_the_ends() {
        let max = 80.0;
        let one = DENSITY_ONE;
        assert!(Tone::Log.index(one, max) > Tone::Counts.index(one, max));
        assert_eq!(Tone::Log.index(80 * one, max), 255);
        assert_eq!(Tone::Log.index(0, max), 0);
        assert_eq!(Scale::parse("EqHist"), Ok(Scale::Eqhist));
        assert!(
            Scale::parse("linear")
                .unwrap_err()
                .to_string()
                .contains("counts")
        );
    }
}
