//! Finds the outside tools some tests read our outputs with (GDAL, Python
//! `pmtiles`, Chromium). Tests needing a missing one are ignored, with the
//! reason, through `cfg(missing_…)`; under CI=true nothing is ignored, so a
//! missing tool fails the test there (.ci/run installs them).

use std::path::Path;
use std::process::Command;

fn works(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn main() {
    for name in ["missing_gdal", "missing_py_pmtiles", "missing_chromium"] {
        println!("cargo::rustc-check-cfg=cfg({name})");
    }
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=build.rs");
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python");
    println!("cargo::rerun-if-changed={}", python.display());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        return;
    }
    let python = python.to_string_lossy().into_owned();
    let missing = [
        ("missing_gdal", works("gdalinfo", &["--version"])),
        (
            "missing_py_pmtiles",
            works(&python, &["-c", "import pmtiles.reader"]),
        ),
        (
            "missing_chromium",
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .any(|c| works(c, &["--version"])),
        ),
    ];
    for (name, found) in missing {
        if !found {
            println!("cargo::rustc-cfg={name}");
        }
    }
}
