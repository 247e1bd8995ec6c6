//! Print units: a poster's size on paper and its resolution, turned into
//! pixels (`60x90cm` at 300 dpi is 7087 x 10630 px).

/// The resolution a print size gets when no DPI is given: what print shops
/// ask for.
pub const DEFAULT_DPI: f64 = 300.0;

const MM_PER_INCH: f64 = 25.4;

/// A size on paper, in inches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrintSize {
    pub width_in: f64,
    pub height_in: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrintError {
    #[error("expected WIDTHxHEIGHT and a unit, e.g. 60x90cm, 24x36in or 420x594mm; got {0:?}")]
    Syntax(String),
    #[error("unknown unit {0:?}: use cm, mm or in")]
    Unit(String),
    #[error("{0:?} is not a positive number")]
    Number(String),
    #[error("the DPI must be a positive number, got {0}")]
    Dpi(f64),
    #[error("{size} at {dpi} dpi needs more than {max} pixels a side", max = u32::MAX)]
    TooLarge { size: String, dpi: f64 },
}

impl PrintSize {
    /// Parses `60x90cm`, `24 x 36 in`, `420x594mm` or `8.5inx11in`: two
    /// numbers and a unit (`cm`, `mm`, `in`, `inch`, `inches`, `"`), given
    /// once for both or for each.
    pub fn parse(s: &str) -> Result<PrintSize, PrintError> {
        let syntax = || PrintError::Syntax(s.to_string());
        let lower = s.trim().to_ascii_lowercase();
        let (w, h) = lower.split_once(['x', '×']).ok_or_else(syntax)?;
        let (w, w_unit) = split_unit(w);
        let (h, h_unit) = split_unit(h);
        let unit = |u: &str| -> Result<f64, PrintError> {
            match u {
                "cm" => Ok(10.0 / MM_PER_INCH),
                "mm" => Ok(1.0 / MM_PER_INCH),
                "in" | "inch" | "inches" | "\"" => Ok(1.0),
                other => Err(PrintError::Unit(other.to_string())),
            }
        };
        let (w_per, h_per) = match (w_unit, h_unit) {
            ("", "") => return Err(syntax()),
            ("", u) | (u, "") => (unit(u)?, unit(u)?),
            (a, b) => (unit(a)?, unit(b)?),
        };
        Ok(PrintSize {
            width_in: number(w)? * w_per,
            height_in: number(h)? * h_per,
        })
    }

    /// Pixels at `dpi`: inches times dots per inch, rounded, at least 1.
    pub fn pixels(&self, dpi: f64) -> Result<(u32, u32), PrintError> {
        check_dpi(dpi)?;
        let px = |inches: f64| {
            let p = (inches * dpi).round().max(1.0);
            (p <= u32::MAX as f64).then_some(p as u32)
        };
        match (px(self.width_in), px(self.height_in)) {
            (Some(w), Some(h)) => Ok((w, h)),
            _ => Err(PrintError::TooLarge {
                size: format!("{:.1}x{:.1}cm", self.width_in * 2.54, self.height_in * 2.54),
                dpi,
            }),
        }
    }
}

/// Checks a DPI given on its own (it then only goes into the file).
pub fn check_dpi(dpi: f64) -> Result<f64, PrintError> {
    if dpi.is_finite() && dpi > 0.0 {
        Ok(dpi)
    } else {
        Err(PrintError::Dpi(dpi))
    }
}

/// `" 60cm "` -> (`"60"`, `"cm"`).
fn split_unit(s: &str) -> (&str, &str) {
    let s = s.trim();
    let at = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    (s[..at].trim(), s[at..].trim())
}

fn number(s: &str) -> Result<f64, PrintError> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(PrintError::Number(s.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_convert_to_pixels() {
        let px = |s: &str, dpi| PrintSize::parse(s).unwrap().pixels(dpi).unwrap();
        // 60 cm / 2.54 * 300 = 7086.6; 90 cm -> 10629.9.
        assert_eq!(px("60x90cm", 300.0), (7087, 10630));
        assert_eq!(px("600 x 900 mm", 300.0), (7087, 10630));
        assert_eq!(px("24x36in", 150.0), (3600, 5400));
        assert_eq!(px("8.5inx11in", 100.0), (850, 1100));
        assert_eq!(px("10cmx2in", 254.0), (1000, 508));
        assert_eq!(px("1x1mm", 1.0), (1, 1), "never zero pixels");
    }

    #[test]
    fn bad_sizes_say_why() {
        let err = |s: &str| PrintSize::parse(s).unwrap_err();
        assert!(matches!(err("60x90"), PrintError::Syntax(_)));
        assert!(matches!(err("60cm"), PrintError::Syntax(_)));
        assert_eq!(err("60x90ft"), PrintError::Unit("ft".into()));
        assert!(matches!(err("0x90cm"), PrintError::Number(_)));
        assert!(matches!(err("x90cm"), PrintError::Number(_)));
        let big = PrintSize::parse("1000000x1in").unwrap();
        assert!(matches!(
            big.pixels(10_000.0),
            Err(PrintError::TooLarge { .. })
        ));
        assert_eq!(check_dpi(0.0), Err(PrintError::Dpi(0.0)));
    }
}
