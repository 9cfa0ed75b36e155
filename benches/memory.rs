//! Memory per user: peak resident memory of a whole run, divided by the users it
//! created. Each configuration runs in a child process of its own so peaks do not
//! mix. Run with `cargo bench --bench memory`.

use std::process::Command;

mod common;

use lbsim::experiment;

const CONFIGS: &[(&str, &str)] = &[
    ("1 stateless policy", r#"["ip_hash"]"#),
    (
        "6 policies",
        r#"["round_robin", "least_conn", "ip_hash", "ring", "stick_table", "cookie"]"#,
    ),
];

/// The scale the issue of record asks for: ten million users over a day.
const USERS_PER_DAY: f64 = 10_000_000.0;

/// Peak resident set size of this process, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM line");
    line.split_whitespace()
        .nth(1)
        .and_then(|kb| kb.parse::<u64>().ok())
        .expect("a number of kB")
        * 1024
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let (label, policies) = CONFIGS[args[i + 1].parse::<usize>().expect("config index")];
        let sc = common::population(USERS_PER_DAY, policies, false);
        let before = peak_rss();
        let result = experiment::run(&sc);
        let rep = &result.replications[0];
        let grown = peak_rss().saturating_sub(before);
        println!(
            "{label:<20} {:>9} users  {:>10} requests  peak RSS +{:>6.1} MiB  {:>6.1} bytes/user  {:>5.1} M requests routed/s",
            rep.users,
            rep.requests,
            grown as f64 / (1 << 20) as f64,
            grown as f64 / rep.users as f64,
            rep.requests as f64 * rep.lanes.len() as f64 / result.wall_secs / 1e6,
        );
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    for i in 0..CONFIGS.len() {
        let status = Command::new(&exe)
            .args(["--child", &i.to_string()])
            .env("RAYON_NUM_THREADS", "1")
            .status();
        assert!(status.is_ok_and(|s| s.success()), "configuration {i} failed");
    }
}
