//! Sweep scaling: a many-point sweep (servers × state lifetimes × seeds, four
//! policies, one replication each) run on a rayon pool of one thread and of
//! two, with the speedup printed. Points are independent, so a sweep should
//! scale with cores. Run with `cargo bench --bench sweep`.

use std::path::Path;
use std::time::Instant;

use lbsim::experiment;
use lbsim::scenario::sweep::Sweep;

const SCENARIO: &str = r#"
duration = "6h"
policies = ["ip_hash", "ring(vnodes=100)", "stick_table(base=least_conn, expire=30m)", "cookie(base=least_conn)"]

[arrivals]
rate = "1/s"

[sessions]
return_share = 0.3

[[networks]]
kind = "home"
share = 0.6

[[networks]]
kind = "cgnat"
share = 0.15

[[networks]]
kind = "mobile"
share = 0.25

[servers]
count = 8

[sweep]
servers.count = [4, 8, 16, 32]
sessions.state_ttl = ["10m", "30m"]
seed = [1, 2, 3, 4]
"#;

/// Seconds to run every point of `sweep` on a pool of `threads` threads (best of `rounds`).
fn time(sweep: &Sweep, threads: usize, rounds: usize) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            let results = pool.install(|| experiment::sweep(&sweep.points));
            assert_eq!(results.len(), sweep.points.len());
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let sweep = Sweep::parse(SCENARIO, Path::new("sweep-bench.toml"), &[], &[])
        .expect("valid sweep")
        .expect("a sweep");
    let rounds = 3;
    let one = time(&sweep, 1, rounds);
    let two = time(&sweep, 2, rounds);
    println!(
        "sweep of {} points × 4 policies: 1 thread {one:.3} s, 2 threads {two:.3} s, speedup {:.2}× (best of {rounds})",
        sweep.points.len(),
        one / two
    );
}
