//! A sweep scaled out over a real Slurm cluster: scripts/slurm-sweep.sh submits
//! the shards as an array job and the merge behind them, and the merged folder is
//! the one an unsharded run writes.
//!
//! Needs a running cluster that `sinfo` reaches (SLURM_CONF names it; `.ci/slurm-cluster
//! start` makes a single-node one). Without one the test is skipped, except when
//! LBSIM_SLURM is set, as .ci/run does: then it fails.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Set in CI: no reachable cluster fails the test instead of skipping it.
const REQUIRED: &str = "LBSIM_SLURM";

const SCENARIO: &str = r#"
name = "slurm-sweep"
duration = "1h"
replications = 2
policies = ["ip_hash", "stick_table(base=least_conn, expire=10m)", "ring"]

[arrivals]
rate = "1/s"

[[networks]]
kind = "home"
share = 0.6

[[networks]]
kind = "mobile"
share = 0.4

[servers]
count = 4

[sweep]
servers.count = [2, 6]
"#;

/// The longest the cluster may take for the whole sweep, queueing included.
const PATIENCE: Duration = Duration::from_secs(180);

/// Whether a Slurm controller answers; `None` (with a message) to skip.
fn cluster() -> Option<()> {
    let answer = Command::new("sinfo").args(["--noheader", "--format=%a %T"]).output();
    let why = match &answer {
        Ok(out) if out.status.success() && !out.stdout.is_empty() => return Some(()),
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
        Err(e) => format!("sinfo: {e}"),
    };
    assert!(
        std::env::var_os(REQUIRED).is_none(),
        "no Slurm cluster answers ({why}), and {REQUIRED} is set: .ci/run starts one with .ci/slurm-cluster"
    );
    eprintln!(
        "skipped: no Slurm cluster answers ({why}); `.ci/slurm-cluster start` and the SLURM_CONF it prints make one"
    );
    None
}

fn lbsim_run(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .arg("run")
        .arg(scenario)
        .args(extra)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .output()
        .expect("lbsim runs")
}

/// Runs scripts/slurm-sweep.sh with --wait, giving up after PATIENCE.
fn slurm_sweep(scenario: &Path, out: &Path, shards: &str, extra: &[&str]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-sweep.sh");
    let log = out.with_extension("log");
    let mut child = Command::new(&script)
        .args(["--wait", "--time", "10:00", "--lbsim", env!("CARGO_BIN_EXE_lbsim")])
        .arg(scenario)
        .arg(out)
        .arg(shards)
        .arg("--")
        .args(extra)
        .stdout(fs::File::create(&log).expect("log file"))
        .stderr(Stdio::from(
            fs::File::create(log.with_extension("err")).expect("log file"),
        ))
        .spawn()
        .expect("scripts/slurm-sweep.sh starts");
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the script") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(100));
    };
    let said = format!(
        "{}{}",
        fs::read_to_string(&log).unwrap_or_default(),
        fs::read_to_string(log.with_extension("err")).unwrap_or_default()
    );
    match status {
        Some(status) => (status.success(), said),
        None => (
            false,
            format!("{said}\n(no end after {PATIENCE:?}; squeue shows what waits)"),
        ),
    }
}

/// Every file under `dir`, by its path relative to `dir`.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).expect("folder readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = fs::read(&path).expect("file readable");
                found.insert(path.strip_prefix(dir).expect("under dir").to_path_buf(), bytes);
            }
        }
    }
    found
}

#[test]
fn a_sweep_sharded_over_slurm_merges_into_the_unsharded_folder() {
    if cluster().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // The path the script gives the shards, so that run.json names the same file.
    let root = fs::canonicalize(dir.path()).expect("temp dir resolves");
    let scenario = root.join("sweep.toml");
    fs::write(&scenario, SCENARIO).expect("scenario written");
    // Two points from the file, two from --vary: 4 points × 2 replications = 8
    // runs, unevenly over 3 shards.
    let vary = ["--vary", "sessions.state_ttl=5m,30m"];

    let whole = root.join("whole");
    let run = lbsim_run(&scenario, &whole, &vary);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    let out = root.join("slurm");
    let started = Instant::now();
    let (ok, said) = slurm_sweep(&scenario, &out, "3", &vary);
    assert!(ok, "scripts/slurm-sweep.sh failed:\n{said}");
    eprintln!("the sweep took {:.1} s on Slurm", started.elapsed().as_secs_f64());
    for k in 1..=3 {
        assert!(
            out.join(format!("shard-{k}")).is_dir(),
            "array task {k} wrote its shard"
        );
        assert!(
            out.join(format!("logs/shard-{k}.log")).is_file(),
            "Slurm kept task {k}'s log"
        );
    }

    let expected = files(&whole);
    let merged = files(&out.join("merged"));
    assert_eq!(
        merged.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the merged folder has the unsharded run's files"
    );
    // Byte for byte, run.json, charts and report included: the merge must not show
    // that the sweep was split.
    for (name, bytes) in &expected {
        assert!(
            merged[name] == *bytes,
            "{} differs from the unsharded run",
            name.display()
        );
    }
    let rows = String::from_utf8_lossy(&expected[Path::new("sweep.csv")])
        .lines()
        .count();
    assert_eq!(rows, 1 + 4 * 3 * 2, "a header, then points × policies × replications");
    assert!(
        expected.contains_key(Path::new("report.html")),
        "the sweep drew its report"
    );
}

#[test]
fn a_failing_shard_fails_the_sweep_and_shows_its_log() {
    if cluster().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let root = fs::canonicalize(dir.path()).expect("temp dir resolves");
    let scenario = root.join("sweep.toml");
    fs::write(&scenario, SCENARIO).expect("scenario written");
    // Every shard gets the same arguments, so one that lbsim refuses fails them all,
    // and the merge, waiting for their success, never runs.
    let out = root.join("slurm");
    let (ok, said) = slurm_sweep(&scenario, &out, "2", &["--replications", "0"]);
    assert!(!ok, "a sweep whose shards fail must fail:\n{said}");
    assert!(said.contains("shard 1: FAILED"), "{said}");
    assert!(
        said.contains("--replications"),
        "the shard's own error is shown:\n{said}"
    );
    assert!(!out.join("merged").exists(), "nothing merged");
}
