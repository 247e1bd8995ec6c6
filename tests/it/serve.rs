//! The tile server, started on an ephemeral loopback port and driven by a
//! real HTTP client.

use crate::support::{TempDir, ride};
use hotpot::filter::Filter;
use hotpot::render::colormap::{Colormap, Gradient};
use hotpot::render::cpu::CpuRenderer;
use hotpot::render::encode::{indexed_png, read_png_rgba};
use hotpot::render::{RenderJob, Renderer, View};
use hotpot::scene::Scene;
use hotpot::serve::ServeOptions;
use hotpot::store::Store;
use std::path::Path;
use std::sync::Arc;

pub struct TestServer {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub db: std::path::PathBuf,
    _rt: tokio::runtime::Runtime,
    /// Removed with the last server using it.
    _dir: Option<TempDir>,
}

/// A database of a small demo city, served with the CPU renderer.
pub fn server(name: &str, tweak: impl FnOnce(&mut ServeOptions)) -> TestServer {
    let dir = TempDir::new(name);
    let db = crate::support::demo_db(dir.path());
    start(db, Some(dir), tweak)
}

/// Another server on the database of `s`.
pub fn start_beside(s: &TestServer, tweak: impl FnOnce(&mut ServeOptions)) -> TestServer {
    start(s.db.clone(), None, tweak)
}

/// Serves the database `db` (kept in `dir`) with the CPU renderer.
pub fn start(
    db: std::path::PathBuf,
    dir: Option<TempDir>,
    tweak: impl FnOnce(&mut ServeOptions),
) -> TestServer {
    let mut opts = ServeOptions {
        db: db.clone(),
        cache_mb: 64,
        uploads: true,
        upload_token: None,
        max_upload_mb: 8,
        upload_trim_m: None,
        ..Default::default()
    };
    tweak(&mut opts);
    let (served, _) = crate::support::server::serve_hotpot(
        &opts,
        Box::new(CpuRenderer::new()),
        Some(std::time::Duration::from_millis(100)),
    );
    TestServer {
        base: served.base,
        addr: served.addr,
        db,
        _rt: served.rt,
        _dir: dir,
    }
}

