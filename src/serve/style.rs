//! How a tile request wants its tile drawn: the query string's rendering
//! options, validated, with a canonical key for caching.

use crate::filter::Filter;
use crate::render::colormap::{self, Colormap, Gradient};
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
}

#[derive(Debug, Clone)]
pub struct TileStyle {
    pub colormap: Arc<Colormap>,
    pub line_width: Option<f32>,
    pub filter: Option<Filter>,
    /// Canonical text of everything above, for cache keys.
    pub key: String,
}

impl TileStyle {
    pub fn from_query(q: &StyleQuery) -> Result<TileStyle, String> {
        let filter = match q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => {
                Some(Filter::parse(f).map_err(|e| format!("filter: {e}\n{}", e.render_caret(f)))?)
            }
            None => None,
        };
        let gradient = match (&q.gradient, q.palette.as_ref().or(q.color.as_ref())) {
            (Some(g), _) => Gradient::parse(g).map_err(|e| format!("gradient: {e}"))?,
            (None, Some(p)) => Gradient::palette(p).map_err(|e| format!("palette: {e}"))?,
            (None, None) => {
                Gradient::palette(colormap::DEFAULT_PALETTE).expect("default palette parses")
            }
        };
        let background = match &q.background {
            Some(c) => Some(colormap::parse_color(c).map_err(|e| format!("background: {e}"))?),
            None => None,
        };
        let line_width = q.line_width.or(q.width);
        if let Some(w) = line_width
            && !(0.1..=64.0).contains(&w)
        {
            return Err(format!("width: {w} px is outside 0.1..64"));
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
        let shown = filter.as_ref().map(Filter::to_string);
        let key = format!(
            "{};bg={:?};w={:?};f={:?}",
            stops.join(";"),
            background,
            line_width,
            shown
        );
        Ok(TileStyle {
            colormap: Arc::new(Colormap::new(gradient, background)),
            line_width,
            filter,
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
        let err = |q: StyleQuery| TileStyle::from_query(&q).unwrap_err();
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
    }
}
