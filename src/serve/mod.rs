//! `hotpot serve`: XYZ heatmap tiles over HTTP, a map page, uploads.
//!
//! Handlers ([`routes`]) look tiles up in an LRU ([`cache`]) and otherwise
//! hand them to the render worker ([`worker`]), which batches everything
//! waiting into one pass of the renderer (GPU or CPU). Colouring and PNG
//! encoding run on blocking threads. Uploads ([`upload`]) go through the
//! importer and update the scene and the cache without a restart.
//! Connections are served by [`listen`] (limits, timeouts), writes are
//! checked by [`guard`], and every failure is an [`error::HttpError`].

pub mod archive;
pub mod cache;
pub mod error;
pub mod explorer;
pub mod export_route;
pub mod guard;
pub mod listen;
pub mod page;
pub mod prerender;
pub mod routes;
pub mod state;
pub mod style;
pub mod sync_routes;
pub mod upload;
pub mod worker;

use self::listen::ConnLimits;
use self::state::AppState;
use self::worker::WorkerHandle;
use crate::render::Renderer;
use crate::scene::Scene;
use crate::store::{Store, StoreError};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::cors::{Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub db: PathBuf,
    pub cache_mb: usize,
    pub uploads: bool,
    pub upload_token: Option<String>,
    pub max_upload_mb: usize,
    pub empty_204: bool,
    /// A PMTiles or MBTiles export to answer tiles from (`--tiles`).
    pub tiles: Option<PathBuf>,
    /// Strava and intervals.icu (`SyncOptions::from_env` in the CLI).
    pub sync: sync_routes::SyncOptions,
    /// Metres cut off the start and end of every uploaded activity.
    pub upload_trim_m: Option<f64>,
    /// Origins whose pages may upload (`--allow-origin`).
    pub allow_origins: Vec<String>,
    pub limits: ConnLimits,
    /// Draw and save the default style's tiles ahead (`None`: off).
    pub prerender: Option<prerender::PrerenderOptions>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "uploads and fetches on a non-loopback address ({0}) need a token: set HOTPOT_UPLOAD_TOKEN, or serve without --upload and --fetch"
    )]
    UploadWithoutToken(IpAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("--tiles: {0}")]
    Archive(#[from] crate::export::ExportError),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the application: loads the scene and starts the render worker.
pub fn app(
    opts: &ServeOptions,
    renderer: Box<dyn Renderer + Send>,
) -> Result<(Router, Arc<AppState>), ServeError> {
    if !opts.db.exists() {
        tracing::warn!(
            "{} does not exist: starting with an empty database",
            opts.db.display()
        );
    }
    let store = Store::open(&opts.db)?;
    // Read before loading: a change landing in between is seen next time.
    let generation = store.generation()?;
    let scene = Scene::load(&store, None, None)?;
    let state = AppState::new(opts, scene, WorkerHandle::spawn(renderer), generation);
    state.worker.warm(state.scene());
    // Tiles are meant for other origins' map pages: any origin may fetch
    // them, preflights included. Nothing else is shared across origins.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers(Any)
        .expose_headers([header::ETAG, routes::WARNING]);
    let tiles = Router::new()
        .route("/tiles/{z}/{x}/{file}", get(routes::xyz_tile))
        .route("/tms/{z}/{x}/{file}", get(routes::tms_tile))
        .route("/tile/{z}/{x}/{y}", get(routes::hotpot_tile))
        .layer(cors);
    let upload = post(upload::upload)
        .layer(DefaultBodyLimit::max(opts.max_upload_mb << 20))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::guard_writes,
        ));
    let router = Router::new()
        .route("/", get(page::index))
        .route("/assets/{*path}", get(page::asset))
        .route("/api/palettes", get(page::palettes))
        .route("/api/stats", get(routes::stats))
        .route("/api/export.pmtiles", get(export_route::export_pmtiles))
        .route("/healthz", get(routes::healthz))
        .merge(tiles)
        .route(
            "/explorer/{zoom}/tiles/{z}/{x}/{file}",
            get(explorer::explorer_tile),
        )
        .route("/upload", upload)
        .with_state(state.clone())
        .merge(sync_routes::router(sync_routes::SyncState::new(
            &opts.db,
            opts.sync.clone(),
            opts.upload_token.clone(),
        )))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(middleware::from_fn(log_request));
    Ok((router, state))
}

