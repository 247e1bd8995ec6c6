//! The server as a hostile network and impatient clients use it: clients
//! that leave mid-render, floods of idle connections, oversized and
//! refused bodies, cross-site writes, malformed URLs and queries. The
//! answer is always a status line with a message, never a hang or a
//! reset (issue 10).

use crate::serve::{TestServer, agent, centre_tile, get, is_blank, multipart, post, server, stats};
use crate::support::{TempDir, ride};
use hotpot::render::encode::read_png_rgba;
use hotpot::serve::listen::ConnLimits;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Generous: only a hang takes this long.
const HANG: Duration = Duration::from_secs(60);

fn patient_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(HANG))
        .build()
        .into()
}

/// Sends `head` (and `body_len` bytes of body from another thread) and
/// reads the whole answer; the status code and the text.
fn raw(s: &TestServer, head: &str, body_len: usize) -> (u16, String) {
    let mut conn = TcpStream::connect(s.addr).unwrap();
    conn.set_read_timeout(Some(HANG)).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    let mut writer = conn.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 << 10];
        let mut left = body_len;
        while left > 0 {
            let n = left.min(chunk.len());
            // The server may close once it has answered and read enough.
            if writer.write_all(&chunk[..n]).is_err() {
                break;
            }
            left -= n;
        }
    });
    let mut answer = Vec::new();
    let read = conn.read_to_end(&mut answer);
    sender.join().unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    assert!(
        !answer.is_empty(),
        "no answer at all ({read:?}) to {head:?}"
    );
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    (status, text)
}

