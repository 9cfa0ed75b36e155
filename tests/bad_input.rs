//! Bad input through the command line: every mistake is exit code 2 with the
//! file, line and column, what was expected, and no panic; output folders are
//! never left half-written or overwritten without --force.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// A small valid scenario; each mistake below replaces one of its lines.
const VALID: &str = r#"# A scenario to break, one line at a time.
name = "bad-input"
duration = "10m"
policies = ["ip_hash", "ring"]

[arrivals]
rate = "1/s"

[servers]
count = 3
"#;

fn lbsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(args)
        .output()
        .expect("lbsim runs")
}

/// Runs lbsim expecting bad input: no panic, exit code 2; returns standard error.
fn usage_error(args: &[&str]) -> String {
    let out = lbsim(args);
    let err = stderr(&out);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    err
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, text).expect("scenario written");
    path
}

fn assert_no_panic(out: &Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "exit code of a panic: {err}");
}

/// `VALID` with the line starting with `replaced` swapped for `line`, and that
/// line's 1-based number.
/// `validate` on `text`, written to `name` in `dir`, fails at `line`:`col` with an
/// error saying `phrase`; `section` names the case when it does not.
fn assert_located(dir: &TempDir, name: &str, text: &str, section: &str, line: usize, col: usize, phrase: &str) {
    let path = write(dir, name, text);
    let err = usage_error(&["validate", path.to_str().expect("UTF-8 path")]);
    let prefix = format!("error: {}:{line}:{col}: ", path.display());
    assert!(
        err.starts_with(&prefix),
        "{section:?}: expected {prefix:?}, got:\n{err}"
    );
    assert!(err.contains(phrase), "{section:?}: no {phrase:?} in:\n{err}");
}

fn with_line(replaced: &str, line: &str) -> (String, usize) {
    let lines: Vec<&str> = VALID.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(replaced))
        .expect("line to replace");
    let text: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| if i == at { line } else { l })
        .collect();
    (text.join("\n") + "\n", at + 1)
}

/// Checks `validate` and `run` on a file whose mistake is `token` on `line`: exit
/// code 2, stderr starting with `file:LINE:COL:` where COL is where `token`
/// stands, every `expected` phrase in the message, the line quoted with a caret
/// under the column, no panic and no output folder.
fn assert_rejected(file: &str, replaced: &str, line: &str, token: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (text, line_no) = with_line(replaced, line);
    let path = write(&dir, file, &text);
    let col = line.find(token).expect("token on the line") + 1;
    let out_dir = dir.path().join("out");
    let path_arg = path.to_str().expect("UTF-8 path");
    for args in [
        vec!["validate", path_arg],
        vec!["run", path_arg, "--out", out_dir.to_str().expect("UTF-8 path")],
    ] {
        let err = usage_error(&args);
        let prefix = format!("error: {}:{line_no}:{col}: ", path.display());
        assert!(err.starts_with(&prefix), "{args:?}: expected {prefix:?}, got:\n{err}");
        for phrase in expected {
            assert!(err.contains(phrase), "{args:?}: no {phrase:?} in:\n{err}");
        }
        // The offending line is quoted, with the caret right under the column.
        let lines: Vec<&str> = err.lines().collect();
        let quoted = format!("{line_no} | {line}");
        let i = lines
            .iter()
            .position(|l| *l == quoted)
            .unwrap_or_else(|| panic!("{quoted:?} not quoted in:\n{err}"));
        let caret = lines.get(i + 1).and_then(|l| l.find('^')).expect("caret line");
        assert_eq!(
            caret,
            format!("{line_no} | ").len() + col - 1,
            "caret misplaced:\n{err}"
        );
        assert!(
            !out_dir.exists(),
            "a rejected scenario must not create {}",
            out_dir.display()
        );
    }
}

