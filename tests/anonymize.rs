//! `lbsim anonymize`: every client of a log replaced by its Crypto-PAn image (a
//! host name by its keyed address), prefix structure kept, and a replay of the
//! anonymised log routing as a replay of the original does wherever routing
//! depends on which clients share a network rather than on the addresses
//! themselves.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/logs/sample.key");

/// Four servers, one failing for 20 minutes an hour in; policies whose choices
/// depend only on which requests share a client or a network, and on their order.
const SCENARIO: &str = r#"
name = "anon"
seed = 5
replications = 2
policies = [
  "round_robin",
  "stick_table(base=round_robin, expire=20m)",
  "ipvs.persistence(netmask=24, netmask6=64, timeout=1800)",
]

[sessions]
state_ttl = "20m"

[servers]
count = 4

[[events]]
at = "1h"
action = "fail"
server = "s2"
for = "20m"
"#;

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

fn ok(args: &[&str]) -> Output {
    let run = lbsim(args);
    assert!(run.status.success(), "{args:?}: {}", text(&run.stderr));
    run
}

/// Clients in networks: 8 IPv4 /24s of 5 hosts, 4 IPv6 /64s of 3, and 10 host
/// names; three hours of visits in bursts, in Common Log Format.
fn log() -> (String, Vec<String>) {
    let mut clients = Vec::new();
    for net in 0..8 {
        for host in 0..5 {
            clients.push(format!("198.51.{}.{}", 10 + net * 3, 7 + host * 40));
        }
    }
    for net in 0..4 {
        for host in 0..3 {
            clients.push(format!(
                "2001:db8:{:x}:{:x}::{:x}",
                0x10 + net,
                net * 7,
                1 + host * 0x100
            ));
        }
    }
    for n in 0..10 {
        clients.push(format!("dialup-{n}.isp.example"));
    }
    let mut lines = Vec::new();
    let mut state = 12345u64;
    let mut next = |m: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % m
    };
    let mut requests = Vec::new();
    for i in 0..clients.len() {
        let mut t = next(1800);
        for _visit in 0..3 {
            for _ in 0..(2 + next(6)) {
                requests.push((t, i));
                t += 5 + next(60);
            }
            t += 1500 + next(3000);
        }
    }
    requests.sort();
    for (t, i) in requests {
        lines.push(format!(
            "{} - - [10/Mar/2024:{:02}:{:02}:{:02} +0000] \"GET /p{} HTTP/1.1\" 200 {}",
            clients[i],
            t / 3600,
            t / 60 % 60,
            t % 60,
            t % 7,
            100 + t % 900
        ));
    }
    (lines.join("\n") + "\n", clients)
}

fn client_of(line: &str) -> &str {
    line.split(' ').next().unwrap()
}

/// Length of the common prefix of two addresses of one family.
fn common_bits(a: IpAddr, b: IpAddr) -> Option<u32> {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => Some((u32::from(x) ^ u32::from(y)).leading_zeros()),
        (IpAddr::V6(x), IpAddr::V6(y)) => Some((u128::from(x) ^ u128::from(y)).leading_zeros()),
        _ => None,
    }
}