#[test]
fn clients_leaving_mid_render_do_not_hang_the_tile() {
    let s = server("hostile-disconnect", |_| {});
    let (cx, cy) = centre_tile(15);
    let paths: Vec<String> = (0..50)
        .map(|i| format!("/tiles/15/{}/{}.png", cx - 5 + i % 10, cy - 2 + i / 10))
        .collect();
    // Fifty cold tiles asked for, and the clients gone 5 ms later, as
    // Leaflet cancels tiles on every pan.
    let conns: Vec<TcpStream> = paths
        .iter()
        .map(|p| {
            let mut c = TcpStream::connect(s.addr).unwrap();
            c.write_all(format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(5));
    drop(conns);
    let agent = patient_agent();
    for p in &paths {
        let res = agent.get(&format!("{}{p}", s.base)).call();
        let status = res.map(|r| r.status().as_u16());
        assert!(matches!(status, Ok(200)), "{p}: {status:?}");
    }
    assert_eq!(
        stats(&s)["tiles_rendered"],
        50,
        "each tile rendered once: the abandoned renders finished and were cached"
    );
}

#[test]
fn idle_connections_are_capped_and_healthz_still_answers() {
    let s = server("hostile-idle-flood", |o| {
        o.limits = ConnLimits {
            max_connections: 32,
            ..ConnLimits::default()
        }
    });
    // 300 connections that never send a byte (the probe used 20,000,
    // past the file descriptor limit; the cap is what keeps it away).
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(s.addr).unwrap())
        .collect();
    let res = patient_agent()
        .get(&format!("{}/healthz", s.base))
        .call()
        .map(|r| r.status().as_u16());
    assert!(matches!(res, Ok(200)), "healthz: {res:?}");
    let st = stats(&s);
    let conns = &st["connections"];
    assert!(
        conns["open"].as_u64().unwrap() <= 32,
        "at most the cap is open: {conns}"
    );
    assert!(
        conns["closed_idle"].as_u64().unwrap() >= 300 - 32,
        "idle ones made room: {conns}"
    );
    drop(idle);
}

#[test]
fn silent_slow_and_idle_connections_are_closed() {
    let s = server("hostile-timeouts", |o| {
        o.limits = ConnLimits {
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            ..ConnLimits::default()
        }
    });
    let closed = |mut c: TcpStream, what: &str| {
        c.set_read_timeout(Some(HANG)).unwrap();
        let mut rest = Vec::new();
        match c.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("{what}: the server kept the connection open ({e})"),
        }
        rest
    };
    // Nothing sent.
    closed(TcpStream::connect(s.addr).unwrap(), "silent");
    // Half a request head, never finished (slowloris).
    let mut slow = TcpStream::connect(s.addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    closed(slow, "slow head");
    // A finished request on a keep-alive connection, then silence.
    let mut kept = TcpStream::connect(s.addr).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answer = closed(kept, "idle keep-alive");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

#[test]
fn refused_uploads_are_answered_while_the_body_is_still_coming() {
    let big = 8 << 20;
    let head = |extra: &str| {
        format!(
            "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {big}\r\n{extra}\r\n"
        )
    };
    let off = server("hostile-refuse-off", |o| o.uploads = false);
    let token = server("hostile-refuse-token", |o| {
        o.upload_token = Some("s3cret".into())
    });
    let small = server("hostile-refuse-size", |o| o.max_upload_mb = 1);
    let cases = [
        (&off, head(""), 403, "--upload"),
        (&token, head(""), 401, "Bearer"),
        (
            &token,
            head("Authorization: Bearer nope\r\n"),
            401,
            "Bearer",
        ),
        (&small, head(""), 413, "limit"),
        (
            &small,
            head("Origin: http://evil.example\r\n"),
            403,
            "cross-origin",
        ),
    ];
    for round in 0..4 {
        for (s, head, status, needle) in &cases {
            let (got, text) = raw(s, head, big);
            assert_eq!(got, *status, "round {round}: {text}");
            assert!(text.contains(needle), "{text}");
        }
    }
    // Announced small but sent big (chunked, no length): refused once the
    // limit is passed, still with a status line.
    let (got, text) = raw(
        &small,
        "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1048000\r\n\r\n",
        1_048_000,
    );
    assert!((400..500).contains(&got), "{text}");
}

#[test]
fn cross_site_writes_are_refused() {
    let s = server("hostile-csrf", |_| {});
    let gpx = |i: i64| hotpot_demo::to_gpx(&ride(50.0, 8.0 + i as f64, 50, 1_700_000_000_000 + i));
    let send = |headers: &[(&str, &str)], i: i64| {
        let (ctype, body) = multipart(&[("a.gpx", gpx(i))]);
        let mut req = agent()
            .post(&format!("{}/upload", s.base))
            .header("Content-Type", &ctype);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut res = req.send(&body[..]).unwrap();
        (
            res.status().as_u16(),
            res.body_mut().read_to_string().unwrap(),
        )
    };
    // A page elsewhere posting a form (CSRF).
    let (status, text) = send(&[("Origin", "http://evil.example")], 1);
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("--allow-origin"));
    // A DNS name rebound to 127.0.0.1.
    let (status, text) = send(&[("Host", "rebound.evil.example:8080")], 2);
    assert_eq!(status, 403, "{text}");
    // The map page itself, and tools that send no Origin, may.
    let own = s.base.clone();
    assert_eq!(send(&[("Origin", &own)], 3).0, 200);
    assert_eq!(send(&[], 4).0, 200);
    let allowed = server("hostile-csrf-allowed", |o| {
        o.allow_origins = vec!["https://map.example.org".into()]
    });
    let (ctype, body) = multipart(&[("a.gpx", gpx(5))]);
    let res = agent()
        .post(&format!("{}/upload", allowed.base))
        .header("Content-Type", &ctype)
        .header("Origin", "https://map.example.org")
        .header("Host", "map.example.org")
        .send(&body[..])
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "--allow-origin lets it write");
}

#[test]
fn bearer_is_any_case() {
    let s = server("hostile-bearer", |o| o.upload_token = Some("s3cret".into()));
    let gpx = hotpot_demo::to_gpx(&ride(50.0, 8.0, 50, 1_700_000_000_000));
    let (ctype, body) = multipart(&[("a.gpx", gpx)]);
    let status = |auth: &str| {
        agent()
            .post(&format!("{}/upload", s.base))
            .header("Content-Type", &ctype)
            .header("Authorization", auth)
            .send(&body[..])
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status("bearer s3cret"), 200);
    assert_eq!(status("BEARER s3cret"), 200);
    assert_eq!(status("Bearer s3cre"), 401);
    assert_eq!(status("Basic s3cret"), 401);
    let _ = post(&s, &[], Some("s3cret"));
}

