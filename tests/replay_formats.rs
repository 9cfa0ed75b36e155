//! `lbsim replay` of load balancers' and nginx's own log formats: AWS ALB and
//! classic ELB, HAProxy's httplog and nginx JSON, read from fixtures written
//! after each vendor's documented example lines. Each fixture holds one
//! malformed line, which must be reported by file, line and column.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flate2::Compression;
use flate2::write::GzEncoder;

const SCENARIO: &str = r#"
name = "formats"
seed = 3
policies = ["round_robin", "ip_hash", "ip_hash(key=prefix)"]

[servers]
count = 3
"#;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logs")
        .join(name)
}

fn lbsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(args)
        .output()
        .expect("lbsim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

struct Case {
    file: &'static str,
    format: &'static str,
    requests: u32,
    clients: u32,
    /// The malformed line's `LINE:COLUMN` and what is wrong with it.
    malformed: &'static str,
    why: &'static str,
}

const CASES: [Case; 4] = [
    Case {
        file: "alb.log",
        format: "alb",
        requests: 5,
        clients: 3,
        malformed: "5:109",
        why: "a processing time is not seconds or -1",
    },
    Case {
        file: "elb.log",
        format: "elb",
        requests: 4,
        clients: 3,
        malformed: "5:45",
        why: "client:port is not an IP address and a port",
    },
    Case {
        file: "haproxy.log",
        format: "haproxy",
        requests: 4,
        clients: 3,
        malformed: "5:105",
        why: "timers are not five numbers TR/Tw/Tc/Tr/Ta",
    },
    Case {
        file: "nginx.json.log",
        format: "nginx-json",
        requests: 4,
        clients: 3,
        malformed: "5:17",
        why: "the time is not $time_iso8601, $time_local or $msec",
    },
];

/// Replays `log` into `out` with `extra` flags; must succeed. Returns what it printed.
fn replay(log: &Path, scenario: &Path, out: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec!["replay", s(log), "--scenario", s(scenario), "--out", s(out)];
    args.extend_from_slice(extra);
    let run = lbsim(&args);
    assert!(run.status.success(), "{args:?}: {}", text(&run.stderr));
    (text(&run.stdout), text(&run.stderr))
}

fn refused(args: &[&str]) -> String {
    let run = lbsim(args);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn each_format_reads_told_or_detected_plain_or_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    fs::write(&scenario, SCENARIO).unwrap();
    for c in CASES {
        let log = fixture(c.file);
        let gz = dir.path().join(format!("{}.gz", c.file));
        let mut z = GzEncoder::new(Vec::new(), Compression::default());
        z.write_all(&fs::read(&log).unwrap()).unwrap();
        fs::write(&gz, z.finish().unwrap()).unwrap();
        let mut summaries = Vec::new();
        for (i, (file, extra)) in [(&log, vec!["--format", c.format]), (&log, vec![]), (&gz, vec![])]
            .into_iter()
            .enumerate()
        {
            let out = dir.path().join(format!("{}-{i}", c.format));
            let mut flags = extra.clone();
            flags.extend(["--no-report"]);
            let (stdout, stderr) = replay(file, &scenario, &out, &flags);
            assert!(stdout.contains(&format!("({} log format)", c.format)), "{stdout}");
            for line in [
                format!("  requests   {} over", c.requests),
                format!("  clients    {} (0 by host name)", c.clients),
                "  malformed  1 lines".to_string(),
            ] {
                assert!(stdout.contains(&line), "{}: no {line:?} in\n{stdout}", c.file);
            }
            let located = format!("warning: {}:{}: expected ", file.display(), c.malformed);
            assert!(stderr.contains(&located), "{}: no {located:?} in\n{stderr}", c.file);
            assert!(stderr.contains(&format!("({})", c.why)), "{stderr}");
            summaries.push(fs::read(out.join("summary.csv")).unwrap());
        }
        assert!(summaries.windows(2).all(|w| w[0] == w[1]), "{}", c.file);
    }
}

#[test]
fn json_keys_are_as_configured() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    fs::write(&scenario, SCENARIO).unwrap();
    let body = fs::read_to_string(fixture("nginx.json.log")).unwrap();
    let renamed = body
        .replace("\"remote_addr\"", "\"client\"")
        .replace("\"time_iso8601\"", "\"@timestamp\"")
        .replace("\"request\"", "\"req\"");
    let log = dir.path().join("renamed.log");
    fs::write(&log, renamed).unwrap();
    let keys = [
        "--json-client",
        "client",
        "--json-time",
        "@timestamp",
        "--json-request",
        "req",
    ];
    let out = dir.path().join("renamed");
    let (stdout, _) = replay(&log, &scenario, &out, &[&keys[..], &["--no-report"]].concat());
    assert!(stdout.contains("  requests   4 over"), "{stdout}");
    let plain = dir.path().join("plain");
    replay(&fixture("nginx.json.log"), &scenario, &plain, &["--no-report"]);
    assert_eq!(
        fs::read(out.join("summary.csv")).unwrap(),
        fs::read(plain.join("summary.csv")).unwrap()
    );
    // Without the keys, no line has a client: refused, located at the line.
    let err = refused(&[
        "replay",
        s(&log),
        "--scenario",
        s(&scenario),
        "--out",
        s(&dir.path().join("x")),
    ]);
    assert!(
        err.contains(&format!(
            "all 5 lines are malformed; the first is {}:1:1: expected an nginx JSON log line",
            log.display()
        )) && err.contains("(no client key (--json-client))"),
        "{err}"
    );
}

const BOTH: &str = r#"http 2018-07-02T22:23:00.186641Z app/lb/50dc 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET / HTTP/1.1" "x: 10.0.1.2:5 [06/Feb/2009:12:14:14.655] fe be/s 1/2/3/4/5 200 1 - - ---- 1/1/1/1/0 0/0 "GET /""#;

#[test]
fn a_log_of_no_known_format_is_read_as_common_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    fs::write(&scenario, SCENARIO).unwrap();
    let log = dir.path().join("odd.log");
    fs::write(&log, "GET / HTTP/1.1\n\nGET /x HTTP/1.1\n").unwrap();
    let out = dir.path().join("out");
    let err = refused(&["replay", s(&log), "--scenario", s(&scenario), "--out", s(&out)]);
    assert!(
        err.contains(&format!(
            "all 2 lines are malformed; the first is {}:1: expected Common Log Format",
            log.display()
        )),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");
    // A line that fits two formats (an ALB line whose user agent holds an
    // HAProxy line) cannot tell which.
    let both = dir.path().join("both.log");
    fs::write(&both, format!("\n{BOTH}\n")).unwrap();
    let err = refused(&["replay", s(&both), "--scenario", s(&scenario), "--out", s(&out)]);
    assert!(
        err.contains(&format!(
            "{}:2: cannot tell the log's format: the line fits alb and haproxy; give --format",
            both.display()
        )),
        "{err}"
    );
    let (stdout, _) = replay(
        &both,
        &scenario,
        &dir.path().join("told"),
        &["--format", "haproxy", "--no-report"],
    );
    assert!(stdout.contains("  clients    1 (0 by host name)"), "{stdout}");
    // Told the wrong format, every line is malformed and the first is located.
    let alb = fixture("haproxy.log");
    let err = refused(&[
        "replay",
        s(&alb),
        "--format",
        "alb",
        "--scenario",
        s(&scenario),
        "--out",
        s(&out),
    ]);
    assert!(
        err.contains(&format!(
            "the first is {}:1:1: expected an AWS ALB log line",
            alb.display()
        )),
        "{err}"
    );
}
