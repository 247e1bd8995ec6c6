//! Huge posters through the CLI: 16000², 32000² and 65536² pixels of the
//! 2,000-ride benchmark set (`HOTPOT_BENCH_SCALE` scales it) on both
//! backends. Each case runs `hotpot render` as a child process, so peak
//! memory is that render's alone; prints wall time (process start to exit,
//! scene loading included), the poster's own time, peak memory and file
//! size. `HOTPOT_BENCH_SIZES=16000,32000` and
//! `HOTPOT_BENCH_BACKENDS=cpu` pick cases.
//!
//! Measured on the shared 2-core machine (Mesa lavapipe as the GPU), full
//! set, default (resolution-scaled) line widths of 8, 16 and 33 px; wall
//! seconds varied by up to 15% from run to run with the machine's load:
//!
//! | size   | cpu: wall, peak | gpu (lavapipe): wall, peak | file   |
//! |--------|-----------------|----------------------------|--------|
//! | 16000² | 2.1 s, 300 MB   | 4.7 s, 455 MB              | 12 MB  |
//! | 32000² | 5.3-6.1 s, 330 MB | 14.5 s, 500 MB           | 40 MB  |
//! | 65536² | 16.7 s, 342 MB  | 70-74 s, 524 MB            | 142 MB |
//!
//! Drawing dominates (wide lines over short segments); with 2.5 px lines
//! a 16000² poster takes 1.6-1.8 s. 100,000² took 32 s and 340 MB.
//!
//! PNG rows filtered and deflated on all cores (render::encode::parallel)
//! and colours in groups, against the single encoder thread before
//! (910c80d), same run alternating the two binaries, cpu, full set, on the
//! same machine under heavy load from other builds (load average 5-6, so
//! wall time is close to CPU time): medians of 5 runs at 16000², 3 at
//! 32000²; CPU = user + sys of the process.
//!
//! | size   | before: wall, CPU | after: wall, CPU | file before, after |
//! |--------|-------------------|------------------|--------------------|
//! | 16000² | 6.17 s, 3.99 s    | 5.69 s, 3.80 s   | 12.16, 12.23 MB    |
//! | 32000² | 12.50 s, 10.09 s  | 9.39 s, 9.33 s   | 40.13, 40.38 MB    |
//!
//! Where a 16000² poster's CPU time goes (perf samples, before → after):
//! drawing 64% → 65%, summing and clearing the per-thread buffers 9%,
//! colours 9% → 6-8%, level-of-detail building 6%, loading the scene 4%,
//! culling 1.5%, PNG filter + deflate + CRC and writing 6% → 6% (then on
//! one thread, now on all).

mod common;

use common::peak::run_measured;
use std::process::Command;

fn main() {
    let cfg = common::config();
    let db = common::ensure_db(&cfg);
    let bin = env!("CARGO_BIN_EXE_hotpot");
    let list = |var: &str, default: &str| -> Vec<String> {
        std::env::var(var)
            .unwrap_or_else(|_| default.into())
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let sizes = list("HOTPOT_BENCH_SIZES", "16000,32000,65536");
    let backends = list("HOTPOT_BENCH_BACKENDS", "cpu,gpu");
    println!("data: {} rides, {}", cfg.rides, db.display());
    println!(
        "{:>7} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "size", "backend", "wall s", "poster s", "peak MB", "file MB"
    );
    for size in &sizes {
        for backend in &backends {
            let out = common::root().join(format!("poster-{size}-{backend}.png"));
            let m = run_measured(
                Command::new(bin)
                    .env(
                        "XDG_RUNTIME_DIR",
                        std::env::var("XDG_RUNTIME_DIR").unwrap_or("/tmp".into()),
                    )
                    .arg("--db")
                    .arg(&db)
                    .args(["--backend", backend, "render", "--fit"])
                    .args(["--width", size, "--height", size, "-o"])
                    .arg(&out),
            );
            if !m.success {
                println!("{size:>7} {backend:>8} failed: {}", m.stderr.trim());
                continue;
            }
            println!(
                "{size:>7} {backend:>8} {:>8.2} {:>8} {:>9.0} {:>9.1}",
                m.wall.as_secs_f64(),
                poster_seconds(&m.stdout).unwrap_or_else(|| "?".into()),
                m.peak_rss as f64 / 1e6,
                common::file_mb(&out)
            );
            let _ = std::fs::remove_file(&out);
        }
    }
}

/// The time `hotpot render` reports for the poster itself ("... in 1.23s").
fn poster_seconds(stdout: &str) -> Option<String> {
    let line = stdout.lines().find(|l| l.starts_with("wrote "))?;
    Some(
        line.rsplit_once(" in ")?
            .1
            .trim_end_matches('s')
            .to_string(),
    )
}
