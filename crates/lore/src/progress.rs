//! A progress bar on stderr for long index runs.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar on stderr with `template`, or a hidden one.
fn stderr_bar(enabled: bool, template: &str) -> ProgressBar {
    let target = if enabled {
        ProgressDrawTarget::stderr_with_hz(10)
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// Shows files parsed and files/s while an index run parses.
pub(crate) struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub(crate) fn new(enabled: bool) -> Bar {
        Bar {
            bar: stderr_bar(
                enabled,
                "{spinner} parsing {bar:30} {pos}/{len} files  {per_sec}  {eta} left",
            ),
        }
    }
}

impl lore_index::Progress for Bar {
    fn start(&self, total: u64) {
        self.bar.set_length(total);
        // Short runs finish before the bar is worth drawing.
        self.bar.enable_steady_tick(Duration::from_millis(200));
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Shows chunks embedded and chunks/s during an embedding run.
pub(crate) struct EmbedBar {
    bar: ProgressBar,
}

impl EmbedBar {
    pub(crate) fn new(enabled: bool) -> EmbedBar {
        EmbedBar {
            bar: stderr_bar(
                enabled,
                "{spinner} embedding {bar:30} {pos}/{len} chunks  {per_sec}  {eta} left",
            ),
        }
    }

    pub(crate) fn update(&self, done: usize, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
