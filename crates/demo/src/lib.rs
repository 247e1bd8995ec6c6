//! Deterministic demo data: a synthetic city and a few years of rides and
//! runs on it, as [`ParsedActivity`] values or as GPX/TCX/FIT files.
//!
//! `hotpot demo`, the tests and the benchmarks all draw from here, so the
//! same seed gives the same activities, bit for bit, on every run (on a
//! given platform; see `rng`).
//!
//! - [`City`]: a street graph around [`ANCHOR`] (south-west Berlin): a
//!   warped block grid with parks, diagonal avenues, a ring road, and
//!   winding country roads with cross lanes out to ~50 km.
//! - Activities start mostly from a few homes and follow preferred routes
//!   (main roads first) through a few places, sometimes with a random
//!   detour, so popular corridors get bright and one-offs stay faint. They
//!   are recorded every 1–5 s with correlated GPS noise, elevation from a
//!   smooth terrain, traffic-light stops and the occasional pause (a second
//!   segment), on weekday mornings/evenings and weekend mornings over five
//!   years ending November 2026.
//!
//! ```no_run
//! use hotpot_demo::{Demo, DemoConfig, FileFormat, FormatPlan};
//! # fn main() -> std::io::Result<()> {
//! let dir = std::path::Path::new("demo-files");
//! let acts = hotpot_demo::generate(&DemoConfig::default());
//! hotpot_demo::write_files(dir, &acts, FormatPlan::demo())?;
//!
//! // Large sets: generate and write one at a time instead of holding all.
//! let set = Demo::new(&DemoConfig::benchmark());
//! for i in 0..set.len() {
//!     hotpot_demo::write_file(dir, i, &set.activity(i), FileFormat::Gpx, false)?;
//! }
//! # Ok(())
//! # }
//! ```

mod city;
pub mod fit_write;
mod rng;
mod synth;
mod write;

pub use city::{ANCHOR, City, Edge, LocalFrame, RoadClass, Xy, haversine_m};
pub use write::{FileFormat, FormatPlan, encode, to_gpx, to_tcx, write_file, write_files};

use hotpot_model::activity::ParsedActivity;

/// What to generate. Lengths are in km; `(min, max)` ranges are inclusive.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// Seeds the city and every activity.
    pub seed: u64,
    pub rides: usize,
    pub runs: usize,
    /// Ride lengths are drawn log-normally around the median, within range.
    /// Actual routes come out within a few percent of the drawn length.
    pub ride_km: (f64, f64),
    pub ride_median_km: f64,
    pub run_km: (f64, f64),
    pub run_median_km: f64,
    /// Seconds between recorded points. Each activity uses one interval;
    /// 80 % of them the shortest, like devices set to 1 s recording.
    pub interval_s: (u32, u32),
    /// Share of activities whose recording was paused once (two segments).
    pub pause_share: f64,
    /// First and last day (year, month, day) activities fall on.
    pub first_day: (i32, u32, u32),
    pub last_day: (i32, u32, u32),
}

impl Default for DemoConfig {
    /// A few years of one athlete: 240 rides (5–100 km, median ~30 km) and
    /// 120 runs (3–21 km, median ~8 km).
    fn default() -> Self {
        DemoConfig {
            seed: 2026,
            rides: 240,
            runs: 120,
            ride_km: (5.0, 100.0),
            ride_median_km: 30.0,
            run_km: (3.0, 21.0),
            run_median_km: 8.0,
            interval_s: (1, 5),
            pause_share: 0.15,
            first_day: (2021, 12, 1),
            last_day: (2026, 11, 20),
        }
    }
}

impl DemoConfig {
    /// The import benchmark: 2,000 rides of about 50 km (~100,000 km,
    /// ~13 M points, ~1.3 GB as GPX).
    pub fn benchmark() -> Self {
        DemoConfig {
            rides: 2_000,
            runs: 0,
            ride_km: (45.0, 55.0),
            ride_median_km: 50.0,
            ..DemoConfig::default()
        }
    }
}

/// A demo set whose activities are generated on demand, one at a time, so
/// large sets never have to be held in memory. Activity `i` is the same
/// whichever others are generated, and in whatever order (or on whichever
/// thread: `Demo` is `Sync`).
pub struct Demo {
    cfg: DemoConfig,
    city: City,
    router: synth::Router,
    slots: Vec<synth::Slot>,
}

impl Demo {
    /// Builds the city and the schedule (tens of milliseconds).
    pub fn new(cfg: &DemoConfig) -> Demo {
        let city = City::generate(cfg.seed);
        let router = synth::Router::new(&city);
        Demo {
            cfg: cfg.clone(),
            slots: synth::schedule(cfg),
            city,
            router,
        }
    }

    /// Number of activities: rides plus runs.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Activity `index` (0-based); activities are in chronological order.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn activity(&self, index: usize) -> ParsedActivity {
        synth::activity(
            &self.city,
            &self.router,
            &self.cfg,
            index,
            &self.slots[index],
        )
    }

    pub fn city(&self) -> &City {
        &self.city
    }
}

/// All activities of `cfg`, in chronological order.
pub fn generate(cfg: &DemoConfig) -> Vec<ParsedActivity> {
    let demo = Demo::new(cfg);
    (0..demo.len()).map(|i| demo.activity(i)).collect()
}
