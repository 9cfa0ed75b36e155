//! The report of a run: every chart is a valid PNG and SVG of a sensible size,
//! report.html holds every chart inline and nothing from outside the file, the
//! same folder gives the same bytes, and a folder lbsim did not write is refused
//! with exit code 2, naming it.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// Two hours with waiting lines (so latency and utilisation are measured), a
/// server failing and coming back, one joining, and two replications.
const QUEUEING: &str = r#"
name = "report-test"
seed = 3
duration = "2h"
window = "10m"
replications = 2
policies = ["round_robin", "ip_hash", "ring(vnodes=50)", "cookie(base=least_conn)"]

[arrivals]
rate = "0.3/s"

[[networks]]
kind = "mobile"
share = 0.5
switch_rate = "2/h"

[[networks]]
kind = "home"
share = 0.5

[servers]
count = 3
workers = 2
service = { dist = "lognormal", median = "80ms", sigma = 0.5 }
queue_limit = 20

[[events]]
at = "30m"
action = "fail"
server = "s2"
for = "20m"

[[events]]
at = "1h30m"
action = "add"
"#;

/// A pure routing study: no latency measured, so no latency charts.
const NO_QUEUEING: &str = r#"
name = "report-plain"
duration = "1h"
window = "15m"
policies = ["ip_hash", "cookie"]

[arrivals]
rate = "0.5/s"

[servers]
count = 2
queueing = false
"#;

const ALWAYS: [&str; 5] = [
    "sessions_lost_over_time",
    "losses_by_cause",
    "imbalance_over_time",
    "server_load",
    "server_load_busiest_window",
];
const WITH_LATENCY: [&str; 2] = ["latency_p99_over_time", "server_utilisation"];

fn lbsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(args)
        .output()
        .expect("lbsim runs")
}

/// Runs `scenario` into `dir/out` and returns the output folder.
fn run(dir: &Path, scenario: &str, extra: &[&str]) -> std::path::PathBuf {
    let file = dir.join("scenario.toml");
    fs::write(&file, scenario).unwrap();
    let out = dir.join("out");
    let mut args = vec!["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(extra);
    let done = lbsim(&args);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    out
}

/// Width and height from a PNG's signature and IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 33, "too short for a PNG");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "IHDR first");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Checks that `svg` is one well-nested <svg> element and returns its size.
fn svg_size(svg: &str) -> (u32, u32) {
    let svg = svg.trim();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "one <svg> element");
    let mut open: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>').expect("every tag closes");
        let tag = &rest[start + 1..end];
        let name = |t: &str| {
            t.split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap()
                .to_string()
        };
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(open.pop().map(name), Some(name(closing)), "tags nest");
        } else if !tag.ends_with('/') {
            open.push(tag);
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    let attr = |a: &str| -> u32 {
        let at = svg.find(&format!(" {a}=\"")).expect(a) + a.len() + 3;
        svg[at..at + svg[at..].find('"').unwrap()]
            .parse()
            .expect("a whole number")
    };
    (attr("width"), attr("height"))
}

fn check_charts(out: &Path, names: &[&str]) {
    let mut written: Vec<String> = fs::read_dir(out.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut want: Vec<String> = names
        .iter()
        .flat_map(|n| [format!("{n}.png"), format!("{n}.svg")])
        .collect();
    want.sort();
    assert_eq!(written, want);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    for name in names {
        let (w, h) = png_size(&fs::read(out.join(format!("charts/{name}.png"))).unwrap());
        assert!(
            (600..=4000).contains(&w) && (200..=4000).contains(&h),
            "{name}.png is {w}×{h}"
        );
        let svg = fs::read_to_string(out.join(format!("charts/{name}.svg"))).unwrap();
        assert_eq!(svg_size(&svg), (w, h), "{name}: SVG and PNG have one size");
        assert!(
            svg.matches("<text").count() >= 5,
            "{name}.svg has a title, labels and a legend"
        );
        assert!(
            html.contains(&format!("<figure id=\"{name}\">")),
            "report.html shows {name}"
        );
    }
    assert_eq!(html.matches("<svg").count(), names.len(), "every chart inline, once");
    for outside in ["http://", "https://", " src=", " href=", "<script", "<link"] {
        assert!(!html.contains(outside), "report.html refers outside itself: {outside}");
    }
}

#[test]
fn every_chart_is_a_valid_png_and_svg_and_the_page_holds_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), QUEUEING, &[]);
    let names: Vec<&str> = ALWAYS.iter().chain(&WITH_LATENCY).copied().collect();
    check_charts(&out, &names);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    for policy in ["round_robin", "ip_hash", "ring(vnodes=50)", "cookie(base=least_conn)"] {
        assert!(html.contains(policy), "{policy} in report.html");
    }
    assert!(html.contains("report-test"), "the scenario's name");
    // Two replications: mean ± half-width, and a verdict per policy.
    assert!(html.contains(" ± "), "confidence half-widths");
    assert_eq!(html.matches("<li><b>").count(), 4, "one verdict per policy");
    assert!(html.contains("round_robin</b> loses "), "verdicts say what is lost");
}

#[test]
fn without_waiting_lines_there_are_no_latency_charts() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), NO_QUEUEING, &[]);
    check_charts(&out, &ALWAYS);
}

#[test]
fn the_same_folder_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), QUEUEING, &[]);
    let read = |out: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(out.join("charts"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.push(("report.html".into(), fs::read(out.join("report.html")).unwrap()));
        files.sort();
        files
    };
    let first = read(&out);
    let again = lbsim(&["report", out.to_str().unwrap()]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(read(&out), first, "lbsim report rewrote other bytes");
    let leftovers: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .chain(fs::read_dir(out.join("charts")).unwrap())
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn no_report_writes_only_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), NO_QUEUEING, &["--no-report"]);
    assert!(!out.join("report.html").exists() && !out.join("charts").exists());
    let made = lbsim(&["report", out.to_str().unwrap()]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    check_charts(&out, &ALWAYS);
}

#[test]
fn a_run_from_before_server_windows_csv_still_gets_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), NO_QUEUEING, &["--no-report"]);
    fs::remove_file(out.join("server_windows.csv")).unwrap();
    let made = lbsim(&["report", out.to_str().unwrap()]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    check_charts(&out, &ALWAYS[..4]);
}

#[test]
fn a_folder_lbsim_did_not_write_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-run");
    let stranger = dir.path().join("stranger");
    fs::create_dir(&stranger).unwrap();
    fs::write(stranger.join("notes.txt"), "not a run").unwrap();
    let partial = dir.path().join("partial");
    fs::create_dir(&partial).unwrap();
    fs::write(partial.join("run.json"), "{}").unwrap();
    for bad in [&missing, &stranger, &partial] {
        let out = lbsim(&["report", bad.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", bad.display());
        assert!(err.contains(bad.to_str().unwrap()), "the error names the folder: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!bad.join("report.html").exists() && !bad.join("charts").exists());
    }
}
