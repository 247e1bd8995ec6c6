//! `hotpot mask`, `list`, `delete`, `properties`: looking after what is
//! stored. Arguments and printing only; the work is in the library.

use crate::distance::parse_distance_m;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use hotpot::filter::Filter;
use hotpot::render::mask::Mask;
use hotpot::store::Store;
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
}

#[derive(Subcommand)]
pub enum MaskCommand {
    /// Hide everything within a radius of a place, in every output.
    Add {
        name: String,
        /// The centre as LAT,LON.
        #[arg(long, allow_hyphen_values = true)]
        center: String,
        /// Radius: 500m, 0.5km, 0.3mi, 1000ft (metres when no unit).
        #[arg(long, default_value = "500m", allow_hyphen_values = true)]
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
            for m in Store::open_existing(db)?.masks()? {
                println!(
                    "{:<16} {:>10.5},{:<11.5} {:>7.0} m",
                    m.name, m.lat, m.lon, m.radius_m
                );
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
        .context("--center should be LAT,LON, e.g. 52.52,13.40")?;
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

pub fn list(db: &Path, args: ListArgs) -> Result<ExitCode> {
    let store = Store::open_existing(db)?;
    let rows = store.list(args.filter.to_filter()?.as_ref())?;
    for a in &rows {
        if args.json {
            println!("{}", serde_json::to_string(a)?);
        } else {
            let date = a
                .start_time
                .map(hotpot::timefmt::iso8601)
                .unwrap_or_else(|| "-".into());
            let title = a.title.as_deref().unwrap_or("");
            let sport = a.sport.as_deref().unwrap_or("-");
            println!(
                "{:>6}  {:<20}  {:<12} {:>8.1} km  {title}",
                a.id,
                date,
                sport,
                a.distance_m / 1000.0
            );
        }
    }
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
    if let Some(f) = args.filter.to_filter()? {
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
    if json {
        println!("{}", serde_json::to_string_pretty(&keys)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (k, p) in &keys {
        let examples: Vec<String> = p.examples.iter().map(|v| v.to_string()).collect();
        println!("{k:<28} {:>6}  {}", p.activities, examples.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
