//! The server's pre-rendering: the default style's tiles drawn ahead and
//! saved beside the database, equal to live ones, kept across restarts,
//! and redrawn only where new tracks land.

use crate::serve::{TestServer, centre_tile, get, is_blank, post, server, stats};
use crate::support::ride;
use hotpot::ingest::importer::{ImportOptions, Importer};
use hotpot::serve::ServeOptions;
use hotpot::serve::prerender::PrerenderOptions;
use hotpot::store::Store;
use std::time::{Duration, Instant};

const ZOOMS: std::ops::RangeInclusive<u8> = 10..=13;

fn prerendering(o: &mut ServeOptions) {
    o.prerender = Some(PrerenderOptions {
        zooms: ZOOMS,
        ..PrerenderOptions::beside(&o.db)
    });
}

/// Waits until the pre-rendering has saved every zoom; its stats then.
fn wait_complete(s: &TestServer) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let p = stats(s)["prerender"].clone();
        if p["complete"] == true && p["busy"] == false {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "pre-rendering never finished: {p}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn rendered_live(s: &TestServer) -> u64 {
    stats(s)["tiles_rendered"].as_u64().unwrap()
}

/// Tiles in and around the demo city at the pre-rendered zooms, both
/// sizes, and one far away (empty).
fn urls(s: &TestServer) -> Vec<String> {
    let mut out = Vec::new();
    for z in ZOOMS {
        let (x, y) = centre_tile(z);
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (2, 2)] {
            // Another palette of the same top count is the saved tile
            // with its palette swapped.
            for suffix in [".png", "@2x.png", ".png?palette=viridis"] {
                out.push(format!(
                    "{}/tiles/{z}/{}/{}{suffix}",
                    s.base,
                    x + dx,
                    y + dy
                ));
            }
        }
    }
    out.push(format!("{}/tiles/11/10/10.png", s.base));
    out.push(format!("{}/tiles/11/10/10.png?palette=blue", s.base));
    out
}

/// Tile x/y at `z` of a ride starting at (lat, lon).
fn tile_at(z: u8, lat: f64, lon: f64) -> (u32, u32) {
    let (x, y) = hotpot::geo::lonlat_to_unit(lon + 0.001, lat + 0.0007);
    let n = (1u64 << z) as f64;
    ((x * n) as u32, (y * n) as u32)
}

#[test]
fn saved_tiles_equal_live_ones_and_survive_a_restart() {
    let s = server("prerender-restart", prerendering);
    let first = wait_complete(&s);
    let saved = first["saved_tiles"].as_u64().unwrap();
    assert!(saved > 20, "{first}");
    assert_eq!(first["rendered"].as_u64(), Some(saved));

    // Byte for byte what the live renderer makes, with the same ETag, and
    // none of them rendered on request.
    let live = crate::serve::start_beside(&s, |o| o.prerender = None);
    for url in urls(&s) {
        let (a, b) = (get(&url, &[]), get(&url.replace(&s.base, &live.base), &[]));
        assert_eq!((a.status, &a.etag), (200, &b.etag), "{url}");
        assert!(
            a.body == b.body,
            "{url}: saved tile differs from the live one"
        );
    }
    assert!(rendered_live(&live) > 0);
    assert_eq!(rendered_live(&s), 0, "every tile came from the saved ones");
    drop(live);
    // Outside the saved zooms, tiles are rendered as before.
    let (x, y) = centre_tile(15);
    assert!(!is_blank(
        &get(&format!("{}/tiles/15/{x}/{y}.png", s.base), &[]).body
    ));
    assert_eq!(rendered_live(&s), 1);

    // While the server is down, another ride is imported far away.
    let (lat, lon) = (51.80, 10.60);
    let s = s.restart(|o| {
        let mut store = Store::open_existing(&o.db).unwrap();
        Importer::new(&mut store, ImportOptions::default())
            .import_parsed("harz", vec![ride(lat, lon, 400, 1)])
            .unwrap();
        prerendering(o);
    });
    let again = wait_complete(&s);
    let redrawn = again["rendered"].as_u64().unwrap();
    assert!(
        redrawn > 0 && redrawn < saved / 4,
        "only the new ride's tiles are drawn again: {again}"
    );
    let (x, y) = tile_at(12, lat, lon);
    let harz = get(&format!("{}/tiles/12/{x}/{y}.png", s.base), &[]);
    assert!(!is_blank(&harz.body), "the ride imported while down shows");
    for url in urls(&s) {
        assert_eq!(get(&url, &[]).status, 200);
    }
    assert_eq!(rendered_live(&s), 0, "the restart kept the saved tiles");
}

#[test]
fn an_upload_redraws_only_the_saved_tiles_it_touches() {
    let s = server("prerender-upload", prerendering);
    let before = wait_complete(&s);
    let (lat, lon) = (52.46, 13.31);
    let (tx, ty) = tile_at(13, lat, lon);
    let touched = format!("{}/tiles/13/{tx}/{ty}.png", s.base);
    let (cx, cy) = centre_tile(13);
    let untouched = format!("{}/tiles/13/{}/{}.png", s.base, cx + 3, cy + 3);
    let (t0, u0) = (get(&touched, &[]), get(&untouched, &[]));
    assert_eq!(rendered_live(&s), 0);

    let gpx = hotpot_demo::to_gpx(&ride(lat, lon, 300, 1_700_000_000_000));
    let (status, json, text) = post(&s, &[("new.gpx", gpx)], None);
    assert_eq!((status, json["added"].as_u64()), (200, Some(1)), "{text}");
    // Served right away (live or saved), never the old picture.
    assert_ne!(get(&touched, &[]).etag, t0.etag, "the new ride shows");
    let after = wait_complete(&s);
    let redrawn = after["rendered"].as_u64().unwrap() - before["rendered"].as_u64().unwrap();
    assert!(
        redrawn > 0 && redrawn <= 4 * 9,
        "at most the few tiles per zoom around the ride: {redrawn}"
    );
    assert_eq!(
        get(&untouched, &[]).etag,
        u0.etag,
        "untouched tiles keep theirs"
    );
    let live = crate::serve::start_beside(&s, |o| o.prerender = None);
    let fresh = get(&touched.replace(&s.base, &live.base), &[]);
    assert_eq!(get(&touched, &[]).body, fresh.body, "redrawn as live");
}
