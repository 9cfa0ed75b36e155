//! `lbsim import` over a corpus of nginx and HAProxy configurations written
//! from the products' documentation: each good one must print exactly the
//! scenario beside it (`NAME.expected.toml`), which must load and validate;
//! each bad one (`bad-*`) must exit with code 2 and exactly the error beside it
//! (`NAME.expected.err`), located at file:line:col wherever there is a place.
//!
//! A fixture's flags are on a comment line `# flags: ...`. `LBSIM_BLESS=1 cargo
//! test --test import_fixtures` rewrites the expected files after a deliberate
//! change (then read the diff).

use std::path::Path;
use std::process::{Command, Output};

use lbsim::scenario::Scenario;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import");

/// The fixtures of `product` with extension `ext`, sorted.
fn fixtures(product: &str, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(ROOT).join(product))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    names.sort();
    names
}

fn flags(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("# flags:"))
        .flat_map(|f| f.split_whitespace().map(str::to_string))
        .collect()
}

/// Runs `lbsim import PRODUCT/FILE --print FLAGS` from the fixtures folder, so
/// that the paths in the output are short and the same on every machine.
fn import(relative: &str) -> Output {
    let text = std::fs::read_to_string(Path::new(ROOT).join(relative)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .current_dir(ROOT)
        .args(["import", relative, "--print"])
        .args(flags(&text))
        .output()
        .expect("run lbsim import")
}

/// Compares `got` with the expected file, or writes it when blessing.
fn expect(expected: &Path, got: &str) -> Result<(), String> {
    if std::env::var_os("LBSIM_BLESS").is_some() {
        std::fs::write(expected, got).unwrap();
        return Ok(());
    }
    let want = std::fs::read_to_string(expected).map_err(|e| format!("{}: {e}", expected.display()))?;
    if want == got {
        Ok(())
    } else {
        Err(format!("{} differs; got:\n{got}", expected.display()))
    }
}

/// Checks every fixture of `product`; returns the number of good and bad ones.
fn check(product: &str, ext: &str) -> (usize, usize) {
    let (mut good, mut bad, mut failures) = (0, 0, Vec::new());
    for name in fixtures(product, ext) {
        let relative = format!("{product}/{name}");
        let stem = name.strip_suffix(ext).unwrap();
        let out = import(&relative);
        let (stdout, stderr) = (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        );
        let result = if stem.starts_with("bad-") {
            bad += 1;
            let expected = Path::new(ROOT).join(product).join(format!("{stem}.expected.err"));
            let whole = stem.contains("not-found") || stem.contains("several");
            let located = stderr
                .strip_prefix(&format!("error: {relative}:"))
                .and_then(|rest| rest.split_once(": "))
                .is_some_and(|(place, _)| {
                    place.split(':').count() == 2 && place.split(':').all(|n| n.parse::<usize>().is_ok())
                });
            if out.status.code() != Some(2) {
                Err(format!(
                    "{relative}: exit {:?}, expected 2\n{stderr}",
                    out.status.code()
                ))
            } else if !stdout.is_empty() {
                Err(format!("{relative}: printed a scenario despite the error"))
            } else if !whole && !located {
                Err(format!(
                    "{relative}: the error is not located at file:line:col\n{stderr}"
                ))
            } else {
                expect(&expected, &stderr)
            }
        } else {
            good += 1;
            let expected = Path::new(ROOT).join(product).join(format!("{stem}.expected.toml"));
            let warned = stdout.contains("# Warnings (--lenient)");
            if !out.status.success() {
                Err(format!("{relative}: failed\n{stderr}"))
            } else if warned != stderr.contains("warning: ") {
                Err(format!(
                    "{relative}: the header's warnings and the terminal's disagree\n{stderr}"
                ))
            } else if let Err(e) = Scenario::parse(&stdout, Path::new("imported.toml")) {
                Err(format!("{relative}: the scenario does not load: {e}\n{stdout}"))
            } else {
                expect(&expected, &stdout)
            }
        };
        if let Err(e) = result {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixtures failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    (good, bad)
}

#[test]
fn nginx_fixtures() {
    let (good, bad) = check("nginx", ".conf");
    eprintln!("nginx: {good} configurations imported, {bad} refused as expected");
    assert!(good >= 20 && bad >= 10, "{good} good and {bad} bad fixtures");
}

#[test]
fn haproxy_fixtures() {
    let (good, bad) = check("haproxy", ".cfg");
    eprintln!("haproxy: {good} configurations imported, {bad} refused as expected");
    assert!(good >= 20 && bad >= 10, "{good} good and {bad} bad fixtures");
}

#[test]
fn a_scenario_written_to_a_file_is_not_replaced_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("api.toml");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lbsim"))
            .current_dir(ROOT)
            .args(["import", "nginx/several-upstreams.conf", "--upstream", "api", "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(run(&[]).status.success());
    let again = run(&[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert!(run(&["--force"]).status.success());
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains("policies = [\"nginx.ip_hash\"]"), "{written}");
    Scenario::parse(&written, &out).unwrap();
}