/// Serves `router` on `listener` with the connection limits of `state`
/// until `shutdown` completes.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    router: Router,
    state: &AppState,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    listen::run(listener, router, state.connections.clone(), shutdown).await?;
    Ok(())
}

/// Serves until Ctrl-C (or SIGTERM), then finishes the requests in flight.
pub async fn serve(
    addr: SocketAddr,
    opts: ServeOptions,
    renderer: Box<dyn Renderer + Send>,
) -> Result<(), ServeError> {
    if (opts.uploads || opts.sync.fetch) && opts.upload_token.is_none() && !addr.ip().is_loopback()
    {
        return Err(ServeError::UploadWithoutToken(addr.ip()));
    }
    let (mut router, state) = app(&opts, renderer)?;
    if let Some(path) = &opts.tiles {
        let archive = archive::TileArchive::open(path).await?;
        router = archive::with_archive(router, state.clone(), archive);
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    tokio::spawn(watch_database(
        state.clone(),
        std::time::Duration::from_secs(2),
    ));
    tracing::info!(
        "serving {} tracks with {} on http://{local}/",
        state.scene().tracks.len(),
        state.worker.describe
    );
    eprintln!(
        "hotpot: map at http://{local}/  (tiles: http://{local}/tiles/{{z}}/{{x}}/{{y}}.png)"
    );
    serve_on(listener, router, &state, shutdown()).await?;
    eprintln!("hotpot: stopped");
    Ok(())
}

/// Follows changes that other processes make to the database (`hotpot
/// import`, `delete`, `mask`): when its generation moves, the scene is
/// reloaded and the tiles that changed are dropped from the cache.
pub async fn watch_database(state: Arc<AppState>, every: std::time::Duration) {
    let generation = |db: PathBuf| async move {
        tokio::task::spawn_blocking(move || Store::open_existing(&db).and_then(|s| s.generation()))
            .await
            .ok()?
            .ok()
    };
    // The generation the scene was loaded at, not the one when watching
    // starts: a change made in between must not go unnoticed.
    let mut last = Some(
        state
            .loaded_generation
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    loop {
        tokio::time::sleep(every).await;
        let now = generation(state.db.clone()).await;
        if now.is_none() || now == last {
            continue;
        }
        last = now;
        let db = state.db.clone();
        let current = state.scene();
        // Our own uploads move the generation too, and are drawn already:
        // when the ids and masks are those of the scene, there is nothing
        // to load (loading decodes every track: seconds on a big database,
        // every two seconds under a stream of uploads).
        let loaded = tokio::task::spawn_blocking(move || {
            let store = Store::open_existing(&db)?;
            let ids: std::collections::BTreeSet<i64> =
                store.list(None)?.iter().map(|a| a.id).collect();
            let same = store.masks()? == current.masks
                && ids.len() == current.tracks.len()
                && current.tracks.iter().all(|t| ids.contains(&t.id));
            if same {
                return Ok(None);
            }
            Scene::load(&store, None, None).map(Some)
        })
        .await;
        match loaded {
            Ok(Ok(None)) => {}
            Ok(Ok(Some(scene))) => {
                let tracks = scene.tracks.len();
                let dropped = state.replace_scene(scene).await;
                state.worker.warm(state.scene());
                tracing::info!(
                    tracks,
                    tiles_dropped = dropped,
                    "database changed: scene reloaded"
                );
            }
            Ok(Err(e)) => tracing::warn!("database changed but could not be reloaded: {e}"),
            Err(e) => tracing::warn!("reload task failed: {e}"),
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// One log line per request with its status and time.
async fn log_request(req: Request, next: Next) -> Response {
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let t = std::time::Instant::now();
    let res = next.run(req).await;
    tracing::info!(%method, %uri, status = res.status().as_u16(), ms = t.elapsed().as_secs_f64() * 1e3, "request");
    res
}
