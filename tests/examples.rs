//! Every example a user is shown runs: the lines under "Example:" in each
//! subcommand's `--help`, and the `lbsim` command lines of README.md's ```sh
//! blocks, in order, as a newcomer would type them in a clean clone.
//!
//! A README line is an example when, after an optional `$ ` prompt, it starts
//! with `lbsim ` or `cargo run --release -- ` (run as `lbsim `), or is a `for`
//! loop over `lbsim`. Lines of other programs are not: `ipvsadm -Sn` needs root
//! and a kernel with IPVS, `scripts/slurm-sweep.sh` and `.ci/slurm-cluster` a
//! Slurm cluster (tests/slurm.rs runs them), `python3`/`jupyter` the notebooks'
//! packages (notebooks/run runs them), and `cargo test` is this. Each line runs in
//! `sh` in a fresh folder holding the repository's scenarios/ and tests/, with the
//! built lbsim first on PATH, and must succeed. Release builds only: the examples
//! simulate full days.
#![cfg(not(debug_assertions))]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh folder as a clean clone looks to the examples: scenarios/ and tests/.
fn clean_clone() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["scenarios", "tests"] {
        std::os::unix::fs::symlink(repo().join(sub), dir.path().join(sub)).unwrap();
    }
    dir
}

fn lbsim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lbsim")).args(args).output().unwrap();
    assert!(out.status.success(), "lbsim {args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `line` in `sh` in `dir`, failing the test with its output if it fails.
fn run(dir: &Path, line: &str, from: &str) {
    let bin = Path::new(env!("CARGO_BIN_EXE_lbsim")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("sh")
        .args(["-c", line])
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{from}: `{line}` failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The command lines of README.md's ```sh blocks.
fn readme_examples(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        let line = line.strip_prefix("$ ").unwrap_or(line);
        if !in_sh {
            continue;
        }
        if let Some(rest) = line.strip_prefix("cargo run --release -- ") {
            lines.push(format!("lbsim {rest}"));
        } else if line.starts_with("lbsim ") || (line.starts_with("for ") && line.contains(" lbsim ")) {
            lines.push(line.to_string());
        }
    }
    lines
}

/// The lines under "Example:" or "Examples:" of one help text.
fn help_examples(help: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if line == "Example:" || line == "Examples:" {
            inside = true;
        } else if inside && line.starts_with("  ") {
            let line = line.trim();
            // clap wraps long lines: a line that starts no command continues the last.
            match lines.last_mut() {
                Some(last) if !line.starts_with("lbsim ") && !line.starts_with("for ") => {
                    last.push(' ');
                    last.push_str(line);
                }
                _ => lines.push(line.to_string()),
            }
        } else {
            inside = false;
        }
    }
    lines
}

/// The subcommands `lbsim --help` lists.
fn subcommands() -> Vec<String> {
    let help = lbsim(&["--help"]);
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

#[test]
fn every_help_example_runs() {
    let mut count = 0;
    for command in subcommands() {
        let examples = help_examples(&lbsim(&[&command, "--help"]));
        let dir = clean_clone();
        for line in &examples {
            run(dir.path(), line, &format!("lbsim {command} --help"));
        }
        count += examples.len();
    }
    // run, merge, replay, plan, report, route and import show examples.
    assert!(count >= 12, "only {count} help examples found");
}

#[test]
fn every_readme_example_runs_in_a_clean_clone() {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let examples = readme_examples(&text);
    assert!(
        examples.len() >= 12,
        "only {} README examples found: {examples:?}",
        examples.len()
    );
    let dir = clean_clone();
    for line in &examples {
        run(dir.path(), line, "README.md");
    }
}

#[test]
fn examples_are_found_as_the_reader_sees_them() {
    let readme = "text\n```sh\n$ lbsim run a.toml\nnot a command\ncargo run --release -- plan b.toml\n```\n\
                  ```toml\nlbsim = 1\n```\n```sh\nfor k in 1 2; do lbsim run c.toml; done\nsudo x\n```\n";
    assert_eq!(
        readme_examples(readme),
        [
            "lbsim run a.toml",
            "lbsim plan b.toml",
            "for k in 1 2; do lbsim run c.toml; done"
        ]
    );
    let help = "Usage: x\n\nExamples:\n  lbsim a\n  lbsim b --long\n  value\n\nOptions:\n  --x\n";
    assert_eq!(help_examples(help), ["lbsim a", "lbsim b --long value"]);
}