#[test]
fn valid_scenario_is_accepted() {
    // The mistakes below are the only thing wrong with their files.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "valid.toml", VALID);
    let out = lbsim(&["validate", path.to_str().expect("UTF-8 path")]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn wrong_unit() {
    assert_rejected(
        "unit.toml",
        "duration",
        r#"duration = "30x""#,
        r#""30x""#,
        &["unknown unit \"x\"", "expected a duration"],
    );
}

#[test]
fn unknown_key() {
    assert_rejected(
        "key.toml",
        "duration",
        r#"durration = "10m""#,
        "durration",
        &[
            "unknown key `durration`: did you mean `duration`?",
            "valid keys here: name,",
        ],
    );
}

#[test]
fn request_count_without_a_finite_mean() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = VALID.to_string() + "[sessions]\nrequests = { dist = \"pareto\", scale = 20, shape = 0.5 }\n";
    let line_no = text.lines().count();
    let path = write(&dir, "pareto.toml", &text);
    let err = usage_error(&["validate", path.to_str().expect("UTF-8 path")]);
    assert!(
        err.starts_with(&format!("error: {}:{line_no}:12: ", path.display())),
        "{err}"
    );
    assert!(err.contains("no finite mean") && err.contains("shape > 1"), "{err}");
}

#[test]
fn empirical_distribution_with_a_weight_missing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text =
        VALID.to_string() + "[sessions]\nrequests = { dist = \"empirical\", values = [1, 2, 3], weights = [5, 1] }\n";
    let line_no = text.lines().count();
    let path = write(&dir, "empirical.toml", &text);
    let err = usage_error(&["validate", path.to_str().expect("UTF-8 path")]);
    assert!(
        err.starts_with(&format!("error: {}:{line_no}:", path.display())),
        "{err}"
    );
    assert!(
        err.contains("as many `weights` as `values`") && err.contains("3 values and 2 weights"),
        "{err}"
    );
}

#[test]
fn name_that_would_leave_the_output_folder() {
    assert_rejected(
        "name.toml",
        "name",
        r#"name = "../victim""#,
        r#""../victim""#,
        &["expected a plain name", "without /"],
    );
}

#[test]
fn pool_event_that_cannot_happen() {
    // s1 is failed twice; the second must not be silently ignored (its automatic
    // recovery would end the first, permanent failure).
    let dir = tempfile::tempdir().expect("temp dir");
    let text = VALID.to_string()
        + "[[events]]\nat = \"1m\"\naction = \"fail\"\nserver = \"s1\"\n"
        + "[[events]]\nat = \"2m\"\naction = \"fail\"\nserver = \"s1\"\nfor = \"1m\"\n";
    let line_no = text.lines().position(|l| l == "at = \"2m\"").expect("line") + 1;
    let path = write(&dir, "events.toml", &text);
    let err = usage_error(&["validate", path.to_str().expect("UTF-8 path")]);
    assert!(
        err.starts_with(&format!("error: {}:{line_no}:6: ", path.display())),
        "{err}"
    );
    assert!(
        err.contains("server \"s1\" is down: it cannot be told to fail"),
        "{err}"
    );
}

#[test]
fn negative_rate() {
    assert_rejected(
        "rate.toml",
        "rate",
        r#"rate = "-2/s""#,
        r#""-2/s""#,
        &["cannot be negative", "expected a rate"],
    );
}

#[test]
fn zero_servers() {
    assert_rejected(
        "zero.toml",
        "count",
        "count = 0",
        "0",
        &["invalid count 0", "expected a whole number of at least 1"],
    );
}

#[test]
fn unknown_policy() {
    assert_rejected(
        "policy.toml",
        "policies",
        r#"policies = ["ip_hash", "maglevv"]"#,
        "maglevv",
        &[
            "unknown policy \"maglevv\"",
            "valid policies:",
            "round_robin",
            "least_conn",
            "ring",
            "stick_table",
            "cookie",
        ],
    );
}

#[test]
fn unknown_policy_parameter_lists_the_valid_ones() {
    assert_rejected(
        "param.toml",
        "policies",
        r#"policies = ["ip_hash", "ring(vnodez=3)"]"#,
        "vnodez",
        &["unknown parameter \"vnodez\"", "ring takes: vnodes"],
    );
    assert_rejected(
        "nested.toml",
        "policies",
        r#"policies = ["stick_table(base=ring, expires=10m)"]"#,
        "expires",
        &["unknown parameter \"expires\"", "stick_table takes: base, expire, size"],
    );
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("missing.toml");
    let out_dir = dir.path().join("out");
    let path_arg = path.to_str().expect("UTF-8 path");
    for args in [
        vec!["validate", path_arg],
        vec!["run", path_arg, "--out", out_dir.to_str().expect("UTF-8 path")],
    ] {
        let err = usage_error(&args);
        assert!(
            err.starts_with(&format!("error: {}: cannot read the scenario", path.display())),
            "{err}"
        );
        assert!(!out_dir.exists());
    }
}

