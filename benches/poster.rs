//! Huge posters through the CLI: 16000², 32000² and 65536² pixels of the
//! 2,000-ride benchmark set (`HOTPOT_BENCH_SCALE` scales it) on both
//! backends. Each case runs `hotpot render` as a child process, so peak
//! memory is that render's alone; prints wall time (process start to exit,
//! scene loading included), the poster's own time, peak memory and file
//! size. `HOTPOT_BENCH_SIZES=16000,32000` and
//! `HOTPOT_BENCH_BACKENDS=cpu` pick cases.

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