#[test]
fn anonymised_log_keeps_prefixes_and_routes_as_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let (body, clients) = log();
    let original = dir.path().join("access.log");
    fs::write(&original, &body).unwrap();
    let anon = dir.path().join("anon.log.gz");
    let run = ok(&["anonymize", s(&original), "--key-file", KEY, "--out", s(&anon)]);
    let said = text(&run.stderr);
    assert!(
        said.contains("62 clients replaced, 0 malformed lines left out"),
        "{said}"
    );
    assert!(!said.contains("key:"), "a given key is not printed: {said}");

    let mut anon_body = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(fs::File::open(&anon).unwrap()),
        &mut anon_body,
    )
    .unwrap();
    for c in &clients {
        assert!(!anon_body.contains(c.as_str()), "{c} is still in the anonymised log");
    }
    // Line for line, only the client differs; one stand-in per client.
    let mut map = BTreeMap::new();
    assert_eq!(body.lines().count(), anon_body.lines().count());
    for (a, b) in body.lines().zip(anon_body.lines()) {
        let (ca, cb) = (client_of(a), client_of(b));
        assert_eq!(&a[ca.len()..], &b[cb.len()..]);
        assert_eq!(*map.entry(ca.to_string()).or_insert(cb.to_string()), cb);
    }
    let stand_ins: BTreeSet<&String> = map.values().collect();
    assert_eq!((map.len(), stand_ins.len()), (clients.len(), clients.len()));
    // Prefixes: any two addresses share exactly as many leading bits as before.
    let addresses: Vec<(IpAddr, IpAddr)> = map
        .iter()
        .filter_map(|(a, b)| Some((a.parse().ok()?, b.parse().unwrap())))
        .collect();
    assert_eq!(addresses.len(), 52);
    let mut same_24_or_64 = 0;
    for (i, &(a, x)) in addresses.iter().enumerate() {
        for &(b, y) in &addresses[i + 1..] {
            assert_eq!(common_bits(a, b), common_bits(x, y), "{a} {b} -> {x} {y}");
            let width = if a.is_ipv4() { 24 } else { 64 };
            same_24_or_64 += usize::from(common_bits(a, b).is_some_and(|n| n >= width));
        }
    }
    assert_eq!(same_24_or_64, 8 * 10 + 4 * 3, "pairs within a /24 or a /64");
    // Host names became the addresses a replay under the key gives them.
    for n in 0..10 {
        let stand_in: IpAddr = map[&format!("dialup-{n}.isp.example")].parse().unwrap();
        assert!(
            matches!(stand_in, IpAddr::V4(v4) if v4.octets()[0] >= 240),
            "{stand_in}"
        );
    }

    let scenario = dir.path().join("anon.toml");
    fs::write(&scenario, SCENARIO).unwrap();
    let summary = |log: &Path, out: &str| {
        let out = dir.path().join(out);
        ok(&[
            "replay",
            s(log),
            "--scenario",
            s(&scenario),
            "--out",
            s(&out),
            "--key-file",
            KEY,
            "--quiet",
            "--no-report",
        ]);
        fs::read_to_string(out.join("summary.csv")).unwrap()
    };
    // Every figure agrees; only the checksum of the request stream, which covers
    // the addresses, differs.
    let (before, after) = (summary(&original, "original"), summary(&anon, "anonymised"));
    let figures =
        |csv: &str| -> Vec<String> { csv.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect() };
    assert!(before.lines().next().unwrap().ends_with(",stream_checksum"));
    assert_eq!(figures(&before), figures(&after));
    assert_ne!(before, after);
    assert_eq!(before.lines().count(), 7, "{before}");
}

#[test]
fn a_made_key_is_printed_once_and_reproduces_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (body, _) = log();
    let original = dir.path().join("access.log");
    fs::write(&original, body).unwrap();
    let run = ok(&["anonymize", s(&original)]);
    let said = text(&run.stderr);
    let key = said
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .expect("the key is printed");
    assert_eq!(said.matches(key).count(), 1);
    assert!(!text(&run.stdout).contains(key));
    let key_file = dir.path().join("k");
    fs::write(&key_file, format!("{key}\n")).unwrap();
    let again = ok(&["anonymize", s(&original), "--key-file", s(&key_file)]);
    assert_eq!(again.stdout, run.stdout);
    let other = ok(&["anonymize", s(&original)]);
    assert_ne!(other.stdout, run.stdout, "another key, another log");
}

