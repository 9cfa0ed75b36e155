//! The progress bar on standard error while a run works: share of the simulated
//! time covered (over all replications and sweep points), simulated time per
//! second of wall time, requests routed per second, and the time left. Shown
//! only on a terminal and without --quiet, so files and pipes never see it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::engine::Time;
use crate::experiment::Progress;

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// Runs `work` with a [`Progress`] to report to, drawing it as a bar of `total`
/// simulated time when `show` and standard error is a terminal.
pub fn watch<T: Send>(total: Time, show: bool, work: impl FnOnce(&Progress) -> T + Send) -> T {
    let progress = Progress::default();
    if !show || !std::io::stderr().is_terminal() {
        return work(&progress);
    }
    let bar = ProgressBar::new(total.div_ceil(1_000_000_000).max(1));
    bar.set_style(ProgressStyle::with_template("{bar:24} {percent:>3}%  {msg}  ETA {eta}").expect("a valid template"));
    let done = AtomicBool::new(false);
    let start = Instant::now();
    std::thread::scope(|s| {
        let drawer = s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let wall = start.elapsed().as_secs_f64().max(1e-9);
                let simulated = progress.simulated() as f64 / 1e9;
                bar.set_position(simulated as u64);
                bar.set_message(format!(
                    "{:.0} sim s/s, {:.2} M req/s",
                    simulated / wall,
                    progress.routed() as f64 / wall / 1e6
                ));
                std::thread::park_timeout(TICK);
            }
            bar.finish_and_clear();
        });
        let result = work(&progress);
        done.store(true, Ordering::Relaxed);
        drawer.thread().unpark();
        result
    })
}