#[test]
fn every_answer_says_nosniff_and_tiles_are_shared_across_origins() {
    let s = server("hostile-headers", |_| {});
    let (x, y) = centre_tile(12);
    for path in [
        format!("/tiles/12/{x}/{y}.png"),
        "/healthz".into(),
        "/api/stats".into(),
        "/".into(),
        "/nothing".into(),
        "/tiles/99/0/0.png".into(),
    ] {
        let r = get(&format!("{}{path}", s.base), &[]);
        assert_eq!(
            r.headers
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{path}"
        );
    }
    let tile = get(
        &format!("{}/tiles/12/{x}/{y}.png", s.base),
        &[("Origin", "https://other.example")],
    );
    assert_eq!(
        tile.headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("*")
    );
    // The preflight of a map page on another origin.
    for path in [
        format!("/tiles/12/{x}/{y}.png"),
        format!("/tile/12/{x}/{y}"),
    ] {
        let res = agent()
            .options(&format!("{}{path}", s.base))
            .header("Origin", "https://other.example")
            .header("Access-Control-Request-Method", "GET")
            .call()
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], "*");
        assert!(
            h["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains("GET")
        );
    }
    // Not the upload: no CORS there.
    let up = get(
        &format!("{}/api/stats", s.base),
        &[("Origin", "https://other.example")],
    );
    assert!(up.headers.get("access-control-allow-origin").is_none());
}

#[test]
fn malformed_urls_and_queries_get_4xx_with_a_message() {
    let s = server("hostile-urls", |_| {});
    let terms = (0..1001)
        .map(|i| format!("distance_km%20%3E%20{i}"))
        .collect::<Vec<_>>()
        .join("%20%7C%7C%20");
    let in_list = format!(
        "sport%20in%20%5B{}%5D",
        (0..1001)
            .map(|i| format!("s{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let cases = [
        format!("/tiles/3/0/0.png?filter={terms}"),
        format!("/tiles/3/0/0.png?filter={in_list}"),
        "/tiles/3/0/0.png?filter=%ff%fe".into(),
        "/tiles/3/0/0.png?filter=(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((a=1".into(),
        "/tiles/3/0/0.png?after=yesterday".into(),
        "/tiles/3/0/0.png?before=2024-13-45".into(),
        "/tiles/3/0/0.png?width=NaN".into(),
        "/tiles/3/0/0.png?width=1e999".into(),
        "/tiles/3/0/0.png?background=%00".into(),
        "/tiles/99999999999999999999/0/0.png".into(),
        "/tiles/3/0/18446744073709551616.png".into(),
        "/tiles/3/0/%ff.png".into(),
        "/tiles/-1/0/0.png".into(),
        "/tile/3/0/0@3x".into(),
        "/tms/0/0/1.png".into(),
    ];
    for path in &cases {
        let r = get(&format!("{}{path}", s.base), &[]);
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            (400..500).contains(&r.status) && !text.trim().is_empty(),
            "{path}: {} {text}",
            r.status
        );
    }
    let r = get(&format!("{}{}", s.base, cases[0]), &[]);
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("more than 1000 conditions"));
    // Garbage instead of HTTP: hyper's 400, not a reset.
    for junk in [
        "GARBAGE\r\n\r\n",
        "GET /\x01 HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    ] {
        let (status, text) = raw(&s, junk, 0);
        assert!((400..500).contains(&status), "{junk:?}: {text}");
    }
}

