//! Progress on stderr for long commands. Callers say whether they want
//! progress at all; on a terminal it is an indicatif bar, elsewhere (a log
//! file, a CI job, `nohup`) a plain line every few seconds, so a long render
//! never runs without a word. A hidden bar costs nothing, so the work loops
//! need no second code path.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often a line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// A bar of `len` steps drawn with `template` (indicatif's syntax) when
/// stderr is a terminal, plain lines when it is not, nothing when `enabled`
/// is false.
pub fn bar(enabled: bool, len: u64, template: &str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    if !std::io::stderr().is_terminal() {
        let bar = ProgressBar::hidden();
        bar.set_length(len);
        spawn_lines(&bar, label(template));
        return bar;
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

/// The template's first word that is not a placeholder ("rendering").
fn label(template: &str) -> String {
    template
        .split_whitespace()
        .find(|w| !w.starts_with('{') && !w.starts_with('['))
        .unwrap_or("working")
        .to_string()
}

/// Prints "label: pos/len (pct%, eta)" every [`LINE_EVERY`] until the bar
/// finishes or is dropped. The thread holds only a weak handle.
fn spawn_lines(bar: &ProgressBar, label: String) {
    let weak = bar.downgrade();
    let start = Instant::now();
    let spawned = std::thread::Builder::new()
        .name("progress".into())
        .spawn(move || {
            loop {
                std::thread::sleep(LINE_EVERY);
                let Some(bar) = weak.upgrade() else { return };
                if bar.is_finished() {
                    return;
                }
                let (pos, len) = (bar.position(), bar.length().unwrap_or(0).max(1));
                let done = pos as f64 / len as f64;
                let eta = if done > 0.0 {
                    format!(
                        ", eta {:.0} s",
                        start.elapsed().as_secs_f64() * (1.0 - done) / done
                    )
                } else {
                    String::new()
                };
                eprintln!("{label}: {pos}/{len} ({:.0}%{eta})", done * 100.0);
            }
        });
    if let Err(e) = spawned {
        tracing::debug!("no progress lines: {e}");
    }
}
