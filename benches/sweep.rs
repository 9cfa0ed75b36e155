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

/// Seconds to run every point of `sweep` on a pool of one thread and of two, best
/// of `rounds` each. The two alternate, round by round, so that a busy spell of
/// a shared machine slows both rather than one.
fn times(sweep: &Sweep, rounds: usize) -> (f64, f64) {
    let pool = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool")
    };
    let pools = [pool(1), pool(2)];
    let mut best = [f64::INFINITY; 2];
    for _ in 0..rounds {
        for (pool, best) in pools.iter().zip(&mut best) {
            let start = Instant::now();
            let results = pool.install(|| experiment::sweep(&sweep.points));
            assert_eq!(results.len(), sweep.points.len());
            *best = best.min(start.elapsed().as_secs_f64());
        }
    }
    (best[0], best[1])
}

fn main() {
    let sweep = Sweep::parse(SCENARIO, Path::new("sweep-bench.toml"), &[], &[])
        .expect("valid sweep")
        .expect("a sweep");
    let rounds = 5;
    let (one, two) = times(&sweep, rounds);
    println!(
        "sweep of {} points × 4 policies: 1 thread {one:.3} s, 2 threads {two:.3} s, speedup {:.2}× (best of {rounds})",
        sweep.points.len(),
        one / two
    );
}
