//! Sweeps: a grid of scenario variants from a [sweep] section and --vary flags,
//! written to sweep.csv byte for byte the same on any number of threads; bad
//! sweeps are refused before anything runs or is written.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const SCENARIO: &str = r#"
name = "sweep"
duration = "1h"
replications = 2
policies = ["ip_hash", "stick_table(base=least_conn, expire=10m)"]

[arrivals]
rate = "0.2/s"

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
networks.2.switch_rate = ["1/h", "6/h"]
"#;

fn lbsim(dir: &Path, args: &[&str], threads: &str) -> Output {
    let scenario = dir.join("sweep.toml");
    fs::write(&scenario, SCENARIO).expect("scenario written");
    Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .arg("run")
        .arg(&scenario)
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("lbsim runs")
}

#[test]
fn sweep_csv_is_the_full_grid_and_identical_on_one_or_two_threads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("t{threads}"));
        let out_arg = out.to_str().expect("utf-8 path");
        let run = lbsim(
            dir.path(),
            &[
                "--quiet",
                "--no-report",
                "--out",
                out_arg,
                "--vary",
                "sessions.state_ttl=5m,30m",
            ],
            threads,
        );
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let mut names: Vec<String> = fs::read_dir(&out)
            .expect("folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["jobs", "run.json", "sweep.csv", "sweep.json"]);
        outputs.push(fs::read(out.join("sweep.csv")).expect("sweep.csv"));
    }
    assert!(outputs[0] == outputs[1], "sweep.csv differs between 1 and 2 threads");

    let mut reader = csv::Reader::from_reader(&outputs[0][..]);
    let header: Vec<String> = reader.headers().expect("header").iter().map(String::from).collect();
    assert_eq!(
        header[..8],
        [
            "scenario",
            "policy",
            "replication",
            "seed",
            "point",
            "networks.2.switch_rate",
            "servers.count",
            "sessions.state_ttl"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    // 2 × 2 × 2 points, 2 policies, 2 replications.
    assert_eq!(rows.len(), 8 * 2 * 2);
    let point = |k: usize| &rows[k * 4];
    assert_eq!(
        (&point(0)[5], &point(0)[6], &point(0)[7]),
        ("1/h", "2", "5m"),
        "the first point takes every first value"
    );
    assert_eq!(
        (&point(1)[7], &point(2)[6], &point(4)[5]),
        ("30m", "6", "6/h"),
        "the last key varies fastest"
    );
    // More phone switches lose more sessions under ip_hash.
    let lost = |row: &csv::StringRecord| row[14].parse::<f64>().expect("sessions_lost_pct");
    assert_eq!(&header[14], "sessions_lost_pct");
    assert!(lost(point(4)) > lost(point(0)));
}

#[test]
fn bad_sweeps_exit_2_naming_the_key_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let out_arg = out.to_str().expect("utf-8 path");
    for (vary, says) in [
        ("servers.count", "expected KEY=V1,V2,..."),
        ("servers.count=", "servers.count: an empty value"),
        ("servers.cout=4,8", "unknown key `cout`: did you mean `count`?"),
        (
            "networks.3.share=0.5",
            "networks is a list of 2 tables; expected networks.N.KEY with N from 1 to 2",
        ),
        ("servers.count=4,0", "--vary \"servers.count=0\": invalid count 0"),
    ] {
        let run = lbsim(dir.path(), &["--out", out_arg, "--vary", vary], "1");
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{vary}: {err}");
        assert!(err.contains(says), "{vary}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!out.exists(), "{vary}: output written");
    }
}