#[test]
fn empty_tiles_have_the_size_gdal_asks_for() {
    let s = server("hostile-gdal", |_| {});
    let dir = TempDir::new("gdal-wms");
    // The whole world at zoom 5 as GDAL's TMS client sees it; read one
    // tile of the empty Atlantic (12, 12).
    let wms = format!(
        r#"<GDAL_WMS><Service name="TMS"><ServerUrl>{}/tiles/${{z}}/${{x}}/${{y}}.png</ServerUrl></Service>
<DataWindow><UpperLeftX>-20037508.34</UpperLeftX><UpperLeftY>20037508.34</UpperLeftY>
<LowerRightX>20037508.34</LowerRightX><LowerRightY>-20037508.34</LowerRightY>
<TileLevel>5</TileLevel><TileCountX>1</TileCountX><TileCountY>1</TileCountY><YOrigin>top</YOrigin></DataWindow>
<Projection>EPSG:3857</Projection><BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY><BandsCount>4</BandsCount></GDAL_WMS>"#,
        s.base
    );
    let xml = dir.path().join("tiles.xml");
    std::fs::write(&xml, wms).unwrap();
    let out = dir.path().join("atlantic.png");
    let run = std::process::Command::new("gdal_translate")
        .args(["-q", "-of", "PNG", "-srcwin", "3072", "3072", "256", "256"])
        .arg(&xml)
        .arg(&out)
        .output()
        .expect("gdal_translate (gdal-bin) is needed for this test");
    assert!(
        run.status.success(),
        "GDAL read the tile: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let png = std::fs::read(&out).unwrap();
    let img = read_png_rgba(&png).unwrap();
    assert_eq!((img.width, img.height), (256, 256));
    assert!(is_blank(&png));
    // --empty-204 keeps the old answer for clients that want it.
    let s204 = server("hostile-204", |o| o.empty_204 = true);
    assert_eq!(
        get(&format!("{}/tiles/5/12/12.png", s204.base), &[]).status,
        204
    );
}

#[test]
fn tile_dates_and_unknown_filter_keys() {
    let s = server("hostile-dates", |_| {});
    let (x, y) = centre_tile(12);
    let url = |q: &str| format!("{}/tiles/12/{x}/{y}.png{q}", s.base);
    let all = get(&url(""), &[]);
    assert!(!is_blank(&all.body));
    assert!(is_blank(&get(&url("?after=2100-01-01"), &[]).body));
    assert_eq!(get(&url("?before=2100-01-01"), &[]).body, all.body);
    let runs = get(&url("?filter=sport%20%3D%20running"), &[]);
    let runs_dated = get(
        &url("?filter=sport%20%3D%20running&before=2100-01-01&after=1990-01-01"),
        &[],
    );
    assert_eq!(runs_dated.body, runs.body, "dates combine with the filter");
    assert!(is_blank(
        &get(&url("?filter=sport%20%3D%20running&after=2100-01-01"), &[]).body
    ));
    assert!(runs.headers.get("x-hotpot-warning").is_none());
    let typo = get(&url("?filter=heart_rat%20%3E%20100"), &[]);
    assert_eq!(typo.status, 200);
    let warning = typo
        .headers
        .get("x-hotpot-warning")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(warning.contains("\"heart_rat\""), "{warning}");
}

#[test]
fn uploads_arriving_together_are_all_drawn_when_answered() {
    let s = server("hostile-upload-burst", |_| {});
    let before = stats(&s);
    let base = std::sync::Arc::new(s.base.clone());
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let base = base.clone();
            std::thread::spawn(move || {
                let a = ride(51.0 + i as f64 * 0.01, 10.0, 100, 1_600_000_000_000 + i);
                let (ctype, body) = multipart(&[("r.gpx", hotpot_demo::to_gpx(&a))]);
                agent()
                    .post(&format!("{base}/upload"))
                    .header("Content-Type", &ctype)
                    .send(&body[..])
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap() == 200));
    let after = stats(&s);
    assert_eq!(
        after["tracks_in_scene"].as_u64().unwrap(),
        before["tracks_in_scene"].as_u64().unwrap() + 16,
        "every upload is drawn once its request has answered"
    );
    let updates =
        after["scene_updates"].as_u64().unwrap() - before["scene_updates"].as_u64().unwrap();
    eprintln!("16 concurrent uploads: {updates} scene updates");
}