#[test]
fn bad_input_is_located_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (body, _) = log();
    let original = dir.path().join("access.log");
    fs::write(&original, format!("{body}not a line\n")).unwrap();
    let out = dir.path().join("out.log");
    let bad_key = dir.path().join("bad.key");
    fs::write(
        &bad_key,
        "1522178d33a4cf80130a5b1649907d10d8988f837979652762574c2d2a84220\n",
    )
    .unwrap();
    let refused = |args: &[&str]| {
        let run = lbsim(args);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", text(&run.stderr));
        text(&run.stderr)
    };
    let err = refused(&["anonymize", s(&original), "--key-file", s(&bad_key), "--out", s(&out)]);
    assert!(
        err.contains(&format!(
            "error: {}: expected a key of 64 hexadecimal digits",
            bad_key.display()
        )),
        "{err}"
    );
    fs::write(
        &bad_key,
        "1522178d33a4cf80130a5b1649907d10d8988f837979652762574c2d2a84220x\n",
    )
    .unwrap();
    let err = refused(&["anonymize", s(&original), "--key-file", s(&bad_key), "--out", s(&out)]);
    assert!(
        err.contains(&format!("error: {}:1:64: expected a key", bad_key.display())),
        "{err}"
    );
    let nothing = dir.path().join("nothing.log");
    fs::write(&nothing, "not a line\n").unwrap();
    let err = refused(&["anonymize", s(&nothing), "--key-file", KEY, "--out", s(&out)]);
    assert!(err.contains("no valid line: all 1 lines are malformed"), "{err}");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        3,
        "nothing written beside the log"
    );
    // A malformed line is left out, located.
    let run = ok(&["anonymize", s(&original), "--key-file", KEY, "--out", s(&out)]);
    let lines = body.lines().count() + 1;
    assert!(
        text(&run.stderr).contains(&format!(
            "warning: {}:{lines}: expected Common Log Format: HOST IDENT USER [TIME] \"REQUEST\" STATUS BYTES (no [TIME]) (left out)",
            original.display()
        )),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(fs::read_to_string(&out).unwrap().lines().count(), lines - 1);
}

/// Each format's fixture anonymises to a log of the same format with the same
/// requests; JSON values keep their quotes, CSV its header.
#[test]
fn every_format_anonymises_in_its_own_form() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs");
    let csv = dir.path().join("log.csv");
    fs::write(
        &csv,
        "status,client,time\n200,203.0.113.9,2024-03-10T13:02:07Z\n200,host.example,1710075800\n",
    )
    .unwrap();
    let files: Vec<PathBuf> = ["alb.log", "elb.log", "haproxy.log", "nginx.json.log"]
        .iter()
        .map(|f| fixtures.join(f))
        .chain([csv])
        .collect();
    for (i, file) in files.iter().enumerate() {
        let out = dir.path().join(format!("anon-{i}"));
        let run = ok(&["anonymize", s(file), "--key-file", KEY, "--out", s(&out)]);
        let said = text(&run.stderr);
        let written = fs::read_to_string(&out).unwrap();
        for original in [
            "192.168.131.39",
            "10.0.1.2",
            "203.0.113.7",
            "203.0.113.9",
            "host.example",
            "2001:db8::5",
        ] {
            assert!(
                !written.contains(original),
                "{}: {original} in {written}",
                file.display()
            );
        }
        // The anonymised log replays as the same format with the same counts.
        let scenario = dir.path().join("s.toml");
        fs::write(&scenario, "policies = [\"round_robin\"]\n[servers]\ncount = 2\n").unwrap();
        let replays: Vec<String> = [file, &out]
            .iter()
            .enumerate()
            .map(|(j, log)| {
                let dest = dir.path().join(format!("r-{i}-{j}"));
                let run = ok(&[
                    "replay",
                    s(log),
                    "--scenario",
                    s(&scenario),
                    "--out",
                    s(&dest),
                    "--key-file",
                    KEY,
                    "--no-report",
                ]);
                let stdout = text(&run.stdout);
                let requests = stdout.lines().find(|l| l.contains("requests ")).unwrap().to_string();
                let format = stdout.lines().next().unwrap().rsplit('(').next().unwrap().to_string();
                format!("{format} {requests}")
            })
            .collect();
        assert_eq!(replays[0], replays[1], "{}: {said}", file.display());
    }
}
