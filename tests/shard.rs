//! Sweeps split over machines and interrupted: shards merged with `lbsim merge`,
//! and folders finished with `--resume`, give the folder of the sweep run in one
//! go byte for byte, on any number of threads; folders of different sweeps, or
//! missing jobs, are refused with exit code 2 and a message naming the problem.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Six jobs: three points of two replications.
const SCENARIO: &str = r#"
name = "study"
duration = "30m"
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
switch_rate = "6/h"

[servers]
count = 4

[sweep]
servers.count = [2, 4, 6]
"#;

/// A temporary folder holding the scenario file.
struct Study {
    dir: tempfile::TempDir,
}

impl Study {
    fn new() -> Study {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("study.toml"), SCENARIO).expect("scenario written");
        Study { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `lbsim ARGS` run in the study's folder on `threads` threads.
    fn lbsim(&self, args: &[&str], threads: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_lbsim"))
            .args(args)
            .current_dir(self.dir.path())
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .expect("lbsim runs")
    }

    /// `lbsim run study.toml --out OUT --no-report ARGS`, which must succeed; its standard output.
    fn run(&self, out: &str, args: &[&str], threads: &str) -> String {
        let mut all = vec!["run", "study.toml", "--out", out, "--no-report"];
        all.extend(args);
        succeeded(&self.lbsim(&all, threads))
    }

    /// `lbsim merge --out OUT --no-report DIRS`, which must succeed.
    fn merge(&self, out: &str, dirs: &[&str], threads: &str) {
        let mut all = vec!["merge", "--out", out, "--no-report", "--quiet"];
        all.extend(dirs);
        succeeded(&self.lbsim(&all, threads));
    }

    /// A command that must fail with exit code 2, saying `says`; its standard error.
    fn refused(&self, args: &[&str], says: &[&str]) -> String {
        let out = self.lbsim(args, "2");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        for s in says {
            assert!(err.contains(s), "{args:?} should say {s:?}: {err}");
        }
        err
    }
}

fn succeeded(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file under `dir`, by its path inside it, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).expect("a folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let name = path.strip_prefix(root).expect("inside").to_string_lossy().into_owned();
                files.insert(name, fs::read(&path).expect("a file"));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// Asserts two folders hold the same files with the same bytes.
fn same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    assert_eq!(
        ta.keys().collect::<Vec<_>>(),
        tb.keys().collect::<Vec<_>>(),
        "{} and {} hold different files",
        a.display(),
        b.display()
    );
    for (name, bytes) in &ta {
        assert!(
            *bytes == tb[name],
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn three_shards_merged_are_the_sweep_run_whole() {
    let s = Study::new();
    // The whole sweep and the merge both draw their report: charts and page are
    // made from the merged files, so they agree byte for byte too.
    succeeded(&s.lbsim(&["run", "study.toml", "--out", "whole", "--quiet"], "2"));
    for k in 1..=3 {
        s.run(&format!("shard-{k}"), &["--quiet", "--shard", &format!("{k}/3")], "2");
    }
    // A shard holds its jobs only; the sweep's files come with the merge.
    let shard = tree(&s.path("shard-2"));
    assert_eq!(
        shard.keys().collect::<Vec<_>>(),
        ["jobs/p0001-r0001.json", "jobs/p0003-r0000.json", "sweep.json"]
    );
    assert!(shard["sweep.json"] == fs::read(s.path("whole/sweep.json")).expect("sweep.json"));
    succeeded(&s.lbsim(
        &["merge", "--out", "merged", "--quiet", "shard-1", "shard-2", "shard-3"],
        "2",
    ));
    same_tree(&s.path("whole"), &s.path("merged"));

    let files = tree(&s.path("whole"));
    let jobs = files.keys().filter(|f| f.starts_with("jobs/")).count();
    assert_eq!(jobs, 6, "{:?}", files.keys());
    assert!(files.contains_key("report.html") && files.contains_key("charts/sessions_lost_pct_vs_servers_count.png"));
    let csv = String::from_utf8(files["sweep.csv"].clone()).expect("utf-8");
    assert!(csv.starts_with("scenario,policy,replication,seed,point,servers.count,requests,"));
    // A row per point, policy and replication, point by point.
    let points: Vec<String> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| r.expect("a row")[4].to_string())
        .collect();
    assert_eq!(points, ["1", "1", "1", "1", "2", "2", "2", "2", "3", "3", "3", "3"]);
    let run: serde_json::Value = serde_json::from_slice(&files["run.json"]).expect("run.json");
    assert_eq!((run["points"].as_u64(), run["jobs"].as_u64()), (Some(3), Some(6)));
    assert!(run["events"].as_u64().expect("events") > 0);
    assert!(
        run.get("wall_time_s").is_none(),
        "run.json holds only what the results decide"
    );
}

#[test]
fn sweeps_and_merges_are_the_same_on_one_or_two_threads() {
    // Varying the replications as well: points of one and of two jobs, nine jobs in all.
    let s = Study::new();
    let vary = ["--quiet", "--vary", "replications=1,2"];
    s.run("one", &vary, "1");
    s.run("two", &vary, "2");
    same_tree(&s.path("one"), &s.path("two"));
    for (k, threads) in [(1, "1"), (2, "2")] {
        let shard = format!("{k}/2");
        let mut args = vary.to_vec();
        args.extend(["--shard", &shard]);
        s.run(&format!("half-{k}"), &args, threads);
    }
    s.merge("merged", &["half-2", "half-1"], "1");
    same_tree(&s.path("one"), &s.path("merged"));
    let run: serde_json::Value =
        serde_json::from_slice(&fs::read(s.path("one/run.json")).expect("run.json")).expect("JSON");
    assert_eq!(run["jobs"].as_u64(), Some(9));
    assert!(run["replications"].is_null(), "replications vary: {run}");
}

#[test]
fn an_interrupted_sweep_resumes_to_the_sweep_run_whole() {
    let s = Study::new();
    s.run("whole", &["--quiet"], "2");
    // Half the jobs done, as if the run had stopped there.
    s.run("resumed", &["--quiet", "--shard", "1/2"], "2");
    assert!(!s.path("resumed/run.json").exists() && !s.path("resumed/sweep.csv").exists());
    s.refused(
        &["run", "study.toml", "--out", "resumed", "--no-report"],
        &["resumed holds an unfinished sweep", "--resume"],
    );
    let said = s.run("resumed", &["--resume"], "2");
    assert!(said.contains("3 of 6 jobs already done"), "{said}");
    assert!(said.contains("3 jobs run"), "{said}");
    same_tree(&s.path("whole"), &s.path("resumed"));

    // One job lost with the sweep's files: only that job runs again.
    let jobs = s.path("resumed/jobs");
    let modified = |name: &str| fs::metadata(jobs.join(name)).and_then(|m| m.modified()).expect("mtime");
    let before = modified("p0001-r0000.json");
    for f in ["jobs/p0002-r0001.json", "sweep.csv", "run.json"] {
        fs::remove_file(s.path("resumed").join(f)).expect("removed");
    }
    // A job file interrupted mid-write is left under its temporary name.
    fs::write(jobs.join(".p0002-r0001.json.partial-1"), "{\"point\":").expect("written");
    let said = s.run("resumed", &["--resume"], "1");
    assert!(
        said.contains("5 of 6 jobs already done") && said.contains("1 job run"),
        "{said}"
    );
    assert_eq!(modified("p0001-r0000.json"), before, "a done job was run again");
    same_tree(&s.path("whole"), &s.path("resumed"));

    // A lost job makes a finished folder unfinished again, and only it is run.
    fs::remove_file(jobs.join("p0003-r0000.json")).expect("removed");
    let said = s.run("resumed", &["--resume", "--shard", "2/2"], "2");
    assert!(
        said.contains("3 of 3 jobs already done") && said.contains("5 of its jobs are in"),
        "{said}"
    );
    assert!(!s.path("resumed/run.json").exists() && !s.path("resumed/sweep.csv").exists());
    let said = s.run("resumed", &["--resume", "--shard", "1/2"], "2");
    assert!(
        said.contains("2 of 3 jobs already done") && said.contains("1 job run"),
        "{said}"
    );
    same_tree(&s.path("whole"), &s.path("resumed"));

    // A finished sweep resumed runs nothing and rewrites the same files.
    let said = s.run("resumed", &["--resume"], "2");
    assert!(
        said.contains("6 of 6 jobs already done") && said.contains("0 jobs run"),
        "{said}"
    );
    same_tree(&s.path("whole"), &s.path("resumed"));
}

#[test]
fn bad_shards_and_mismatched_folders_exit_2_naming_the_problem() {
    let s = Study::new();
    for (shard, says) in [
        ("0/2", "shards count from 1"),
        ("3/2", "shard 3 of only 2"),
        ("x", "no `/`"),
        ("1/two", "whole numbers"),
    ] {
        s.refused(
            &["run", "study.toml", "--out", "bad", "--shard", shard],
            &[says, "expected K/N", "--shard 2/4"],
        );
        assert!(!s.path("bad").exists(), "{shard}: a folder was written");
    }

    for k in 1..=3 {
        s.run(&format!("shard-{k}"), &["--quiet", "--shard", &format!("{k}/3")], "2");
    }
    s.refused(
        &["merge", "--out", "merged", "shard-1", "shard-3"],
        &["jobs missing: point 1 replication 1, point 3 replication 0 (4 of 6 jobs found"],
    );
    assert!(!s.path("merged").exists(), "a merge without every job wrote its folder");

    s.run("reseeded", &["--quiet", "--shard", "2/3", "--seed", "9"], "2");
    s.refused(
        &["merge", "--out", "merged", "shard-1", "reseeded", "shard-3"],
        &["shard-1 and reseeded hold different sweeps: overrides.seed is null in the first and 9"],
    );
    s.refused(
        &[
            "run",
            "study.toml",
            "--out",
            "shard-1",
            "--resume",
            "--vary",
            "servers.count=3,5",
        ],
        &[
            "shard-1: holds a different sweep",
            "overrides.vary = [], this run has [\"servers.count=3,5\"]",
        ],
    );

    // The same job with different results in two folders.
    let job = "jobs/p0001-r0001.json";
    let text = fs::read_to_string(s.path("shard-2").join(job)).expect("job file");
    fs::write(
        s.path("shard-3").join(job),
        text.replacen("\"events\":", "\"events\":1", 1),
    )
    .expect("written");
    s.refused(
        &["merge", "--out", "merged", "shard-1", "shard-2", "shard-3"],
        &["point 1 replication 1 has different results in shard-2 and shard-3"],
    );

    // A single run is written whole or not at all.
    let plain = SCENARIO.split("[sweep]").next().expect("the scenario before its sweep");
    fs::write(s.path("plain.toml"), plain).expect("written");
    for flag in ["--resume", "--shard=1/2"] {
        s.refused(
            &["run", "plain.toml", "--out", "plain", flag],
            &[
                "--shard and --resume apply to sweeps",
                "plain.toml has no [sweep] section",
            ],
        );
    }
    assert!(!s.path("plain").exists());
}

#[test]
fn the_scenario_is_known_by_its_content_not_the_path_typed() {
    let s = Study::new();
    s.run("whole", &["--quiet"], "2");
    // The same file written another way, and a copy of it in another folder.
    fs::create_dir(s.path("copy")).expect("folder");
    fs::copy(s.path("study.toml"), s.path("copy/study.toml")).expect("copied");
    let half = |out: &str, file: &str, shard: &str| {
        succeeded(&s.lbsim(
            &["run", file, "--out", out, "--no-report", "--quiet", "--shard", shard],
            "2",
        ))
    };
    half("resumed", "./study.toml", "1/2");
    let resume = ["run", "copy/study.toml", "--out", "resumed", "--no-report", "--resume"];
    let said = succeeded(&s.lbsim(&resume, "2"));
    assert!(said.contains("3 of 6 jobs already done"), "{said}");
    half("a", "study.toml", "1/2");
    half("b", "copy/../study.toml", "2/2");
    s.merge("merged", &["a", "b"], "2");
    for dir in ["resumed", "merged"] {
        let csv = |d: &str| fs::read(s.path(d).join("sweep.csv")).expect("sweep.csv");
        assert_eq!(csv(dir), csv("whole"), "{dir}");
    }
    // A file with other content is another sweep, whatever its path.
    fs::write(
        s.path("copy/study.toml"),
        SCENARIO.replace("rate = \"0.2/s\"", "rate = \"0.3/s\""),
    )
    .expect("written");
    let out = s.lbsim(
        &["run", "copy/study.toml", "--out", "a", "--no-report", "--resume"],
        "2",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("scenario_xxh3"), "{err}");
}