impl TestServer {
    /// Stops this server and starts another on the same database.
    pub fn restart(self, tweak: impl FnOnce(&mut ServeOptions)) -> TestServer {
        let TestServer { db, _rt, _dir, .. } = self;
        drop(_rt);
        start(db, _dir, tweak)
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

pub struct Reply {
    pub status: u16,
    pub etag: Option<String>,
    pub headers: ureq::http::HeaderMap,
    pub body: Vec<u8>,
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut res = req.call().unwrap();
    let etag = res
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string());
    Reply {
        status: res.status().as_u16(),
        etag,
        headers: res.headers().clone(),
        body: res.body_mut().read_to_vec().unwrap(),
    }
}

pub fn stats(s: &TestServer) -> serde_json::Value {
    serde_json::from_slice(&get(&format!("{}/api/stats", s.base), &[]).body).unwrap()
}

/// Whether a PNG is fully transparent.
pub fn is_blank(png: &[u8]) -> bool {
    read_png_rgba(png)
        .unwrap()
        .data
        .chunks(4)
        .all(|p| p[3] == 0)
}

/// Tile x/y at zoom z around the demo city's centre (52.45 N, 13.30 E).
pub fn centre_tile(z: u8) -> (u32, u32) {
    let (x, y) = hotpot::geo::lonlat_to_unit(13.30, 52.45);
    let n = (1u64 << z) as f64;
    ((x * n) as u32, (y * n) as u32)
}

/// What the tile must look like: the CPU renderer on the same data.
fn expected_tile(db: &Path, z: u8, x: u32, y: u32, size: u32) -> Vec<u8> {
    let scene = Scene::load(&Store::open_existing(db).unwrap(), None, None).unwrap();
    let d = CpuRenderer::new()
        .render_density(&scene, &[RenderJob::new(View::tile(z, x, y, size))])
        .unwrap()
        .remove(0);
    let cm = Colormap::new(Gradient::palette("hot").unwrap(), None);
    read_png_rgba(&indexed_png(&d, &cm).unwrap()).unwrap().data
}

#[test]
fn tiles_in_every_url_form() {
    let s = server("serve-forms", |_| {});
    let (x, y) = centre_tile(13);
    let xyz = get(&format!("{}/tiles/13/{x}/{y}.png", s.base), &[]);
    assert_eq!(xyz.status, 200);
    let img = read_png_rgba(&xyz.body).unwrap();
    assert_eq!((img.width, img.height), (256, 256));
    assert_eq!(
        img.data,
        expected_tile(&s.db, 13, x, y, 256),
        "tile equals the CPU reference render"
    );
    let retina =
        read_png_rgba(&get(&format!("{}/tiles/13/{x}/{y}@2x.png", s.base), &[]).body).unwrap();
    assert_eq!((retina.width, retina.height), (512, 512));
    let tms_y = (1 << 13) - 1 - y;
    let tms = get(&format!("{}/tms/13/{x}/{tms_y}.png", s.base), &[]);
    assert_eq!(tms.body, xyz.body, "TMS counts y from the south");
    let hotpot_small = get(&format!("{}/tile/13/{x}/{y}@small?color=hot", s.base), &[]);
    assert_eq!(
        hotpot_small.body, xyz.body,
        "hotpot's URL and ?color= keep working"
    );
    // hotpot's tiles are 512 px, and 1024 at @2x.
    for (suffix, px) in [("", 512), (".png", 512), ("@2x", 1024)] {
        let r = get(&format!("{}/tile/13/{x}/{y}{suffix}", s.base), &[]);
        let img = read_png_rgba(&r.body).unwrap();
        assert_eq!((img.width, img.height), (px, px), "/tile/..{suffix}");
        if px == 512 {
            assert_eq!(img.data, retina.data, "/tile/ is /tiles/@2x");
        }
    }
    let blue = get(
        &format!("{}/tiles/13/{x}/{y}.png?palette=blue", s.base),
        &[],
    );
    assert_ne!(blue.body, xyz.body);
    let custom = get(
        &format!(
            "{}/tiles/13/{x}/{y}.png?gradient=1:f00;10:ff0;50:fff",
            s.base
        ),
        &[],
    );
    assert_eq!(custom.status, 200);

    // The middle of the Atlantic: nothing there, a transparent PNG of the
    // tile's size (GDAL and QGIS refuse any other size).
    for (path, px) in [
        ("/tiles/5/12/12.png", 256),
        ("/tiles/5/12/12@2x.png", 512),
        ("/tile/5/12/12", 512),
        ("/tile/5/12/12@small", 256),
        ("/tile/5/12/12@2x", 1024),
    ] {
        let empty = get(&format!("{}{path}", s.base), &[]);
        assert_eq!(empty.status, 200);
        let e = read_png_rgba(&empty.body).unwrap();
        assert_eq!((e.width, e.height), (px, px), "{path}");
        assert!(is_blank(&empty.body), "{path}");
    }

    let page = String::from_utf8(get(&format!("{}/", s.base), &[]).body).unwrap();
    assert!(page.contains("leaflet.js") && page.contains("palette"));
    assert_eq!(
        get(&format!("{}/assets/leaflet/leaflet.js", s.base), &[]).status,
        200
    );
    assert_eq!(get(&format!("{}/healthz", s.base), &[]).status, 200);
    assert_eq!(stats(&s)["activities"], 30);
}

#[test]
fn etags_give_304() {
    let s = server("serve-etag", |_| {});
    let (x, y) = centre_tile(12);
    let url = format!("{}/tiles/12/{x}/{y}.png", s.base);
    let first = get(&url, &[]);
    let etag = first.etag.clone().unwrap();
    assert!(etag.starts_with('"'), "strong ETag: {etag}");
    let again = get(&url, &[("If-None-Match", &etag)]);
    assert_eq!((again.status, again.body.len()), (304, 0));
    assert_eq!(get(&url, &[("If-None-Match", "\"other\"")]).status, 200);
    assert!(stats(&s)["cache"]["hits"].as_u64().unwrap() >= 2);
}

#[test]
fn bad_requests_get_4xx_with_a_reason() {
    let s = server("serve-bad", |_| {});
    for (path, status, needle) in [
        ("/tiles/21/0/0.png", 400, "zoom"),
        ("/tiles/3/8/0.png", 400, "x 8 is outside"),
        ("/tiles/3/0/9.png", 400, "y 9"),
        ("/tiles/a/0/0.png", 400, "not a number"),
        ("/tiles/3/0/0.jpg", 400, ".png"),
        ("/tiles/3/0/0.png?palette=rainbow", 400, "unknown palette"),
        ("/tiles/3/0/0.png?gradient=1:f00;0.5:fff", 400, "increase"),
        ("/tiles/3/0/0.png?width=900", 400, "width"),
        ("/tms/3/0/-1.png", 400, "not a number"),
        ("/assets/../../etc/passwd", 404, ""),
        ("/nothing", 404, ""),
    ] {
        let r = get(&format!("{}{path}", s.base), &[]);
        let text = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status, status, "{path}: {text}");
        assert!(text.contains(needle), "{path}: {text}");
    }
}

