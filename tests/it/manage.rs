//! Filters against real files with a real Strava CSV joined, and the
//! management commands (list, delete, properties, masks, trim) as a user
//! runs them.

use crate::support::corpus_dir;
use crate::support::{TempDir, ride};
use hotpot::filter::Filter;
use hotpot::ingest::importer::{ImportOptions, Importer};
use hotpot::ingest::join::read_join_csv;
use hotpot::store::Store;
use hotpot_demo::fit_write::write_fit;

#[test]
#[cfg_attr(
    hotpot_no_corpus,
    ignore = "the real-track corpus is not at ../shared/data/tracks"
)]
fn filters_on_real_tracks_with_joined_strava_columns() {
    let corpus = corpus_dir();
    let dir = TempDir::new("filter-corpus");
    let acts = dir.path().join("activities");
    std::fs::create_dir_all(&acts).unwrap();
    // The Strava export's CSV names its file activities/12866632127.fit.gz;
    // the corpus keeps it under a prefixed name.
    std::fs::copy(
        corpus.join("fit/geo-activity-playground__12866632127.fit.gz"),
        acts.join("12866632127.fit.gz"),
    )
    .unwrap();
    for f in [
        "gpx/sports-lib__strava.gpx",
        "tcx/sports-lib__polar.tcx",
        "fit/hotpot__sample.fit",
        "gpx/gpxgo__visnjan.gpx",
    ] {
        std::fs::copy(corpus.join(f), acts.join(f.rsplit('/').next().unwrap())).unwrap();
    }
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let report = Importer::new(&mut store, ImportOptions::default())
        .import_paths(&[acts])
        .unwrap();
    assert_eq!(report.activities_added, 5);
    let rows = read_join_csv(&corpus.join("csv/geo-activity-playground__activities.csv")).unwrap();
    assert_eq!(store.merge_properties_by_file_name(&rows).unwrap(), 1);

    let count = |f: &str| store.list(Some(&Filter::parse(f).unwrap())).unwrap().len();
    assert_eq!(count(r#""Activity Type" = Run"#), 1, "a joined CSV column");
    assert_eq!(
        count(r#""Activity Name" like "laufen%""#),
        1,
        "LIKE ignores ASCII case"
    );
    assert_eq!(count("Commute = false"), 1, "CSV booleans are booleans");
    assert_eq!(
        count(r#""Elevation Gain" > 60 && "Elevation Gain" < 62"#),
        1,
        "CSV numbers are numbers"
    );
    assert_eq!(
        count(r#"has? "Activity Gear""#),
        0,
        "empty CSV cells are not properties"
    );
    assert_eq!(count(r#"!(has? "Activity ID")"#), 4);
    assert_eq!(
        count("sport = running"),
        2,
        "the FIT's own sport and the TCX's Running"
    );
    assert_eq!(count("sport in [cycling, running] && distance_km > 3"), 3);
    assert_eq!(
        count("start_time < 2015-01-01"),
        1,
        "dates compare as times"
    );
    assert_eq!(
        count("points >= 7000"),
        1,
        "only the Strava GPX has 7264 points"
    );
    // hotpot's own filter syntax keeps working.
    assert_eq!(count(r#"sport = "running" || sport = "cycling""#), 3);

    let err = Filter::parse("distance_km > ").unwrap_err();
    assert_eq!(
        err.column, 15,
        "the end of the input, where a value should be"
    );
    assert!(err.render_caret("distance_km > ").ends_with('^'));
}

fn hotpot(db: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = crate::cli::hotpot(db, args);
    (
        out.status.code().unwrap_or(-1),
        crate::cli::text(&out.stdout),
        crate::cli::text(&out.stderr),
    )
}

#[test]
fn list_delete_properties_masks_and_trim_from_the_cli() {
    let dir = TempDir::new("manage-cli");
    let db = dir.path().join("h.sqlite3");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..4 {
        let mut a = ride(
            48.0 + i as f64 * 0.01,
            11.0,
            1000,
            1_600_000_000_000 + i * 86_400_000 * 400,
        );
        a.sport = Some(if i % 2 == 0 { "cycling" } else { "running" }.into());
        std::fs::write(data.join(format!("{i}.fit")), write_fit(&a)).unwrap();
    }
    // Trim: 1000 points of ~7.4 m, minus 300 m at each end.
    let (code, out, err) = hotpot(&db, &["import", "--trim", "300m", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("4 activities added"), "{out}");
    let store = Store::open_existing(&db).unwrap();
    let full = hotpot::geo::haversine_m(48.0, 11.0, 48.0 + 999.0 * 0.00005, 11.0 + 999.0 * 0.00007);
    let km = store
        .properties(store.activities().unwrap()[0].id)
        .unwrap()
        .unwrap()["distance_km"]
        .as_f64()
        .unwrap();
    assert!(
        (km * 1000.0 - (full - 600.0)).abs() < 2.0,
        "trimmed to {km} km of {full} m"
    );
    drop(store);

    let (_, out, _) = hotpot(&db, &["list", "--sport", "run"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    let (_, out, _) = hotpot(&db, &["list", "--json", "--after", "2021-01-01"]);
    let ids = crate::cli::json_ids(&out);
    assert_eq!(ids.len(), 3, "rides 400 days apart from 2020-09-13");
    let (code, _, err) = hotpot(&db, &["list", "--filter", "sport = = x"]);
    assert_eq!(code, 2);
    assert!(err.contains("column 9") && err.contains('^'), "{err}");

    let (_, out, _) = hotpot(&db, &["properties"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("distance_km") && l.contains(" 4 ")),
        "{out}"
    );

    let (code, out, _) = hotpot(&db, &["delete", "--sport", "running"]);
    assert_eq!((code, out.trim()), (0, "deleted 2 activities"));
    let (_, out, _) = hotpot(&db, &["list", "--json"]);
    let left: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let (code, _, _) = hotpot(&db, &["delete", &left["id"].to_string(), "99999"]);
    assert_eq!(code, 1, "a missing id is reported");
    let (_, out, _) = hotpot(&db, &["stats"]);
    assert!(out.starts_with("1 activities"), "{out}");
    let (code, _, err) = hotpot(&db, &["delete"]);
    assert!(code != 0 && err.contains("say what to delete"));

    let (code, out, err) = hotpot(
        &db,
        &[
            "mask",
            "add",
            "home",
            "--center",
            "48.0,11.0",
            "--radius",
            "0.4km",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("400 m"), "{out}");
    let (_, out, _) = hotpot(&db, &["mask", "list"]);
    assert!(out.starts_with("home"), "{out}");
    let (code, _, err) = hotpot(&db, &["mask", "add", "x", "--center", "91,0"]);
    assert!(code != 0 && err.contains("not on Earth"), "{err}");
    let (code, _, err) = hotpot(
        &db,
        &["mask", "add", "x", "--center", "1,2", "--radius", "-5m"],
    );
    assert!(code != 0 && err.contains("radius"), "{err}");
    assert_eq!(hotpot(&db, &["mask", "remove", "home"]).0, 0);
    assert!(
        hotpot(&db, &["mask", "remove", "home"])
            .2
            .contains("no mask")
    );
}

#[test]
fn render_takes_filters_and_fits_what_they_keep() {
    let dir = TempDir::new("render-filter");
    let db = dir.path().join("h.sqlite3");
    let mut run = ride(52.52, 13.40, 500, 1_700_000_000_000);
    run.sport = Some("running".into());
    std::fs::write(dir.path().join("berlin.fit"), write_fit(&run)).unwrap();
    std::fs::write(
        dir.path().join("munich.fit"),
        write_fit(&ride(48.14, 11.58, 500, 1_600_000_000_000)),
    )
    .unwrap();
    assert_eq!(hotpot(&db, &["import", dir.path().to_str().unwrap()]).0, 0);
    let png = dir.path().join("p.png");
    let (code, out, err) = hotpot(
        &db,
        &[
            "render",
            "--fit",
            "--sport",
            "running",
            "--width",
            "300",
            "-o",
            png.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(", 1 tracks)"), "{out}");
    // Framed on Berlin alone: the run fills the picture instead of being a
    // dot 600 km from Munich.
    let img = hotpot::render::encode::read_png(&std::fs::read(&png).unwrap()).unwrap();
    let lit = img.data.chunks(4).filter(|p| p[3] > 0).count();
    assert!(lit > 1000, "{lit} lit pixels");
    let (code, _, err) = hotpot(
        &db,
        &[
            "render",
            "--fit",
            "--filter",
            "sport = kayaking",
            "-o",
            png.to_str().unwrap(),
        ],
    );
    assert!(code != 0 && err.contains("no activity matches"), "{err}");
}
