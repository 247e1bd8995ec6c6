//! How a tile request wants its tile drawn: the query string's rendering
//! options, validated, with a canonical key for caching.

use crate::filter::Filter;
use crate::render::colormap::{self, Colormap, Gradient};
use crate::render::tone::Scale;
use serde::Deserialize;
use std::sync::Arc;

/// The query parameters a tile URL may carry. `color` is hotpot's name for
/// a palette, kept so its users' URLs keep working.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StyleQuery {
    pub palette: Option<String>,
    pub color: Option<String>,
    pub gradient: Option<String>,
    pub background: Option<String>,
    /// Line width in pixels (default: by zoom).
    pub width: Option<f32>,
    pub line_width: Option<f32>,
    pub filter: Option<String>,
    /// hotpot's date bounds: activities started before / at or after.
    pub before: Option<String>,
    pub after: Option<String>,
    /// counts, log or eqhist.
    pub scale: Option<String>,
    /// A halo under the lines: 1/true or 0/false.
    pub glow: Option<String>,
}

/// A query parameter that does not make sense, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{param}: {message}")]
pub struct StyleError {
    pub param: &'static str,
    pub message: String,
}

fn invalid<E: std::fmt::Display>(param: &'static str) -> impl Fn(E) -> StyleError {
    move |e| StyleError {
        param,
        message: e.to_string(),
    }
}

#[derive(Debug, Clone)]
pub struct TileStyle {
    pub colormap: Arc<Colormap>,
    pub line_width: Option<f32>,
    pub filter: Option<Filter>,
    pub scale: Scale,
    pub glow: bool,
    /// Canonical text of everything above, for cache keys.
    pub key: String,
}

impl TileStyle {
    /// Whether tiles of `self` are tiles of `other` in other colours: the
    /// same lines, and the same palette index for every density (see
    /// [`crate::render::repalette`]).
    pub fn recolours(&self, other: &TileStyle) -> bool {
        let (a, b) = (&self.colormap, &other.colormap);
        self.filter.is_none()
            && other.filter.is_none()
            && self.line_width == other.line_width
            && self.glow == other.glow
            && self.scale == other.scale
            && self.scale != Scale::Eqhist
            && a.tone == b.tone
            && a.gradient.max_count() == b.gradient.max_count()
    }

    /// How the batch tile pipeline draws this style at `tile_size` px.
    pub fn spec(&self, tile_size: u32) -> crate::tiles::TileStyleSpec {
        crate::tiles::TileStyleSpec {
            colormap: self.colormap.clone(),
            line_width: self.line_width,
            tile_size,
            glow: self.glow,
            scale: self.scale,
        }
    }

    pub fn from_query(q: &StyleQuery) -> Result<TileStyle, StyleError> {
        let mut filter = match q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => Some(
                Filter::parse(f)
                    .map_err(|e| format!("{e}\n{}", e.render_caret(f)))
                    .map_err(invalid("filter"))?,
            ),
            None => None,
        };
        // hotpot's ?before= and ?after=, combined with ?filter= by "and".
        let dated = [
            ("before", &q.before, Filter::before as fn(&str) -> _),
            ("after", &q.after, Filter::after),
        ];
        for (param, date, make) in dated {
            if let Some(d) = date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                let f = make(d).map_err(|e| invalid(param)(e.message))?;
                filter = Some(match filter {
                    Some(prev) => Filter::and(prev, f),
                    None => f,
                });
            }
        }
        let gradient = match (&q.gradient, q.palette.as_ref().or(q.color.as_ref())) {
            (Some(g), _) => Gradient::parse(g).map_err(invalid("gradient"))?,
            (None, Some(p)) => Gradient::palette(p).map_err(invalid("palette"))?,
            (None, None) => {
                Gradient::palette(colormap::DEFAULT_PALETTE).expect("default palette parses")
            }
        };
        let background = match &q.background {
            Some(c) => Some(colormap::parse_color(c).map_err(invalid("background"))?),
            None => None,
        };
        let line_width = q.line_width.or(q.width);
        if let Some(w) = line_width
            && !(0.1..=64.0).contains(&w)
        {
            return Err(invalid("width")(format!("{w} px is outside 0.1..64")));
        }
        let stops: Vec<String> = gradient
            .stops
            .iter()
            .map(|(c, rgba)| {
                format!(
                    "{c}:{:02x}{:02x}{:02x}{:02x}",
                    rgba[0], rgba[1], rgba[2], rgba[3]
                )
            })
            .collect();
        let scale = match q.scale.as_deref() {
            Some(s) => Scale::parse(s).map_err(invalid("scale"))?,
            None => Scale::Counts,
        };
        let glow = crate::render::look::parse_glow(q.glow.as_deref()).map_err(invalid("glow"))?;
        let shown = filter.as_ref().map(Filter::to_string);
        let key = format!(
            "{};bg={:?};w={:?};f={:?};s={};g={glow}",
            stops.join(";"),
            background,
            line_width,
            shown,
            scale.name(),
        );
        Ok(TileStyle {
            colormap: Arc::new(Colormap::new(gradient, background)),
            line_width,
            filter,
            scale,
            glow,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_look_same_key() {
        let a = TileStyle::from_query(&StyleQuery {
            color: Some("hot".into()),
            ..Default::default()
        })
        .unwrap();
        let b = TileStyle::from_query(&StyleQuery::default()).unwrap();
        assert_eq!(
            a.key, b.key,
            "hotpot's ?color= names the default palette too"
        );
        let c = TileStyle::from_query(&StyleQuery {
            palette: Some("blue".into()),
            ..Default::default()
        })
        .unwrap();
        assert_ne!(a.key, c.key);
    }

    #[test]
    fn bad_options_say_which() {
        let err = |q: StyleQuery| TileStyle::from_query(&q).unwrap_err().to_string();
        assert!(
            err(StyleQuery {
                palette: Some("nope".into()),
                ..Default::default()
            })
            .starts_with("palette:")
        );
        assert!(
            err(StyleQuery {
                gradient: Some("1:zzz".into()),
                ..Default::default()
            })
            .starts_with("gradient:")
        );
        assert!(
            err(StyleQuery {
                width: Some(500.0),
                ..Default::default()
            })
            .starts_with("width:")
        );
        assert!(
            err(StyleQuery {
                after: Some("last tuesday".into()),
                ..Default::default()
            })
            .starts_with("after:")
        );
    }

    #[test]
    fn dates_join_the_filter() {
        let s = TileStyle::from_query(&StyleQuery {
            filter: Some("sport = running".into()),
            after: Some("2024-01-01".into()),
            before: Some("2025-01-01".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            s.filter.unwrap().to_string(),
            r#"sport = "running" && start_time < "2025-01-01" && start_time >= "2024-01-01""#
        );
    }
}
