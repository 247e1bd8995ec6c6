//! Servers in this process on an ephemeral loopback port, each in its own
//! runtime and stopped when that is dropped. The one way the integration
//! tests and the benchmarks start them: `benches/common` includes this file
//! by `#[path]`, so it uses nothing of the test kit around it.

use axum::Router;
use hotpot::render::Renderer;
use hotpot::serve::ServeOptions;
use hotpot::serve::state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A running server: its address and the runtime it runs on.
pub struct Served {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    pub addr: SocketAddr,
    pub rt: tokio::runtime::Runtime,
}

fn runtime(threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap()
}

fn bind(rt: &tokio::runtime::Runtime) -> (tokio::net::TcpListener, SocketAddr) {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Serves any `router` (a fake of another service, a static site) on
/// `threads` runtime workers.
pub fn serve_router(router: Router, threads: usize) -> Served {
    let rt = runtime(threads);
    let (listener, addr) = bind(&rt);
    rt.spawn(async move { axum::serve(listener, router).await });
    Served {
        base: format!("http://{addr}"),
        addr,
        rt,
    }
}

/// `hotpot serve` of `opts` with `renderer`, as the binary runs it: the
/// archive of `opts.tiles` in front, the connection handling of
/// `serve_on`, and other processes' changes to the database followed every
/// `watch` (when given). Two runtime workers; with the server's state.
pub fn serve_hotpot(
    opts: &ServeOptions,
    renderer: Box<dyn Renderer + Send>,
    watch: Option<Duration>,
) -> (Served, Arc<AppState>) {
    let rt = runtime(2);
    let (mut router, state) = hotpot::serve::app(opts, renderer).unwrap();
    if let Some(path) = &opts.tiles {
        let archive = rt
            .block_on(hotpot::serve::archive::TileArchive::open(path))
            .unwrap();
        router = hotpot::serve::archive::with_archive(router, state.clone(), archive);
    }
    let (listener, addr) = bind(&rt);
    let serving = state.clone();
    rt.spawn(async move {
        hotpot::serve::serve_on(listener, router, &serving, std::future::pending()).await
    });
    if let Some(every) = watch {
        rt.spawn(hotpot::serve::watch_database(state.clone(), every));
    }
    let served = Served {
        base: format!("http://{addr}"),
        addr,
        rt,
    };
    (served, state)
}
