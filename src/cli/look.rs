//! `--scale`, `--glow` and `--explorer`: how a poster looks beyond its
//! gradient, shared by `render` and `timelapse`.

use anyhow::Result;
use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use hotpot::explorer::layer::ExplorerLayer;
use hotpot::render::Colormap;
use hotpot::render::poster::PosterSpec;
use hotpot::render::tone::{EqHistCache, Scale, Tone};
use hotpot::scene::Scene;
use hotpot::store::Store;
use std::sync::Arc;

#[derive(Args, Clone, Debug, Default)]
pub struct LookArgs {
    /// How visits map onto the gradient: counts (absolute), log, or eqhist
    /// (equalised against the whole data set at this scale).
    #[arg(
        long,
        default_value = "counts",
        value_parser = PossibleValuesParser::new(Scale::NAMES).try_map(|s| Scale::parse(&s))
    )]
    pub scale: Scale,
    /// A blurred halo under the lines.
    #[arg(long)]
    pub glow: bool,
}

/// Sets tone and glow on `spec` for `scene`.
pub fn apply(look: &LookArgs, scene: &Scene, spec: &mut PosterSpec) {
    spec.glow = look.glow;
    if look.scale != Scale::Counts {
        let tone = Tone::new(
            look.scale,
            &EqHistCache::default(),
            scene,
            &spec.job(),
            look.glow,
        );
        spec.colormap = Colormap::with_tone(
            spec.colormap.gradient.clone(),
            spec.colormap.background,
            tone,
        );
    }
}

/// Adds the explorer tiles of `zoom` over the poster.
pub fn explorer_overlay(store: &Store, zoom: u8, spec: &mut PosterSpec) -> Result<()> {
    super::explorer::check_zoom(zoom)?;
    let visits = store.explorer_visits(zoom)?;
    let layer = ExplorerLayer::new(zoom, visits.iter().map(|v| v.tile).collect());
    spec.overlay = Some(Arc::new(layer));
    Ok(())
}
