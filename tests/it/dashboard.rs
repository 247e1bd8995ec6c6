//! The map page's dashboard in a real browser: headless Chromium driven
//! over WebDriver (chromedriver, plain JSON over HTTP, so ureq is the whole
//! client). A file is uploaded through the page's file input, the token is
//! typed into the page's prompt once, and the new track must show up as
//! heat-coloured pixels in the heatmap layer's tiles.

use crate::support::TempDir;
use hotpot::render::cpu::CpuRenderer;
use hotpot::serve::ServeOptions;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    base: String,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = agent()
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn call(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let a = agent();
    let mut res = match (method, body) {
        ("POST", Some(b)) => a
            .post(url)
            .content_type("application/json")
            .send(b.to_string().as_bytes()),
        ("POST", None) => a
            .post(url)
            .content_type("application/json")
            .send(&b"{}"[..]),
        _ => a.get(url).call(),
    }
    .unwrap();
    let v: Value =
        serde_json::from_slice(&res.body_mut().read_to_vec().unwrap()).unwrap_or(Value::Null);
    (res.status().as_u16(), v["value"].clone())
}

impl Driver {
    fn start(profile: &std::path::Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let mut d = Driver {
            child,
            base,
            session: String::new(),
        };
        wait("chromedriver", || {
            let ok = agent().get(&format!("{}/status", d.base)).call().is_ok();
            ok.then_some(())
        });
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": which(crate::support::chromium()),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1100,800", "--no-first-run", "--disable-background-networking",
                         format!("--user-data-dir={}", profile.display())],
            },
        }}});
        let (status, v) = call("POST", &format!("{}/session", d.base), Some(caps));
        assert_eq!(status, 200, "new session: {v}");
        d.session = v["sessionId"].as_str().unwrap().to_string();
        d
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    fn go(&self, url: &str) {
        let (status, v) = call("POST", &self.url("/url"), Some(json!({ "url": url })));
        assert_eq!(status, 200, "{v}");
    }

    fn js(&self, script: &str) -> Value {
        let (status, v) = call(
            "POST",
            &self.url("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        );
        assert_eq!(status, 200, "{script}: {v}");
        v
    }

    fn element(&self, css: &str) -> String {
        let (status, v) = call(
            "POST",
            &self.url("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        assert_eq!(status, 200, "{css}: {v}");
        v[ELEMENT].as_str().unwrap().to_string()
    }

    /// What a file input gets when a user picks `path`.
    fn choose_file(&self, css: &str, path: &std::path::Path) {
        let id = self.element(css);
        let (status, v) = call(
            "POST",
            &self.url(&format!("/element/{id}/value")),
            Some(json!({"text": path.display().to_string()})),
        );
        assert_eq!(status, 200, "{v}");
    }

    /// The text of an open prompt, if one is open.
    fn alert(&self) -> Option<String> {
        let (status, v) = call("GET", &self.url("/alert/text"), None);
        (status == 200).then(|| v.as_str().unwrap_or("").to_string())
    }

    fn answer_prompt(&self, text: &str) {
        let (status, v) = call(
            "POST",
            &self.url("/alert/text"),
            Some(json!({ "text": text })),
        );
        assert_eq!(status, 200, "{v}");
        let (status, v) = call("POST", &self.url("/alert/accept"), None);
        assert_eq!(status, 200, "{v}");
    }
}

fn which(name: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Heat-coloured pixels in the heatmap layer's loaded tiles (same origin,
/// so a canvas may read them).
const HEAT_PIXELS: &str = r#"
  let hot = 0;
  for (const img of document.querySelectorAll('.heat img.leaflet-tile-loaded')) {
    if (img.naturalWidth < 256) continue;
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] > 150) hot++;
  }
  return hot;
"#;

#[test]
#[cfg_attr(
    any(hotpot_no_chromium, hotpot_no_chromedriver, hotpot_no_corpus),
    ignore = "needs Chromium, chromedriver (apt-get install chromium chromium-driver) and the corpus"
)]
fn upload_through_the_page_shows_the_track() {
    let dir = TempDir::new("dashboard");
    let db = dir.path().join("h.sqlite3");
    let opts = ServeOptions {
        db: db.clone(),
        cache_mb: 16,
        uploads: true,
        upload_token: Some("page-token".into()),
        max_upload_mb: 8,
        empty_204: false,
        upload_trim_m: None,
        tiles: None,
        sync: Default::default(),
        ..Default::default()
    };
    let (server, _) =
        crate::support::server::serve_hotpot(&opts, Box::new(CpuRenderer::new()), None);
    let corpus = crate::support::corpus_dir().canonicalize().unwrap();
    let first = corpus.join("gpx/gpx-cli__short_trek.gpx");
    let second = corpus.join("gpx/georust-gpx__garmin-activity.gpx");

    let driver = Driver::start(&dir.path().join("profile"));
    driver.go(&format!("{}/", server.base));
    wait("the page", || {
        (driver.js("return !!window.hotpot && document.querySelector('#latest li') !== null")
            == json!(true))
        .then_some(())
    });
    assert_eq!(
        driver.js("return document.querySelector('#latest').textContent"),
        json!("no activities yet")
    );
    assert_eq!(
        driver.js(HEAT_PIXELS),
        json!(0),
        "an empty database draws nothing"
    );

    // The server wants a token: the page asks once...
    driver.choose_file("#files", &first);
    let asked = wait("the token prompt", || driver.alert());
    assert!(asked.contains("token"), "{asked}");
    driver.answer_prompt("page-token");
    let result = wait("the upload's result", || {
        let v = driver.js("const li = document.querySelector('#uploads li[data-state]'); return li && [li.dataset.state, li.textContent];");
        (!v.is_null()).then_some(v)
    });
    assert_eq!(result[0], "done", "{result}");
    assert!(result[1].as_str().unwrap().contains("added 1"), "{result}");
    assert_eq!(
        driver.js("return localStorage.getItem('hotpot.token')"),
        json!("page-token")
    );

    // ...and the new track glows in the heatmap, the map framed around it.
    let hot = wait("heat pixels", || {
        let n = driver.js(HEAT_PIXELS).as_u64().unwrap_or(0);
        (n > 200).then_some(n)
    });
    eprintln!("dashboard: {hot} heat pixels after the upload");
    wait("the statistics", || {
        let t = driver.js("return document.querySelector('#sports').textContent + '|' + document.querySelector('#count').textContent");
        t.as_str().unwrap().contains("1 activities").then_some(())
    });

    // A second file: no prompt this time (the token is kept).
    driver.choose_file("#files", &second);
    let states = wait("the second upload", || {
        assert!(driver.alert().is_none(), "asked for the token again");
        let v = driver.js("return Array.from(document.querySelectorAll('#uploads li[data-state]')).map(li => li.dataset.state)");
        (v.as_array().unwrap().len() == 2).then_some(v)
    });
    assert_eq!(states, json!(["done", "done"]));
    let rows = hotpot::store::Store::open(&db)
        .unwrap()
        .activities()
        .unwrap();
    assert_eq!(rows.len(), 2);
    wait("latest activities", || {
        let n = driver.js("return document.querySelectorAll('#latest li').length");
        (n == json!(2)).then_some(())
    });

    // Light and dark.
    let before = driver.js("return document.documentElement.dataset.theme");
    let theme = driver.element("#theme");
    let (status, _) = call(
        "POST",
        &driver.url(&format!("/element/{theme}/click")),
        None,
    );
    assert_eq!(status, 200);
    let after = driver.js("return [document.documentElement.dataset.theme, getComputedStyle(document.body).backgroundColor]");
    assert_ne!(after[0], before, "{after}");
    assert_eq!(
        driver.js("return localStorage.getItem('hotpot.theme')"),
        after[0]
    );
}