pub fn multipart(files: &[(&str, Vec<u8>)]) -> (String, Vec<u8>) {
    let boundary = "hotpot-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, data) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn post(
    s: &TestServer,
    files: &[(&str, Vec<u8>)],
    token: Option<&str>,
) -> (u16, serde_json::Value, String) {
    let (ctype, body) = multipart(files);
    let mut req = agent()
        .post(&format!("{}/upload", s.base))
        .header("Content-Type", &ctype);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut res = req.send(&body[..]).unwrap();
    let text = res.body_mut().read_to_string().unwrap();
    (
        res.status().as_u16(),
        serde_json::from_str(&text).unwrap_or_default(),
        text,
    )
}

#[test]
fn upload_redraws_the_tiles_it_touches_and_no_others() {
    let s = server("serve-upload", |_| {});
    // A ride somewhere empty (the Harz), and a tile in the city that it
    // does not touch.
    let far = ride(51.80, 10.60, 400, 1_700_000_000_000);
    let (fx, fy) = {
        let (x, y) = hotpot::geo::lonlat_to_unit(10.61, 51.805);
        ((x * 4096.0) as u32, (y * 4096.0) as u32)
    };
    let (cx, cy) = centre_tile(12);
    let far_url = format!("{}/tiles/12/{fx}/{fy}.png", s.base);
    let city_url = format!("{}/tiles/12/{cx}/{cy}.png", s.base);
    let before_far = get(&far_url, &[]);
    let before_city = get(&city_url, &[]);
    assert!(is_blank(&before_far.body), "empty before the upload");

    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&hotpot_demo::to_gpx(&far)).unwrap();
        e.finish().unwrap()
    };
    let (status, json, text) = post(&s, &[("harz.gpx.gz", gz)], None);
    assert_eq!(status, 200, "{text}");
    assert_eq!(json["added"], 1);
    assert_eq!(json["files"][0]["points"], 400);

    let after_far = get(&far_url, &[]);
    assert!(
        !is_blank(&after_far.body),
        "the new ride shows up without a restart"
    );
    let hits_before = stats(&s)["cache"]["hits"].as_u64().unwrap();
    let after_city = get(&city_url, &[]);
    assert_eq!(
        after_city.etag, before_city.etag,
        "untouched tiles keep their ETag"
    );
    assert_eq!(
        stats(&s)["cache"]["hits"].as_u64().unwrap(),
        hits_before + 1,
        "...and stay cached"
    );
    assert_eq!(stats(&s)["activities"], 31);

    // The same file again adds nothing; a broken one gets 422 and the reason.
    let (status, json, _) = post(&s, &[("again.gpx", hotpot_demo::to_gpx(&far))], None);
    assert_eq!((status, json["added"].as_u64()), (200, Some(0)));
    let (status, json, _) = post(&s, &[("bad.gpx", b"<gpx><trk>".to_vec())], None);
    assert_eq!(status, 422);
    assert!(!json["files"][0]["error"].as_str().unwrap().is_empty());
}

#[test]
fn uploads_need_the_token_when_one_is_set() {
    let s = server("serve-token", |o| o.upload_token = Some("s3cret".into()));
    let gpx = hotpot_demo::to_gpx(&ride(50.0, 8.0, 50, 1_700_000_000_000));
    let (status, _, text) = post(&s, &[("a.gpx", gpx.clone())], None);
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("Bearer"));
    assert_eq!(post(&s, &[("a.gpx", gpx.clone())], Some("wrong")).0, 401);
    assert_eq!(post(&s, &[("a.gpx", gpx)], Some("s3cret")).0, 200);
    let off = server("serve-noupload", |o| o.uploads = false);
    let (status, _, text) = post(&off, &[("a.gpx", b"x".to_vec())], None);
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("--upload"));
    let small = server("serve-limit", |o| o.max_upload_mb = 1);
    // Just over the limit, small enough for the kernel to take it whole
    // before the server answers (a bigger body races the early answer).
    let (status, _, _) = post(&small, &[("big.gpx", vec![b' '; (1 << 20) + 4096])], None);
    assert_eq!(status, 413, "bodies over the limit are refused");
}

