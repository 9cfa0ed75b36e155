//! `lbsim import` over a corpus of Envoy, Kubernetes and IPVS configurations
//! (tests/fixtures/import/): each imports to the scenario in NAME.expected.toml,
//! byte for byte, and that scenario loads; each bad one fails with the located
//! message in NAME.expected.err. A fixture's first `# args:` line gives the
//! command-line options. `LBSIM_BLESS=1` rewrites the expected files.
//!
//! The products cannot run here (no IPVS module, no Envoy binary), so the
//! imported scenarios are also routed through `lbsim route --scenario` and
//! checked against the test vectors lbsim's Envoy and IPVS models are built on.

use std::path::{Path, PathBuf};
use std::process::Command;

use lbsim::import::{self, Options, Product};
use lbsim::scenario::Scenario;
use xxhash_rust::xxh64::xxh64;

fn fixtures(product: &str) -> Vec<PathBuf> {
    let dir = Path::new("tests/fixtures/import").join(product);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            !name.contains(".expected.") && !name.ends_with(".slice.yaml")
        })
        .collect();
    files.sort();
    files
}

/// The options a fixture's `# args:` line asks for.
fn options(path: &Path, product: Product) -> Options {
    let text = std::fs::read_to_string(path).unwrap();
    let args: Vec<String> = text
        .lines()
        .find_map(|l| l.strip_prefix("# args: "))
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let mut o = Options {
        product: Some(product),
        ..Options::default()
    };
    let mut i = 0;
    while i < args.len() {
        let next = || args[i + 1].clone();
        match args[i].as_str() {
            "--cluster" | "--service" => o.section = Some(next()),
            "--endpoints" => o.endpoints = Some(next().parse().unwrap()),
            "--endpoint-slice" => o.endpoint_slice = Some(PathBuf::from(next())),
            "--kube-proxy" => o.kube_proxy = Some(next()),
            "--lenient" => {
                o.lenient = true;
                i += 1;
                continue;
            }
            other => panic!("{}: unknown fixture option {other}", path.display()),
        }
        i += 2;
    }
    o
}

fn expected(path: &Path, ext: &str) -> PathBuf {
    let name = path.file_stem().unwrap().to_str().unwrap();
    path.with_file_name(format!("{name}.expected.{ext}"))
}

/// Compares `got` with the file, or writes it when blessing.
fn compare(file: &Path, got: &str) {
    if std::env::var_os("LBSIM_BLESS").is_some() {
        std::fs::write(file, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(got, want, "{} differs", file.display());
}

/// Imports every fixture of `product`; returns (good, bad) counts.
fn corpus(product: Product, dir: &str) -> (usize, usize) {
    let (mut good, mut bad) = (0, 0);
    for path in fixtures(dir) {
        let bad_one = path.file_name().unwrap().to_str().unwrap().starts_with("bad-");
        match import::import(&path, &options(&path, product)) {
            Ok(i) => {
                assert!(!bad_one, "{} imported but should fail", path.display());
                let text = i.to_toml();
                Scenario::parse(&text, &path).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
                compare(&expected(&path, "toml"), &text);
                good += 1;
            }
            Err(e) => {
                assert!(bad_one, "{}: {e}", path.display());
                let text = format!("{e}\n");
                let located = format!("{}:", path.display());
                assert!(
                    text.starts_with(&located) || text.contains(".slice.yaml:"),
                    "{}: error names no place: {text}",
                    path.display()
                );
                compare(&expected(&path, "err"), &text);
                bad += 1;
            }
        }
    }
    (good, bad)
}

#[test]
fn envoy_corpus() {
    let (good, bad) = corpus(Product::Envoy, "envoy");
    assert!(good >= 20 && bad >= 10, "{good} good and {bad} bad fixtures");
}

#[test]
fn kubernetes_corpus() {
    let (good, bad) = corpus(Product::Kubernetes, "kubernetes");
    assert!(good >= 15 && bad >= 8, "{good} good and {bad} bad fixtures");
}

#[test]
fn ipvs_corpus() {
    let (good, bad) = corpus(Product::Ipvs, "ipvs");
    assert!(good >= 20 && bad >= 10, "{good} good and {bad} bad fixtures");
}

#[test]
fn errors_are_located_at_line_and_column() {
    for (file, place, message) in [
        ("envoy/bad-yaml-syntax.yaml", ":9:5:", "YAML:"),
        (
            "envoy/bad-unknown-lb-policy.yaml",
            ":3:12:",
            "unknown lb_policy \"LEAST_CONNECTION\"",
        ),
        (
            "envoy/bad-cluster-not-found.yaml",
            ":3:9:",
            "no cluster named \"checkout\"; the file has cart, search",
        ),
        ("envoy/bad-murmur.yaml", ":5:18:", "MURMUR_HASH_2"),
        ("envoy/bad-no-endpoints.yaml", ":5:3:", "has no endpoints"),
        ("kubernetes/bad-yaml-syntax.yaml", ":8:4:", "YAML:"),
        ("kubernetes/bad-no-endpoints.yaml", ":4:9:", "--endpoints N"),
        ("ipvs/bad-unknown-flag.rules", ":2:44:", "unknown option \"--bogus\""),
        ("ipvs/bad-no-servers.rules", ":1:1:", "no real servers"),
    ] {
        let path = Path::new("tests/fixtures/import").join(file);
        let product = Product::from_name(file.split('/').next().unwrap()).unwrap();
        let e = import::import(&path, &options(&path, product))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with(&format!("{}{place}", path.display())) && e.contains(message),
            "{e}"
        );
    }
    let path = Path::new("tests/fixtures/import/kubernetes/bad-slice-other-service.yaml");
    let e = import::import(path, &options(path, Product::Kubernetes))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("tests/fixtures/import/kubernetes/endpoint-slice.slice.yaml:7:33:")
            && e.contains("belongs to Service \"example\", not \"other\""),
        "{e}"
    );
}