#[test]
fn bad_policy_on_the_command_line_is_pointed_at() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "valid.toml", VALID);
    let out_dir = dir.path().join("out");
    let err = usage_error(&[
        "run",
        path.to_str().expect("UTF-8 path"),
        "--out",
        out_dir.to_str().expect("UTF-8 path"),
        "--policy",
        "ring(vnodez=3)",
    ]);
    assert!(err.starts_with("error: --policy \"ring(vnodez=3)\": "), "{err}");
    assert!(
        err.contains("unknown parameter \"vnodez\"") && err.contains("ring takes: vnodes"),
        "{err}"
    );
    // The specification is echoed with a caret under the unknown parameter.
    let lines: Vec<&str> = err.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.trim() == "ring(vnodez=3)")
        .unwrap_or_else(|| panic!("not echoed:\n{err}"));
    let caret = lines.get(i + 1).and_then(|l| l.find('^')).expect("caret line");
    assert_eq!(caret, lines[i].find("vnodez").expect("echoed"), "{err}");
    assert!(!out_dir.exists());
}

/// Every entry of a folder, by name, with its contents (files only).
fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut entries: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .expect("folder")
        .map(|e| {
            let path = e.expect("entry").path();
            let bytes = if path.is_file() {
                fs::read(&path).expect("readable")
            } else {
                Vec::new()
            };
            (path.file_name().expect("name").to_string_lossy().into_owned(), bytes)
        })
        .collect();
    entries.sort();
    entries
}

#[test]
fn existing_output_folder_needs_force() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "valid.toml", VALID);
    let out_dir = dir.path().join("out");
    fs::create_dir(&out_dir).expect("folder");
    fs::write(out_dir.join("keep.txt"), "earlier results").expect("written");
    let before = listing(dir.path());
    let run = |force: bool| {
        let mut args = vec![
            "run",
            path.to_str().expect("UTF-8 path"),
            "--out",
            out_dir.to_str().expect("UTF-8 path"),
            "--quiet",
        ];
        if force {
            args.push("--force");
        }
        lbsim(&args)
    };

    let out = run(false);
    let err = stderr(&out);
    assert_no_panic(&out);
    assert!(!out.status.success());
    assert!(err.contains("already exists") && err.contains("--force"), "{err}");
    assert_eq!(
        listing(&out_dir),
        vec![("keep.txt".to_string(), b"earlier results".to_vec())]
    );
    assert_eq!(listing(dir.path()), before, "nothing else written next to it");

    // --force replaces only a folder an earlier run wrote (it has run.json).
    let out = run(true);
    let err = stderr(&out);
    assert_no_panic(&out);
    assert!(!out.status.success());
    assert!(err.contains("not a run folder lbsim wrote"), "{err}");
    assert_eq!(
        listing(dir.path()),
        before,
        "a folder lbsim did not write is left alone"
    );

    fs::write(out_dir.join("run.json"), "{}").expect("written");
    let out = run(true);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!out_dir.join("keep.txt").exists(), "--force replaces an earlier run");
    assert!(out_dir.join("summary.csv").is_file() && out_dir.join("run.json").is_file());
}

