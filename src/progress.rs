//! Progress bars on stderr for long commands. Callers decide whether to
//! draw one (the CLI does when stderr is a terminal); a hidden bar costs
//! nothing, so the work loops need no second code path.

use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// A bar of `len` steps drawn with `template` (indicatif's syntax), or a
/// hidden one when `enabled` is false.
pub fn bar(enabled: bool, len: u64, template: &str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("templates are static and valid")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