#[test]
fn concurrent_requests_share_render_passes() {
    let s = server("serve-concurrent", |_| {});
    let (cx, cy) = centre_tile(14);
    let tiles: Vec<(u32, u32)> = (0..64).map(|i| (cx - 4 + i % 8, cy - 4 + i / 8)).collect();
    let base = Arc::new(s.base.clone());
    let handles: Vec<_> = tiles
        .iter()
        .map(|&(x, y)| {
            let base = base.clone();
            std::thread::spawn(move || (x, y, get(&format!("{base}/tiles/14/{x}/{y}.png"), &[])))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let st = stats(&s);
    let passes = st["render_passes"].as_u64().unwrap();
    assert_eq!(st["tiles_rendered"], 64);
    assert!(
        passes < 64,
        "64 requests took {passes} passes: they should batch"
    );
    eprintln!(
        "64 concurrent tiles rendered in {passes} passes (largest batch {})",
        st["batch"]["max"]
    );
    let scene = Scene::load(&Store::open_existing(&s.db).unwrap(), None, None).unwrap();
    let cm = Colormap::new(Gradient::palette("hot").unwrap(), None);
    let mut cpu = CpuRenderer::new();
    for (x, y, r) in results {
        assert_eq!(r.status, 200);
        let d = cpu
            .render_density(&scene, &[RenderJob::new(View::tile(14, x, y, 256))])
            .unwrap()
            .remove(0);
        let want = if d.data.iter().all(|&v| v == 0) {
            vec![0; 256 * 256 * 4]
        } else {
            read_png_rgba(&indexed_png(&d, &cm).unwrap()).unwrap().data
        };
        assert_eq!(
            read_png_rgba(&r.body).unwrap().data,
            want,
            "tile 14/{x}/{y}"
        );
    }

    // Sixteen identical requests at once are rendered once.
    let (x, y) = (cx + 20, cy + 20);
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let base = base.clone();
            std::thread::spawn(move || {
                get(&format!("{base}/tiles/14/{x}/{y}.png?palette=purple"), &[]).status
            })
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap() == 200));
    assert_eq!(stats(&s)["tiles_rendered"], 65);
}

/// The map page in headless Chromium, with the heatmap tiles visible. The
/// screenshot goes to target/map-page.png for people to look at.
#[test]
#[cfg_attr(
    hotpot_no_chromium,
    ignore = "no Chromium on the PATH: apt-get install chromium"
)]
fn map_page_shows_tiles_in_chromium() {
    let s = server("serve-chromium", |_| {});
    let img = crate::support::screenshot(&format!("{}/", s.base), "map-page", (1000, 700), 8000);
    // Heat colours over the dark page.
    let hot = crate::support::heat_pixels(&img);
    eprintln!("map page: {hot} heat-coloured pixels");
    assert!(
        hot > 500,
        "the heatmap layer is visible on the page ({hot} hot pixels)"
    );
    let stats = stats(&s);
    assert!(
        stats["tiles_rendered"].as_u64().unwrap() >= 4,
        "the page asked for tiles"
    );
}

#[test]
fn filters_choose_what_tiles_show() {
    let s = server("serve-filter", |_| {});
    let (x, y) = centre_tile(12);
    let url = |q: &str| format!("{}/tiles/12/{x}/{y}.png{q}", s.base);
    let all = get(&url(""), &[]);
    let runs = get(&url("?filter=sport%20%3D%20%22running%22"), &[]);
    assert_eq!(runs.status, 200);
    assert_ne!(runs.body, all.body, "runs alone look different");
    // Exactly the CPU render of the runs.
    let store = Store::open_existing(&s.db).unwrap();
    let f = Filter::parse(r#"sport = "running""#).unwrap();
    let scene = Scene::load(&store, None, Some(&f)).unwrap();
    assert_eq!(scene.tracks.len(), 10);
    let d = CpuRenderer::new()
        .render_density(&scene, &[RenderJob::new(View::tile(12, x, y, 256))])
        .unwrap()
        .remove(0);
    let cm = Colormap::new(Gradient::palette("hot").unwrap(), None);
    assert_eq!(
        read_png_rgba(&runs.body).unwrap().data,
        read_png_rgba(&indexed_png(&d, &cm).unwrap()).unwrap().data
    );
    // The same filter written differently shares the cache entry.
    let hits = stats(&s)["cache"]["hits"].as_u64().unwrap();
    let again = get(&url("?filter=sport%3D%27running%27"), &[]);
    assert_eq!(again.body, runs.body);
    assert_eq!(stats(&s)["cache"]["hits"].as_u64().unwrap(), hits + 1);
    let bad = get(&url("?filter=distance_km%20%3E"), &[]);
    assert_eq!(bad.status, 400);
    assert!(String::from_utf8_lossy(&bad.body).contains("column"));
}

#[test]
fn changes_made_by_other_commands_show_up() {
    let s = server("serve-watch", |_| {});
    let (x, y) = centre_tile(12);
    let url = format!("{}/tiles/12/{x}/{y}.png", s.base);
    let before = get(&url, &[]);
    assert!(!is_blank(&before.body));
    // Another process masks the whole city.
    let mut store = Store::open_existing(&s.db).unwrap();
    store
        .put_mask(&hotpot::render::mask::Mask {
            name: "city".into(),
            lat: 52.45,
            lon: 13.30,
            radius_m: 60_000.0,
        })
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !is_blank(&get(&url, &[]).body) {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never noticed the new mask"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Deleting the mask and every run brings back the rides only.
    store.remove_mask("city").unwrap();
    let runs: Vec<i64> = store
        .list(Some(&Filter::parse("sport = running").unwrap()))
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(store.delete(&runs).unwrap(), 10);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stats(&s)["tracks_in_scene"] != 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "deleted activities still shown"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!is_blank(&get(&url, &[]).body));
}