#[test]
fn products_are_detected_from_the_files() {
    for (file, product) in [
        ("envoy/static-round-robin.yaml", Product::Envoy),
        ("envoy/bootstrap-ring-hash-source-ip.yaml", Product::Envoy),
        ("envoy/clusters-list.yaml", Product::Envoy),
        ("kubernetes/list.yaml", Product::Kubernetes),
        ("kubernetes/multi-document.yaml", Product::Kubernetes),
        ("ipvs/save-sh.rules", Product::Ipvs),
        ("ipvs/man-fwmark.rules", Product::Ipvs),
    ] {
        let text = std::fs::read_to_string(Path::new("tests/fixtures/import").join(file)).unwrap();
        assert_eq!(Product::detect(&text), Some(product), "{file}");
    }
}

/// `lbsim import` then `lbsim route --scenario` for these clients: "client server" lines.
fn route(fixture: &str, clients: &[String]) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("imported.toml");
    let lbsim = env!("CARGO_BIN_EXE_lbsim");
    let out = Command::new(lbsim)
        .args(["import", fixture, "--out"])
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(lbsim)
        .args(["route", "--scenario"])
        .arg(&scenario)
        .args(clients)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (c, s) = l.split_once(' ').unwrap();
            (c.to_string(), s.to_string())
        })
        .collect()
}

fn clients(n: u32) -> Vec<String> {
    (0..n).map(|i| format!("198.51.{}.{}", i / 200, i % 200 + 1)).collect()
}

#[test]
fn an_imported_ring_hash_cluster_routes_as_envoys_ring() {
    // ring_hash_lb_test.cc "Basic": the ring's 12 points (hash, host port), sorted.
    let ring: [(u64, u16); 12] = [
        (833437586790550860, 94),
        (928266305478181108, 92),
        (1033482794131418490, 90),
        (3551244743356806947, 95),
        (3851675632748031481, 93),
        (5583722120771150861, 91),
        (6311230543546372928, 91),
        (7700377290971790572, 93),
        (13144177310400110813, 95),
        (13444792449719432967, 92),
        (15516499411664133160, 94),
        (16117243373044804889, 90),
    ];
    let cs = clients(300);
    let picks = route("tests/fixtures/import/envoy/vectors-ring-basic.yaml", &cs);
    assert_eq!(picks.len(), cs.len());
    for (client, server) in picks {
        // A request hashes XXH64 of the address text and takes the first point at or after it.
        let h = xxh64(client.as_bytes(), 0);
        let port = ring.iter().find(|p| p.0 >= h).unwrap_or(&ring[0]).1;
        assert_eq!(server, format!("127.0.0.1:{port}"), "{client}");
    }
}

#[test]
fn an_imported_maglev_cluster_routes_as_envoys_table() {
    // maglev_lb_test.cc "Basic": the table of 7 slots over 127.0.0.1:90..95.
    let table = [92, 94, 90, 91, 95, 90, 93];
    let cs = clients(300);
    for (client, server) in route("tests/fixtures/import/envoy/vectors-maglev-basic.yaml", &cs) {
        let slot = (xxh64(client.as_bytes(), 0) % 7) as usize;
        assert_eq!(server, format!("127.0.0.1:{}", table[slot]), "{client}");
    }
}

#[test]
fn an_imported_sh_service_routes_as_the_kernel_table() {
    // The sh pick vectors (src/policy/ipvs/sh.rs): these clients, servers 10.0.0.1..3
    // added in that order, go to the 1st, 1st, 1st, 1st, 3rd, 2nd, 3rd, 2nd.
    let cs: Vec<String> = [
        "192.168.1.10",
        "10.1.2.3",
        "172.16.0.1",
        "8.8.8.8",
        "203.0.113.77",
        "127.0.0.1",
        "100.64.0.5",
        "1.2.3.4",
    ]
    .map(String::from)
    .to_vec();
    let picks: Vec<String> = route("tests/fixtures/import/ipvs/vectors-sh.rules", &cs)
        .into_iter()
        .map(|p| p.1)
        .collect();
    let want = [1, 1, 1, 1, 3, 2, 3, 2].map(|i| format!("10.0.0.{i}:80"));
    assert_eq!(picks, want);
}
