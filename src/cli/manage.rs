//! `hotpot mask`, `list`, `delete`, `properties`: looking after what is
//! stored. Arguments and printing only; the work is in the library.

use crate::distance::parse_distance_m;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use hotpot::filter::Filter;
use hotpot::render::mask::Mask;
use hotpot::store::Store;
use hotpot::text::sanitize;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Which activities: a filter expression and its shorthands, combined with AND.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Filter expression, e.g. 'sport = "cycling" && distance_km > 50'.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only activities that started on or after this date (YYYY-MM-DD).
    #[arg(long)]
    pub after: Option<String>,
    /// Only activities that started before this date (YYYY-MM-DD).
    #[arg(long)]
    pub before: Option<String>,
    /// Only these sports (comma-separated, e.g. cycling,running).
    #[arg(long, value_delimiter = ',')]
    pub sport: Vec<String>,
}

impl FilterArgs {
    pub fn to_filter(&self) -> Result<Option<Filter>> {
        let mut parts = Vec::new();
        if let Some(f) = &self.filter {
            parts.push(
                Filter::parse(f)
                    .map_err(|e| anyhow::anyhow!("--filter {e}\n{}", e.render_caret(f)))?,
            );
        }
        if let Some(d) = &self.after {
            parts.push(Filter::after(d).map_err(|e| anyhow::anyhow!("--after: {}", e.message))?);
        }
        if let Some(d) = &self.before {
            parts.push(Filter::before(d).map_err(|e| anyhow::anyhow!("--before: {}", e.message))?);
        }
        if !self.sport.is_empty() {
            let sports: Vec<String> = self
                .sport
                .iter()
                .map(|s| hotpot::ingest::activity::normalize_sport(s))
                .collect();
            parts.push(Filter::sports(&sports));
        }
        Ok(parts.into_iter().reduce(Filter::and))
    }

    /// [`FilterArgs::to_filter`], warning about keys no activity in `store`
    /// has: such a filter is valid but would silently match nothing.
    pub fn to_filter_for(&self, store: &Store) -> Result<Option<Filter>> {
        let filter = self.to_filter()?;
        if let Some(f) = &filter {
            for key in store.unknown_keys(f)? {
                eprintln!(
                    "warning: no activity has a property {:?} (`hotpot properties` lists them)",
                    sanitize(&key)
                );
            }
        }
        Ok(filter)
    }
}

/// Whether `e` is a write to a closed pipe (`hotpot list | head`): the
/// reader has all it wants, so the command ends quietly, as ripgrep does.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[derive(Subcommand)]
pub enum MaskCommand {
    /// Hide everything within a radius of a place, in every output.
    Add {
        name: String,
        /// The centre as LAT,LON (`-l`/`--latlng` as in erik/hotpot).
        #[arg(
            long,
            short = 'l',
            visible_alias = "latlng",
            allow_hyphen_values = true
        )]
        center: String,
        /// Radius: 500 (metres), 500m, 0.5km, 0.3mi, 1000ft.
        #[arg(short, long, default_value = "500m", allow_hyphen_values = true)]
        radius: String,
    },
    /// List the masks.
    List,
    /// Remove a mask.
    Remove { name: String },
}

pub fn mask(db: &Path, cmd: MaskCommand) -> Result<ExitCode> {
    match cmd {
        MaskCommand::Add {
            name,
            center,
            radius,
        } => {
            let (lat, lon) = parse_lat_lon(&center)?;
            let radius_m =
                parse_distance_m(&radius).map_err(|e| anyhow::anyhow!("--radius: {e}"))?;
            if radius_m <= 0.0 {
                bail!("--radius must be above 0");
            }
            let mut store = Store::open(db)?;
            let replaced = store.put_mask(&Mask {
                name: name.clone(),
                lat,
                lon,
                radius_m,
            })?;
            println!(
                "{} mask {name:?}: {radius_m:.0} m around {lat:.5},{lon:.5}",
                if replaced { "replaced" } else { "added" }
            );
        }
        MaskCommand::List => {
            let mut out = std::io::stdout().lock();
            for m in Store::open_existing(db)?.masks()? {
                writeln!(
                    out,
                    "{:<16} {:>10.5},{:<11.5} {:>7.0} m",
                    sanitize(&m.name),
                    m.lat,
                    m.lon,
                    m.radius_m
                )?;
            }
        }
        MaskCommand::Remove { name } => {
            if !Store::open_existing(db)?.remove_mask(&name)? {
                bail!("there is no mask called {name:?} (see `hotpot mask list`)");
            }
            println!("removed mask {name:?}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_lat_lon(s: &str) -> Result<(f64, f64)> {
    let (lat, lon) = s
        .split_once(',')
        .context("--center/--latlng should be LAT,LON, e.g. 52.52,13.40")?;
    let lat: f64 = lat
        .trim()
        .parse()
        .with_context(|| format!("latitude {lat:?} is not a number"))?;
    let lon: f64 = lon
        .trim()
        .parse()
        .with_context(|| format!("longitude {lon:?} is not a number"))?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        bail!("--center {lat},{lon} is not on Earth (latitude -90..90, longitude -180..180)");
    }
    Ok((lat, lon))
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Writes through `?` rather than `println!`, which panics when the reader
/// goes away (`hotpot list | head`); see [`is_broken_pipe`].
pub fn list(db: &Path, args: ListArgs) -> Result<ExitCode> {
    let store = Store::open_existing(db)?;
    let rows = store.list(args.filter.to_filter_for(&store)?.as_ref())?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for a in &rows {
        if args.json {
            writeln!(out, "{}", serde_json::to_string(a)?)?;
        } else {
            let date = a
                .start_time
                .map(hotpot::timefmt::iso8601)
                .unwrap_or_else(|| "-".into());
            // Titles and sports come from the files.
            let title = sanitize(a.title.as_deref().unwrap_or(""));
            let sport = sanitize(a.sport.as_deref().unwrap_or("-"));
            writeln!(
                out,
                "{:>6}  {:<20}  {:<12} {:>8.1} km  {title}",
                a.id,
                date,
                sport,
                a.distance_m / 1000.0
            )?;
        }
    }
    out.flush()?;
    if !args.json {
        eprintln!("{} activities", rows.len());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct DeleteArgs {
    /// Activity ids (see `hotpot list`).
    pub ids: Vec<i64>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

pub fn delete(db: &Path, args: DeleteArgs) -> Result<ExitCode> {
    let mut store = Store::open_existing(db)?;
    let mut ids = args.ids.clone();
    if let Some(f) = args.filter.to_filter_for(&store)? {
        ids.extend(store.list(Some(&f))?.iter().map(|a| a.id));
    }
    if ids.is_empty() {
        bail!("say what to delete: activity ids, or --filter/--after/--before/--sport");
    }
    ids.sort_unstable();
    ids.dedup();
    let n = store.delete(&ids)?;
    println!("deleted {n} activities");
    Ok(if n == ids.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn properties(db: &Path, json: bool) -> Result<ExitCode> {
    let keys = Store::open_existing(db)?.property_keys()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&keys)?)?;
    } else {
        // Keys and values of joined CSV columns come from the user's files.
        for (k, p) in &keys {
            let examples: Vec<String> = p.examples.iter().map(|v| v.to_string()).collect();
            let examples = examples.join(", ");
            let k = sanitize(k);
            writeln!(out, "{k:<28} {:>6}  {}", p.activities, sanitize(&examples))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