#[test]
fn force_never_deletes_the_working_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "valid.toml", VALID);
    fs::write(dir.path().join("run.json"), "{}").expect("written");
    let before = listing(dir.path());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .current_dir(dir.path())
        .args([
            "run",
            path.to_str().expect("UTF-8 path"),
            "--out",
            ".",
            "--force",
            "--quiet",
        ])
        .output()
        .expect("lbsim runs");
    assert_no_panic(&out);
    assert!(!out.status.success());
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn failed_run_leaves_no_half_written_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "valid.toml", VALID);
    // The destination is a file, not a run folder: it is refused, even with --force.
    let target = dir.path().join("out");
    fs::write(&target, "not a folder").expect("written");
    let before = listing(dir.path());
    let out = lbsim(&[
        "run",
        path.to_str().expect("UTF-8 path"),
        "--out",
        target.to_str().expect("UTF-8 path"),
        "--force",
        "--quiet",
    ]);
    let err = stderr(&out);
    assert_no_panic(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(
        listing(dir.path()),
        before,
        "no scratch folder or partial results left behind"
    );

    // Nor when the destination's parent cannot be created.
    let nested = target.join("run");
    let out = lbsim(&[
        "run",
        path.to_str().expect("UTF-8 path"),
        "--out",
        nested.to_str().expect("UTF-8 path"),
        "--quiet",
    ]);
    assert_no_panic(&out);
    assert!(!out.status.success());
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn policy_error_after_an_escape_points_at_the_right_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Two escaped tabs, then an "é" just before the bad argument "b".
    let line = r#"policies = ["ring(\t\ta=é,b)"]"#;
    let (text, line_no) = with_line("policies", line);
    let path = write(&dir, "escaped.toml", &text);
    let err = usage_error(&["validate", path.to_str().expect("UTF-8 path")]);
    let col = line.chars().take_while(|&c| c != 'b').count() + 1;
    assert!(
        err.starts_with(&format!("error: {}:{line_no}:{col}: ", path.display())),
        "{err}"
    );
}

#[test]
fn overlapping_scripted_visits_do_not_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Four requests 30 s apart take 90 s; the second visit starts after 60 s.
    let text = VALID.to_string()
        + r#"
