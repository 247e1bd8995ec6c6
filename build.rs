//! Decides, at build time, which tests cannot run on this machine, so that
//! they are reported as ignored (with the reason) instead of passing
//! without running. Emits:
//! - `hotpot_no_gpu` when no Vulkan driver is installed (no ICD manifest),
//! - `hotpot_no_corpus` when `../shared/data/tracks` is not beside the
//!   checkout,
//! - `hotpot_no_chromium` when no Chromium is on the PATH,
//! - `hotpot_no_gdal` when `gdalinfo` does not run,
//! - `hotpot_no_py_pmtiles` when `target/pyenv` lacks Python's `pmtiles`
//!   (.ci/run makes it).
//! - `hotpot_no_chromedriver` when no chromedriver is (the dashboard test).
//!
//! In CI (`CI=true`) or with `HOTPOT_REQUIRE_GPU=1` nothing is emitted: every
//! test runs, and one that lacks what it needs fails.

use std::path::Path;

fn main() {
    for cfg in [
        "hotpot_no_gpu",
        "hotpot_no_corpus",
        "hotpot_no_chromium",
        "hotpot_no_gdal",
        "hotpot_no_py_pmtiles",
        "hotpot_no_chromedriver",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=HOTPOT_REQUIRE_GPU");
    println!("cargo::rerun-if-env-changed=PATH");
    let required = std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("HOTPOT_REQUIRE_GPU").is_ok_and(|v| v == "1");
    if required {
        return;
    }
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let corpus = Path::new(&manifest).join("../shared/data/tracks/MANIFEST.tsv");
    println!("cargo::rerun-if-changed={}", corpus.display());
    if !corpus.exists() {
        println!("cargo::rustc-cfg=hotpot_no_corpus");
    }
    let icd_dirs = [
        "/usr/share/vulkan/icd.d",
        "/etc/vulkan/icd.d",
        "/usr/local/share/vulkan/icd.d",
    ];
    for d in icd_dirs {
        println!("cargo::rerun-if-changed={d}");
    }
    let has_icd = icd_dirs.iter().any(|d| {
        std::fs::read_dir(d).is_ok_and(|mut e| {
            e.any(|f| f.is_ok_and(|f| f.path().extension().is_some_and(|x| x == "json")))
        })
    });
    // macOS and Windows have their GPU APIs built in.
    if !has_icd && cfg!(target_os = "linux") {
        println!("cargo::rustc-cfg=hotpot_no_gpu");
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let has_chromium = std::env::split_paths(&path).any(|dir| {
        ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .any(|b| dir.join(b).is_file())
    });
    if !has_chromium {
        println!("cargo::rustc-cfg=hotpot_no_chromium");
    }
    // The readers the export tests check our archives with.
    let runs = |cmd: &Path, arg: &str| {
        std::process::Command::new(cmd)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !runs(Path::new("gdalinfo"), "--version") {
        println!("cargo::rustc-cfg=hotpot_no_gdal");
    }
    let python = Path::new(&manifest).join("target/pyenv/bin/python");
    println!("cargo::rerun-if-changed={}", python.display());
    let has_pmtiles = std::process::Command::new(&python)
        .args(["-c", "import pmtiles.reader"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pmtiles {
        println!("cargo::rustc-cfg=hotpot_no_py_pmtiles");
    }
    if !std::env::split_paths(&path).any(|dir| dir.join("chromedriver").is_file()) {
        println!("cargo::rustc-cfg=hotpot_no_chromedriver");
    }
}
