//! `hotpot strava-auth`, `strava-subscribe URL`, `fetch strava [--after]`,
//! `fetch intervals-icu --lookback N`: arguments and printing only; the
//! work is in `hotpot::sync`.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use hotpot::serve::sync_routes::{SyncOptions, SyncState, auth_router};
use hotpot::store::Store;
use hotpot::sync::FetchReport;
use hotpot::sync::intervals::{self, Intervals};
use hotpot::sync::strava::{Strava, backfill, webhook};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct AuthArgs {
    /// Address for the callback page (Strava's app settings must name this
    /// host as the Authorization Callback Domain).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

#[derive(Args)]
pub struct SubscribeArgs {
    /// Public URL of `hotpot serve`'s webhook, e.g.
    /// https://heat.example.org/strava/webhook (the server must be running:
    /// Strava checks it at once).
    url: String,
}

#[derive(Subcommand)]
pub enum FetchCommand {
    /// Import the whole Strava history (resumable; waits out rate limits).
    Strava {
        /// Only activities that started after this date (YYYY-MM-DD);
        /// default: where the last run stopped.
        #[arg(long)]
        after: Option<String>,
        /// Cut this distance off the start and end of every activity,
        /// e.g. 300m or 0.2mi (as `import --trim`).
        #[arg(long, value_parser = crate::parse_distance)]
        trim: Option<f64>,
    },
    /// Import the original files of recent intervals.icu activities
    /// (API key in INTERVALS_ICU_API_KEY).
    #[command(name = "intervals-icu")]
    IntervalsIcu {
        /// Days back from today.
        #[arg(long, default_value_t = 30)]
        lookback: u32,
        /// Cut this distance off the start and end of every activity.
        #[arg(long, value_parser = crate::parse_distance)]
        trim: Option<f64>,
    },
}

fn strava_from_env(bar: Option<indicatif::ProgressBar>) -> Strava {
    let mut strava = Strava::from_env();
    strava.api = hotpot::sync::http::Api::new(&hotpot::sync::strava_base_url()).with_wait_notice(
        Box::new(move |msg| match &bar {
            Some(b) if !b.is_hidden() => b.println(msg),
            _ => eprintln!("{msg}"),
        }),
    );
    strava
}

/// Serves the OAuth routes until Strava redirects back with a code.
pub fn strava_auth(db: &Path, args: AuthArgs) -> Result<ExitCode> {
    let opts = SyncOptions::from_env(false);
    if opts.strava.is_none() {
        bail!(
            "set STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET (from https://www.strava.com/settings/api)"
        );
    }
    Store::open(db)?;
    let state = SyncState::new(db, opts, None);
    let mut connected = state.connected.subscribe();
    let router = auth_router(Arc::clone(&state));
    let addr = std::net::SocketAddr::new(args.host, args.port);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let athlete = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        eprintln!(
            "open http://{addr}/strava/auth in a browser and allow access to your activities"
        );
        let server = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = connected.wait_for(Option::is_some).await;
        });
        server.await?;
        anyhow::Ok(*state.connected.borrow())
    })?;
    match athlete {
        Some(a) => {
            println!("connected Strava athlete {a}; `hotpot fetch strava` imports the history");
            Ok(ExitCode::SUCCESS)
        }
        None => bail!("stopped before Strava answered"),
    }
}

pub fn strava_subscribe(db: &Path, args: SubscribeArgs) -> Result<ExitCode> {
    let secret = std::env::var("STRAVA_WEBHOOK_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .context("set STRAVA_WEBHOOK_SECRET (and give `hotpot serve` the same)")?;
    let mut store = Store::open(db)?;
    let id = webhook::subscribe(&mut store, &strava_from_env(None), &args.url, &secret)?;
    println!(
        "subscribed: Strava sends events for subscription {id} to {}",
        args.url
    );
    Ok(ExitCode::SUCCESS)
}

pub fn fetch(db: &Path, cmd: FetchCommand) -> Result<ExitCode> {
    let mut store = Store::open(db)?;
    let tty = std::io::stderr().is_terminal();
    match cmd {
        FetchCommand::Strava { after, trim } => {
            let after = after
                .map(|d| {
                    hotpot::ingest::time::parse_timestamp(&d)
                        .map(|ms| ms / 1000)
                        .with_context(|| format!("--after {d:?}: not a date (YYYY-MM-DD)"))
                })
                .transpose()?;
            let bar = hotpot::progress::bar(
                tty,
                0,
                "{spinner} strava [{bar:30}] {pos}/{len} activities ({per_sec}) {msg}",
            );
            let mut strava = strava_from_env(Some(bar.clone()));
            strava.trim_m = trim;
            let r = backfill::backfill(&mut store, &strava, after, &bar)?;
            bar.finish_and_clear();
            Ok(print_report("strava", &r))
        }
        FetchCommand::IntervalsIcu { lookback, trim } => {
            let mut iv = Intervals::from_env()?;
            iv.trim_m = trim;
            let bar = hotpot::progress::bar(
                tty,
                0,
                "{spinner} intervals.icu [{bar:30}] {pos}/{len} activities {msg}",
            );
            let r = intervals::fetch(&mut store, &iv, lookback, &bar)?;
            bar.finish_and_clear();
            Ok(print_report("intervals.icu", &r))
        }
    }
}

/// Skips and failures on stderr, the counts on stdout; a soft failure
/// (exit 1) when some activity could not be read.
fn print_report(service: &str, r: &FetchReport) -> ExitCode {
    for (id, why) in &r.skipped {
        eprintln!("skipped: {service} {id}: {why}");
    }
    for (id, e) in &r.failed {
        eprintln!("failed: {service} {id}: {e}");
    }
    println!(
        "{} activities listed: {} imported, {} already stored, {} seen before, {} skipped, {} failed",
        r.listed,
        r.imported,
        r.duplicates,
        r.already_known,
        r.skipped.len(),
        r.failed.len()
    );
    if r.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
