//! The FIT reader against `fitparser`'s full decode: backs the claim in
//! `src/ingest/fit.rs` that framing the file ourselves and decoding record
//! messages straight from their bytes is several times faster than running
//! every message through `fitparser`.
//!
//! Inputs: one long ride written by the demo's FIT writer (`HOTPOT_BENCH_SCALE`
//! times 20 demo rides joined, ~130,000 records at scale 1), and the
//! corpus's largest real file (`muktihari-fit__big_activity.fit`, 99,998
//! records) when the corpus is there. Prints the median of 9 runs of each.
//!
//! `cargo bench --bench fit` (release). For a quick look without a release
//! build, `cargo bench --profile dev --bench fit`: the dev profile builds
//! dependencies (fitparser) at opt-level 2 and this crate at 1, so the ratio
//! it prints understates ours.

use hotpot::ingest::ParsedActivity;
use hotpot::ingest::fit::parse_fit;
use hotpot_demo::{Demo, DemoConfig};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const RUNS: usize = 9;

fn median(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

/// `HOTPOT_BENCH_SCALE` × 20 demo rides as one activity, as FIT bytes.
fn demo_fit() -> Vec<u8> {
    let scale: f64 = std::env::var("HOTPOT_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let rides = ((20.0 * scale).round() as usize).max(1);
    let demo = Demo::new(&DemoConfig {
        rides,
        runs: 0,
        interval_s: (1, 1),
        ..DemoConfig::benchmark()
    });
    let mut joined = ParsedActivity::default();
    let mut offset = 0;
    for i in 0..demo.len() {
        let mut a = demo.activity(i);
        // Back to back in time, so the records stay in order.
        let first = a.points().find_map(|p| p.time).unwrap_or(0);
        for p in a.segments.iter_mut().flatten() {
            p.time = p.time.map(|t| t - first + 1_600_000_000_000 + offset);
        }
        offset += 86_400_000;
        joined.sport.get_or_insert_with(|| "cycling".into());
        joined.segments.extend(a.segments);
    }
    hotpot_demo::fit_write::write_fit(&joined)
}

fn compare(label: &str, bytes: &[u8]) {
    let ours = parse_fit(bytes).expect("our reader reads it");
    let points: usize = ours.activities.iter().map(ParsedActivity::num_points).sum();
    let records = fitparser::from_bytes(bytes)
        .map(|r| r.len())
        .unwrap_or_else(|e| panic!("fitparser reads {label}: {e}"));
    let t_ours = median(|| {
        std::hint::black_box(parse_fit(std::hint::black_box(bytes)).unwrap());
    });
    let t_theirs = median(|| {
        std::hint::black_box(fitparser::from_bytes(std::hint::black_box(bytes)).unwrap());
    });
    let mb = bytes.len() as f64 / 1e6;
    println!(
        "{label}: {mb:.1} MB, {points} points, {records} messages decoded by fitparser\n  \
         hotpot parse_fit     {:8.2} ms  {:7.1} MB/s\n  \
         fitparser from_bytes {:8.2} ms  {:7.1} MB/s\n  \
         ratio {:.1}x (median of {RUNS})",
        t_ours.as_secs_f64() * 1e3,
        mb / t_ours.as_secs_f64(),
        t_theirs.as_secs_f64() * 1e3,
        mb / t_theirs.as_secs_f64(),
        t_theirs.as_secs_f64() / t_ours.as_secs_f64(),
    );
}

fn main() {
    compare("demo rides (written FIT)", &demo_fit());
    let real = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/tracks/fit/muktihari-fit__big_activity.fit");
    match std::fs::read(&real) {
        Ok(bytes) => compare("muktihari-fit__big_activity.fit (real)", &bytes),
        Err(e) => println!("real file skipped: {}: {e}", real.display()),
    }
}
