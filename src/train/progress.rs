//! Progress reporting: an `indicatif` bar in a terminal, plain lines elsewhere (notebooks, CI
//! logs), so the output is readable in both.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    started: Instant,
    last_line: Instant,
    every: std::time::Duration,
}

impl Progress {
    /// `total` steps. A bar when stderr is a terminal; otherwise a line every few seconds.
    pub fn new(total: usize, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        let every = if quiet { std::time::Duration::MAX } else { std::time::Duration::from_secs(10) };
        Self { bar, total, started: Instant::now(), last_line: Instant::now(), every }
    }

    /// Reports step `step` (1-based) with a message such as the current loss.
    pub fn update(&mut self, step: usize, msg: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(step as u64);
                bar.set_message(msg.to_string());
            }
            None => {
                if self.every == std::time::Duration::MAX {
                    return; // quiet
                }
                if self.last_line.elapsed() >= self.every || step == self.total {
                    self.last_line = Instant::now();
                    println!("step {step}/{} {msg} ({:.0} s)", self.total, self.started.elapsed().as_secs_f64());
                }
            }
        }
    }

    /// Prints one line above the bar (or as a plain line), unless quiet.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None if self.every != std::time::Duration::MAX => println!("{line}"),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
