//! `lbsim import` against HAProxy itself: configurations as operators write them
//! (defaults sections, default-server, weights, `disabled`, backups, ids,
//! several backends) have their server addresses rewritten to loopback
//! backends, keeping every name, weight and flag; the real HAProxy runs the
//! rewritten file behind a frontend the test adds, lbsim imports that same file,
//! and `lbsim route --scenario` must predict the server of every request.
//!
//! HAProxy hashes server ids and positions, never addresses, so the rewrite
//! changes nothing the picks depend on: the check tests that the importer reads
//! the right section, applies its defaults, keeps the active servers in order
//! with their weights and states, leaves backups out, and chooses the policy and
//! its parameters (map-based or consistent, avalanche, key, ids) as HAProxy does.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::process::Command;

use support::{Backend, Running};

/// Requests per case, each from its own source address.
const CLIENTS: usize = 300;

/// A configuration and the backend the test's frontend sends requests to.
struct Case {
    backend: &'static str,
    /// `tcp` or `http`: the frontend's mode, which must be the backend's.
    mode: &'static str,
    text: &'static str,
}

const DEFAULTS: &str = "
global
    maxconn 1000

defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
";

const CASES: &[Case] = &[
    Case {
        backend: "app",
        mode: "tcp",
        text: "
backend app
    mode tcp
    balance source
    default-server weight 2 check inter 2s
    server a 10.41.0.1:80 weight 4
    server b 10.41.0.2:80 disabled    # in maintenance
    server c 10.41.0.3:80 weight 8
    server sorry 10.41.0.9:80 backup
    server d 10.41.0.4:80 weight 12
    server e 10.41.0.5:80
",
    },
    Case {
        backend: "app",
        mode: "tcp",
        text: "
backend app
    mode tcp
    balance source
    hash-type consistent
    server s1 10.42.0.1:80 check
    server s2 10.42.0.2:80 check weight 3
    server s3 10.42.0.3:80 check disabled
    server s4 10.42.0.4:80 check weight 2
    server s5 10.42.0.5:80 check
",
    },
    Case {
        backend: "app",
        mode: "tcp",
        text: "
# Fixed ids: a server removed later leaves the others' nodes in place.
backend app
    mode tcp
    balance source
    hash-type consistent
    server s1 10.43.0.1:80 id 1
    server s2 10.43.0.2:80 id 2 weight 2
    server s3 10.43.0.3:80 id 3
    server spare 10.43.0.9:80 id 9 backup
",
    },
    Case {
        backend: "app",
        mode: "tcp",
        text: "
backend app
    mode tcp
    balance source
    hash-type consistent sdbm
    server s1 10.44.0.1:80
    server s2 10.44.0.2:80
    server s3 10.44.0.3:80
    server s4 10.44.0.4:80
",
    },
    Case {
        backend: "app",
        mode: "tcp",
        text: "
backend app
    mode tcp
    balance source
    hash-type map-based sdbm avalanche
    server s1 10.45.0.1:80
    server s2 10.45.0.2:80 weight 2
    server s3 10.45.0.3:80 weight 3
",
    },
    Case {
        backend: "lb",
        mode: "tcp",
        text: "
listen lb
    mode tcp
    tcp-request connection set-src src,ipmask(24,64)
    balance source
    server s1 10.46.0.1:80
    server s2 10.46.0.2:80
    server s3 10.46.0.3:80
",
    },
    Case {
        backend: "api",
        mode: "http",
        text: "
defaults shared
    mode http
    balance source
    hash-type consistent
    timeout connect 5s
    timeout client 30s
    timeout server 30s

backend web from shared
    server w1 10.47.0.1:80
    server w2 10.47.0.2:80

backend api from shared
    server a1 10.47.1.1:9000
    server a2 10.47.1.2:9000 weight 2
    server a3 10.47.1.3:9000
",
    },
    Case {
        backend: "shop",
        mode: "http",
        text: "
backend shop
    mode http
    balance source
    stick-table type ip size 200k expire 30m
    stick on src
    server s1 10.48.0.1:8080 weight 2
    server s2 10.48.0.2:8080
    server s3 10.48.0.3:8080 weight 3
",
    },
    Case {
        backend: "webfarm",
        mode: "http",
        text: "
# New clients carry no cookie: round robin places them, in turn.
backend webfarm
    mode http
    balance roundrobin
    cookie SERVERID insert indirect nocache
    server webA 10.49.0.1:80 cookie A check
    server webB 10.49.0.2:80 cookie B check
    server webC 10.49.0.3:80 cookie C check
",
    },
];

/// The servers of `text` in order: (name, address as written).
fn servers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.first() == Some(&"server")).then(|| (w[1].to_string(), w[2].to_string()))
        })
        .collect()
}

fn run(exe: &Path, case: &Case) -> usize {
    let mut text = case.text.to_string();
    let mut backend_of = Vec::new();
    for (name, address) in servers(case.text) {
        let backend = Backend::start().name();
        text = text.replacen(&address, &backend, 1);
        backend_of.push((name, backend));
    }
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    // A listen section takes requests on its own bind (its connection rules apply
    // to those only); a backend behind a frontend of the test's, declared before
    // the case so that it takes the test's defaults.
    let listen = format!("listen {}\n", case.backend);
    let config = if text.contains(&listen) {
        let bound = format!("{listen}    bind 127.0.0.1:{port}\n");
        format!("{DEFAULTS}{}", text.replacen(&listen, &bound, 1))
    } else {
        format!(
            "{DEFAULTS}\nfrontend lbsim_test\n    mode {}\n    bind 127.0.0.1:{port}\n    default_backend {}\n{text}",
            case.mode, case.backend
        )
    };
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, &config).unwrap();
    let check = Command::new(exe).arg("-c").arg("-f").arg(&path).output().unwrap();
    assert!(
        check.status.success(),
        "HAProxy rejected the configuration: {}\n{config}",
        String::from_utf8_lossy(&check.stderr)
    );
    let mut cmd = Command::new(exe);
    cmd.arg("-f").arg(&path).arg("-db");
    let _running = Running::start(cmd, port);
    let scenario = dir.path().join("imported.toml");
    support::import(&path, &["--backend", case.backend], &scenario);
    let clients = support::sources(CLIENTS);
    let to = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let served: Vec<String> = clients.iter().map(|&c| support::request_from(c, to)).collect();
    let predicted: Vec<String> = support::predict_from(&scenario, &clients)
        .into_iter()
        .map(|name| {
            backend_of
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(name.clone(), |(_, b)| b.clone())
        })
        .collect();
    let bad = support::mismatches(&clients, &predicted, &served);
    let policy = std::fs::read_to_string(&scenario)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("policies = ")
                .map(|p| p.split("  #").next().unwrap().to_string())
        })
        .unwrap_or_default();
    eprintln!(
        "backend {}, imported as {policy}: {} requests, {bad} mismatches",
        case.backend,
        clients.len()
    );
    bad
}

#[test]
fn imported_backends_pick_as_haproxy() {
    let Some(exe) = support::product("haproxy") else { return };
    let bad: usize = CASES.iter().map(|case| run(&exe, case)).sum();
    assert_eq!(
        bad, 0,
        "{bad} requests went elsewhere than the imported scenario predicts"
    );
}
