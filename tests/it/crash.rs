//! Killing an import at any moment leaves a database that opens, passes
//! SQLite's integrity check and holds every activity reported as added.

use crate::support::{TempDir, ride};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn killed_import_keeps_what_it_reported() {
    let dir = TempDir::new("crash");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let files = 240;
    for i in 0..files {
        let a = ride(
            50.0 + (i % 20) as f64 * 0.01,
            8.0 + (i / 20) as f64 * 0.01,
            1500,
            1_600_000_000_000 + i as i64 * 3_600_000,
        );
        std::fs::write(data.join(format!("{i:04}.gpx")), hotpot_demo::to_gpx(&a)).unwrap();
    }
    let db = dir.path().join("h.sqlite3");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hotpot"))
        .args([
            "-v",
            "--db",
            db.to_str().unwrap(),
            "import",
            data.to_str().unwrap(),
        ])
        .env("HOTPOT_IMPORT_BATCH", "5")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut reported = 0u64;
    let mut commits = 0;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(n) = line.split("activities_added=").nth(1) {
            reported = n.split_whitespace().next().unwrap().parse().unwrap();
            commits += 1;
            if commits == 3 {
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    assert!(
        reported > 0,
        "the import reported progress before it was killed"
    );

    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64;
    let stored = count("SELECT COUNT(*) FROM activities");
    assert!(stored >= reported, "{stored} stored < {reported} reported");
    assert!(stored < files, "killed mid-way ({stored} of {files})");
    assert_eq!(
        count("SELECT COUNT(*) FROM tracks"),
        stored,
        "every activity has its track"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM activity_bounds"),
        stored,
        "and its index entry"
    );
    drop(conn);

    // Running it again finishes the job without doubling anything.
    let out = Command::new(env!("CARGO_BIN_EXE_hotpot"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "import",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let total: i64 = conn
        .query_row("SELECT COUNT(*) FROM activities", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total as u64, files);
}