[[users]]
name = "twice"
address = "192.0.2.1"
visits = ["1m", "2m"]
requests = 4
"#;
    let path = write(&dir, "overlap.toml", &text);
    let out_dir = dir.path().join("out");
    let out = lbsim(&[
        "run",
        path.to_str().expect("UTF-8 path"),
        "--out",
        out_dir.to_str().expect("UTF-8 path"),
        "--quiet",
    ]);
    assert_no_panic(&out);
    // Either accepted and run, or rejected as bad input; never a crash.
    assert!(matches!(out.status.code(), Some(0 | 2)), "{}", stderr(&out));
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    // `lbsim ... | head -1`: the reader goes away before lbsim has written.
    for args in [&["policies"][..], &["validate", "scenarios/seed-example.toml"]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lbsim"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("lbsim starts");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("lbsim ends");
        assert_no_panic(&out);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn route_rejects_bad_servers_clients_and_policies_before_printing() {
    let base = ["route", "--policy", "ip_hash", "--servers", "a:1,b:2"];
    let with = |extra: &[&'static str]| [&base[..], extra].concat();

    let err = usage_error(&with(&["10.0.0.1", "10.0.0.300"]));
    assert!(err.contains("argument 2: invalid address \"10.0.0.300\""), "{err}");
    let out = lbsim(&with(&["10.0.0.1", "10.0.0.300"]));
    assert!(out.stdout.is_empty(), "nothing printed before every client is checked");

    let err = usage_error(&with(&["--weights", "1,2,3", "10.0.0.1"]));
    assert!(err.contains("--weights \"1,2,3\": 3 weights for 2 servers"), "{err}");
    let err = usage_error(&with(&["--down", "0,1", "10.0.0.1"]));
    assert!(err.contains("every server is down"), "{err}");

    let err = usage_error(&["route", "--policy", "ring(vnodes=0)", "--servers", "a:1", "10.0.0.1"]);
    assert!(err.contains("vnodes=0: expected a whole number from 1 to"), "{err}");
    assert!(
        err.contains("\n    ring(vnodes=0)\n                ^"),
        "the caret points at the value: {err}"
    );
    let err = usage_error(&["route", "--policy", "maglevv", "--servers", "a:1", "10.0.0.1"]);
    assert!(err.contains("valid policies: round_robin, "), "{err}");
}

#[test]
fn route_prints_one_line_per_client_from_arguments_or_stdin() {
    use std::io::Write;
    use std::process::Stdio;
    let args = [
        "route",
        "--policy",
        "ip_hash",
        "--servers",
        "a:1,b:2,c:3",
        "--down",
        "1",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"10.0.0.1\n\n2001:db8::1 443\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("10.0.0.1 ") && lines[1].starts_with("2001:db8::1 "),
        "{text}"
    );
    assert!(
        lines.iter().all(|l| !l.ends_with(" b:2")),
        "a down server is never picked: {text}"
    );
    let err = {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lbsim"))
            .args(args)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"10.0.0.1\nnot-an-ip\n").unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        String::from_utf8(out.stderr).unwrap()
    };
    assert!(err.contains("stdin 2: invalid address \"not-an-ip\""), "{err}");
}

#[test]
fn absurd_rates_are_pointed_at() {
    for (line, token) in [
        (r#"rate = 1e308"#, "1e308"),
        (r#"rate = "99999999999/s""#, r#""99999999999/s""#),
    ] {
        assert_rejected(
            "rate.toml",
            "rate",
            line,
            token,
            &["at most 1000000/s", "expected a rate"],
        );
    }
}

#[test]
fn runs_beyond_the_size_limits_are_refused_with_the_estimate_before_anything_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (huge, _) = with_line("rate", r#"rate = "500000/s""#);
    let path = write(&dir, "huge.toml", &huge);
    let valid = write(&dir, "valid.toml", VALID);
    let out = dir.path().join("out");
    let (p, v, o) = (path.to_str().unwrap(), valid.to_str().unwrap(), out.to_str().unwrap());
    let cases: [(Vec<&str>, &[&str]); 5] = [
        (
            vec!["validate", p],
            &["300.1 million users", "GiB of memory (limit 8.0 GiB)"],
        ),
        (vec!["run", p, "--out", o], &["300.1 million users", "--allow-large"]),
        (
            vec!["run", p, "--out", o, "--vary", "seed=1,2"],
            &["300.1 million users"],
        ),
        (
            vec!["plan", p, "--out", o, "--slo", "loss=1%"],
            &["with up to 64 servers", "300.1 million users"],
        ),
        // 600 users × ~10 requests × 2 policies per replication: a billion replications is too much work.
        (
            vec!["run", v, "--out", o, "--replications", "1000000000"],
            &["request routings (limit 5.0 billion)"],
        ),
    ];
    for (args, says) in cases {
        let started = std::time::Instant::now();
        let err = usage_error(&args);
        assert!(
            started.elapsed().as_secs() < 20,
            "{args:?} took {:?}",
            started.elapsed()
        );
        assert!(
            err.starts_with("error: ") && err.contains("this run is too large"),
            "{args:?}: {err}"
        );
        for s in says {
            assert!(err.contains(s), "{args:?}: no {s:?} in {err}");
        }
        assert!(!out.exists(), "{args:?} wrote {o}");
    }
}

#[test]
fn a_scenario_file_is_read_with_a_size_cap() {
    let started = std::time::Instant::now();
    let err = usage_error(&["validate", "/dev/zero"]);
    assert!(
        err.contains("/dev/zero: cannot read the scenario: larger than 1 MiB"),
        "{err}"
    );
    assert!(started.elapsed().as_secs() < 10);
    let dir = tempfile::tempdir().expect("temp dir");
    let big = write(&dir, "big.toml", &format!("{VALID}\n{}", "# padding\n".repeat(110_000)));
    let err = usage_error(&[
        "run",
        big.to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert!(err.contains("larger than 1 MiB"), "{err}");
}

#[test]
fn an_unwritable_output_folder_is_refused_before_the_run_naming_the_folder_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let valid = write(&dir, "valid.toml", VALID);
    let v = valid.to_str().unwrap();
    // A file where a parent folder should be, and a folder nobody may write in.
    write(&dir, "file", "");
    let under_file = dir.path().join("file/out");
    for out in ["/proc/lbsim-out", under_file.to_str().unwrap()] {
        for args in [
            vec!["run", v, "--out", out],
            vec!["run", v, "--out", out, "--vary", "seed=1,2"],
            vec!["plan", v, "--out", out, "--slo", "loss=1%"],
            vec!["replay", "/dev/null", "--scenario", v, "--out", out],
        ] {
            let started = std::time::Instant::now();
            let err = usage_error(&args);
            assert!(
                err.starts_with(&format!("error: {out}: cannot write the output folder there")),
                "{args:?}: {err}"
            );
            assert!(!err.contains("partial"), "{args:?} names an internal folder: {err}");
            assert!(started.elapsed().as_secs() < 10, "{args:?} ran before failing");
        }
    }
}

#[test]
fn a_wrong_type_is_named_in_words() {
    assert_rejected(
        "type.toml",
        "count",
        r#"count = "three""#,
        r#""three""#,
        &["expected a whole number"],
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let (text, _) = with_line("policies", r#"policies = ["ip_hsh"]"#);
    let path = write(&dir, "policy.toml", &text);
    let err = usage_error(&["validate", path.to_str().unwrap()]);
    assert!(
        err.contains(r#"unknown policy "ip_hsh" (did you mean "ip_hash"?)"#),
        "{err}"
    );
}

/// `VALID` with `line` added to its `[servers]` table (its last): rejected at
/// `token` on the last line added, with every `expected` phrase.
fn assert_server_line_rejected(line: &str, token: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!("{VALID}{line}\n");
    let line_no = text.lines().count();
    let last = line.lines().last().expect("a line");
    let col = last.find(token).expect("token on the line") + 1;
    let path = write(&dir, "servers.toml", &text);
    let err = usage_error(&["validate", path.to_str().expect("UTF-8 path")]);
    assert!(
        err.starts_with(&format!("error: {}:{line_no}:{col}: ", path.display())),
        "{err}"
    );
    for phrase in expected {
        assert!(err.contains(phrase), "no {phrase:?} in:\n{err}");
    }
}

#[test]
fn servers_that_differ_need_positive_speeds_and_workers_one_per_server() {
    assert_server_line_rejected("speeds = [1, 0, 2]", "[1, 0, 2]", &["expected a number greater than 0"]);
    assert_server_line_rejected(
        "worker_counts = [4, 0, 8]",
        "[4, 0, 8]",
        &["expected a whole number of at least 1"],
    );
    assert_server_line_rejected(
        "speeds = [1, 2]",
        "[1, 2]",
        &["2 speeds for 3 servers: give one per server"],
    );
    assert_server_line_rejected(
        "workers = 4\nworker_counts = [4, 4, 8]",
        "[4, 4, 8]",
        &["either servers.workers or servers.worker_counts"],
    );
}

#[test]
fn autoscaling_values_that_cannot_work_are_pointed_at() {
    // (the section's lines, the bad line's number in the file, its column, a phrase)
    let cases = [
        ("min = 3\nmax = 2\ntarget = 0.5", 14, 7, "below min"),
        ("min = 0\nmax = 4\ntarget = 0.5", 13, 7, "at least 1"),
        ("min = 1\nmax = 4\ntarget = 1.5", 15, 10, "(0, 1]"),
        ("min = 1\nmax = 4\ntarget = 0", 15, 10, "(0, 1]"),
        (
            "min = 1\nmax = 4\ntarget = 0.5\ndrain = \"1h\"",
            16,
            9,
            "not shorter than the run",
        ),
        (
            "min = 1\nmax = 4\ntarget = 0.5\nproduct = \"gke\"",
            16,
            11,
            "kubernetes-hpa",
        ),
        (
            "min = 1\nmax = 4\ntarget = 0.5\nmetric = \"cpu\"",
            16,
            10,
            "requests_per_server",
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for (section, line, col, phrase) in cases {
        let text = format!("{VALID}\n[autoscaling]\n{section}\n");
        assert_located(&dir, "autoscale.toml", &text, section, line, col, phrase);
    }
}

#[test]
fn slow_start_values_that_cannot_work_are_pointed_at() {
    // (the section's lines, the bad line's number in the file, its column, a phrase)
    let cases = [
        ("product = \"haproxy\"\nwindow = \"0s\"", 14, 10, "longer than 0"),
        ("product = \"squid\"\nwindow = \"1m\"", 13, 11, "haproxy"),
        (
            "product = \"haproxy\"\nwindow = \"1m\"\naggression = 2.0",
            15,
            14,
            "Envoy's",
        ),
        (
            "product = \"envoy\"\nwindow = \"1m\"\naggression = 0.0",
            15,
            14,
            "above 0",
        ),
        (
            "product = \"envoy\"\nwindow = \"1m\"\nmin_weight_percent = 120.0",
            15,
            22,
            "0 to 100",
        ),
        // nginx.ip_hash in the policies, which nginx will not combine with slow_start.
        ("product = \"nginx\"\nwindow = \"1m\"", 4, 14, "nginx refuses"),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for (section, line, col, phrase) in cases {
        let valid = VALID.replace("\"ip_hash\"", "\"nginx.ip_hash\"");
        let text = format!("{valid}\n[slow_start]\n{section}\n");
        assert_located(&dir, "slow-start.toml", &text, section, line, col, phrase);
    }
}

/// `[sessions]` appended to `VALID` with `line`; checks `validate` says where.
fn sessions_rejected(line: &str, token: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = VALID.to_string() + "[sessions]\n" + line + "\n";
    let line_no = text.lines().count();
    let path = write(&dir, "sessions.toml", &text);
    let err = usage_error(&["validate", path.to_str().expect("UTF-8 path")]);
    let col = line.find(token).expect("token on the line") + 1;
    assert!(
        err.starts_with(&format!("error: {}:{line_no}:{col}: ", path.display())),
        "{err}"
    );
    for phrase in expected {
        assert!(err.contains(phrase), "no {phrase:?} in:\n{err}");
    }
}

#[test]
fn connections_out_of_range_or_too_short_lived() {
    for n in ["0", "17"] {
        sessions_rejected(
            &format!("connections = {n}"),
            n,
            &["connections: expected a whole number from 1 to 16"],
        );
    }
    sessions_rejected(
        r#"connection_lifetime = { dist = "constant", value = "500ms" }"#,
        "{",
        &["connection_lifetime: a connection lives at least a second"],
    );
}

#[test]
fn per_connection_goes_outermost() {
    assert_rejected(
        "nested.toml",
        "policies",
        r#"policies = ["stick_table(base=per_connection(base=ring))"]"#,
        "per_connection",
        &["per_connection goes outermost: per_connection(base=stick_table(base=...))"],
    );
    assert_rejected(
        "conn.toml",
        "policies",
        r#"policies = ["per_connection(base=rign)"]"#,
        "rign",
        &["unknown policy \"rign\"", "ring, jump"],
    );
}

#[test]
fn tiers_that_cannot_work_are_pointed_at() {
    // (the section's lines, the bad line's number in the file, its column, a phrase)
    let event = |at: &str, action: &str, instance: &str| {
        format!("[[tiers.events]]\nat = \"{at}\"\naction = \"{action}\"\ninstance = \"{instance}\"")
    };
    let cases = [
        ("instances = 0".to_string(), 13, 13, "at least one instance"),
        ("instances = 2\nl4 = \"maglevv\"".to_string(), 14, 7, "unknown policy"),
        (
            format!("instances = 2\n{}", event("5m", "remove", "l7-3")),
            17,
            12,
            "unknown L7 instance \"l7-3\"; instances are: l7-1, l7-2",
        ),
        (
            format!("instances = 1\n{}", event("5m", "remove", "l7-1")),
            17,
            12,
            "no instance",
        ),
        (
            format!("instances = 2\n{}", event("5m", "add", "l7-2")),
            17,
            12,
            "already running",
        ),
        (
            format!(
                "instances = 3\n{}\n{}",
                event("3m", "remove", "l7-1"),
                event("2m", "remove", "l7-1")
            ),
            17,
            12,
            "not running then",
        ),
        (
            format!("instances = 2\n{}", event("20m", "add", "l7-3")),
            15,
            6,
            "before the end of the run",
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for (section, line, col, phrase) in cases {
        let text = format!("{VALID}\n[tiers]\n{section}\n");
        assert_located(&dir, "tiers.toml", &text, &section, line, col, phrase);
    }
}
