//! The `hotpot` binary as a user runs it.

use crate::support::{TempDir, ride};
use hotpot_demo::fit_write::write_fit;
use std::path::Path;
use std::process::{Command, Output};

pub fn hotpot(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotpot"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The ids in `hotpot list --json` output (one JSON object a line).
pub fn json_ids(out: &str) -> Vec<i64> {
    out.lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

#[test]
fn import_stats_render_round_trip() {
    let dir = TempDir::new("cli");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..5 {
        let a = ride(
            52.50 + i as f64 * 0.002,
            13.40,
            400,
            1_700_000_000_000 + i * 86_400_000,
        );
        std::fs::write(data.join(format!("r{i}.fit")), write_fit(&a)).unwrap();
    }
    std::fs::write(data.join("bad.gpx"), "<gpx><trk>").unwrap();
    let db = dir.path().join("h.sqlite3");

    let out = hotpot(&db, &["import", data.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed file is a soft error: {}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("5 activities added"), "{stdout}");
    assert!(stdout.contains("1 files failed"), "{stdout}");
    assert!(
        text(&out.stderr).contains("bad.gpx"),
        "the failed file is named"
    );

    let out = hotpot(&db, &["stats"]);
    assert!(out.status.success());
    let first = text(&out.stdout).lines().next().unwrap().to_string();
    assert!(first.starts_with("5 activities, "), "{first}");
    assert!(first.ends_with(" km, 2023-11-14 to 2023-11-18"), "{first}");
    let out = hotpot(&db, &["stats", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["activities"], 5);

    let png = dir.path().join("p.png");
    let out = hotpot(
        &db,
        &[
            "render",
            "--fit",
            "--width",
            "300",
            "-o",
            png.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let img = hotpot::render::encode::read_png(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!(img.width, 300);
    assert!(img.height > 10);
    let lit = img.data.chunks(4).filter(|p| p[3] > 0).count();
    assert!(lit > 300, "tracks are drawn ({lit} pixels)");
    assert!(
        img.data.chunks(4).any(|p| p[3] == 0),
        "the rest is transparent"
    );

    let out = hotpot(
        &db,
        &[
            "render",
            "--bounds",
            "13.3,52.4,13.5,52.6",
            "--width",
            "64",
            "--height",
            "48",
            "--palette",
            "blue",
            "--background",
            "000",
            "-o",
            png.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let img = hotpot::render::encode::read_png(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!((img.width, img.height), (64, 48));
    assert!(
        img.data.chunks(4).all(|p| p[3] == 255),
        "background is opaque"
    );
}

#[test]
fn bad_arguments_get_clear_errors() {
    let dir = TempDir::new("cli-errors");
    let db = dir.path().join("h.sqlite3");
    let out = hotpot(&db, &["stats"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("import"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !db.exists(),
        "a read-only command must not create the database"
    );

    std::fs::write(
        dir.path().join("a.fit"),
        write_fit(&ride(52.0, 13.0, 50, 1_700_000_000_000)),
    )
    .unwrap();
    hotpot(&db, &["import", dir.path().join("a.fit").to_str().unwrap()]);
    for (args, needle) in [
        (vec!["render", "--bounds", "1,2,3"], "four"),
        (vec!["render", "--bounds", "3,0,1,1"], "west"),
        (
            vec!["render", "--fit", "--gradient", "1:f00;0.5:ff0"],
            "increase",
        ),
        (vec!["render", "--fit", "--palette", "rainbow"], "hot"),
        (vec!["render", "--fit", "--background", "zz"], "hex"),
        (vec!["render"], "--bounds"),
    ] {
        let out = hotpot(&db, &args);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn demo_runs_on_a_fresh_machine() {
    let dir = TempDir::new("cli-demo");
    let out = Command::new(env!("CARGO_BIN_EXE_hotpot"))
        .args(["--backend", "cpu", "demo", "--width", "512", "--dir"])
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("360 activities added"), "{stdout}");
    assert!(stdout.contains("0 files failed"), "{stdout}");
    for name in ["heatmap.png", "region.png"] {
        let img = hotpot::render::encode::read_png(
            &std::fs::read(dir.path().join("demo").join(name)).unwrap(),
        )
        .unwrap();
        assert_eq!(img.width, 512);
        let lit = img.data.chunks(4).filter(|p| p[0] > 100).count();
        assert!(lit > 2000, "{name}: {lit} bright pixels");
    }
}
