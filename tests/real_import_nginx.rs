//! `lbsim import` against nginx itself: configurations written as operators
//! write them (comments, quoting, weights, `down`, backups, limits, several
//! upstreams) have their server addresses rewritten to loopback backends, keeping
//! names' order, weights and flags; the real nginx runs the rewritten file, lbsim
//! imports that same file, and `lbsim route --scenario` must predict the backend
//! of every request.
//!
//! The rewrite changes the server text, which `hash ... consistent` places its
//! ring by, so the scenario is imported from the rewritten file, the very bytes
//! nginx runs. The check still tests the importer: the pool (which lines are
//! servers, their order, weights, which are down, that backups stay out), the
//! server names nginx hashes, and the policy and key chosen from the directives
//! must all be right for every pick to match. The upstreams sit in a file that
//! the main configuration includes, as conf.d files do, so the import follows
//! the include as nginx does.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::process::Command;

use support::{Backend, Running};

/// Requests per case, each from its own source address.
const CLIENTS: usize = 300;

/// An upstreams file and the upstream the server block proxies to.
struct Case {
    upstream: &'static str,
    /// The upstream blocks, with server addresses as an operator wrote them.
    text: &'static str,
    /// The server addresses of `text` in order, each rewritten to a backend.
    addresses: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        upstream: "shop",
        text: "
upstream shop {
    ip_hash;
    # the two big machines take twice the share
    server 10.1.0.1:8080 weight=2 max_fails=3 fail_timeout=30s;
    server 10.1.0.2:8080 weight=2 max_fails=3 fail_timeout=30s;
    server '10.1.0.3:8080';
    server 10.1.0.4:8080 down;   # being reinstalled
    server 10.1.0.5:8080 weight=1;
    keepalive 32;
}
",
        addresses: &[
            "10.1.0.1:8080",
            "10.1.0.2:8080",
            "10.1.0.3:8080",
            "10.1.0.4:8080",
            "10.1.0.5:8080",
        ],
    },
    Case {
        upstream: "cache_tier",
        text: "
upstream cache_tier {
    zone cache_tier 64k;
    hash $remote_addr consistent;
    server 10.2.0.1:80;
    server 10.2.0.2:80 weight=3;
    server 10.2.0.3:80 down;
    server 10.2.0.4:80 weight=2 max_conns=100;
    server 10.2.0.5:80;
}
",
        addresses: &[
            "10.2.0.1:80",
            "10.2.0.2:80",
            "10.2.0.3:80",
            "10.2.0.4:80",
            "10.2.0.5:80",
        ],
    },
    Case {
        upstream: "api",
        text: "
upstream web {
    server 10.3.9.1:80;
}

upstream api {
    hash \"$remote_addr\";
    server 10.3.0.1:9000 weight=3;
    server 10.3.0.2:9000;
    server 10.3.0.3:9000 weight=2 down;
    server 10.3.0.4:9000;
}
",
        addresses: &[
            "10.3.9.1:80",
            "10.3.0.1:9000",
            "10.3.0.2:9000",
            "10.3.0.3:9000",
            "10.3.0.4:9000",
        ],
    },
    Case {
        upstream: "app",
        text: "
upstream app {
    hash ${binary_remote_addr} consistent;
    server 10.4.0.1:8000;
    server 10.4.0.2:8000 weight=2;
    server 10.4.0.3:8000;
}
",
        addresses: &["10.4.0.1:8000", "10.4.0.2:8000", "10.4.0.3:8000"],
    },
    Case {
        upstream: "app",
        text: "
upstream app {
    hash $binary_remote_addr;
    server 10.5.0.1:8000;
    server 10.5.0.2:8000;
    server 10.5.0.3:8000 weight=3;
    server 10.5.0.4:8000 down;
}
",
        addresses: &["10.5.0.1:8000", "10.5.0.2:8000", "10.5.0.3:8000", "10.5.0.4:8000"],
    },
    Case {
        upstream: "static",
        text: "
# No balancing directive: weighted round robin. The backup never serves while
# a primary is up.
upstream static {
    server 10.6.0.1 weight=5;
    server 10.6.0.9 backup;
    server 10.6.0.2;
    server 10.6.0.3 down;
    server 10.6.0.4 weight=2;
    keepalive 16;
}
",
        addresses: &["10.6.0.1", "10.6.0.9", "10.6.0.2", "10.6.0.3", "10.6.0.4"],
    },
    Case {
        upstream: "app",
        text: "
upstream app {
    least_conn;
    server 10.7.0.1:8080 max_fails=2 fail_timeout=10s;
    server 10.7.0.2:8080 weight=3;
    server 10.7.0.9:8080 backup;
}
",
        addresses: &["10.7.0.1:8080", "10.7.0.2:8080", "10.7.0.9:8080"],
    },
    Case {
        upstream: "app",
        text: "
# nginx 1.22 accepts a backup before ip_hash; the hash never picks it.
upstream app {
    server 10.8.0.1;
    server 10.8.0.2 weight=2;
    server 10.8.0.9 backup;
    server 10.8.0.3;
    ip_hash;
}
",
        addresses: &["10.8.0.1", "10.8.0.2", "10.8.0.9", "10.8.0.3"],
    },
];

/// A running nginx with the main configuration `nginx.conf` including `upstreams.conf`.
struct Nginx {
    port: u16,
    dir: tempfile::TempDir,
    _running: Running,
}

impl Nginx {
    fn start(exe: &Path, upstreams: &str, upstream: &str) -> Nginx {
        let dir = tempfile::TempDir::new().expect("a temporary directory");
        let d = dir.path().display();
        let port = support::free_port();
        std::fs::write(dir.path().join("upstreams.conf"), upstreams).unwrap();
        let conf = format!(
            "daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include upstreams.conf;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{upstream};
            proxy_next_upstream off;
        }}
    }}
}}
"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let command = || {
            let mut cmd = Command::new(exe);
            cmd.arg("-p").arg(dir.path()).arg("-c").arg(&conf_path);
            cmd.arg("-e").arg(dir.path().join("error.log"));
            cmd
        };
        let check = command().arg("-t").output().expect("run nginx -t");
        assert!(
            check.status.success(),
            "nginx rejected the configuration: {}\n{upstreams}",
            String::from_utf8_lossy(&check.stderr)
        );
        Nginx {
            port,
            _running: Running::start(command(), port),
            dir,
        }
    }

    fn addr(&self) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port)
    }
}

/// Runs `text` with `backends` in place of `addresses`; returns the mismatches.
fn run(exe: &Path, upstream: &str, text: &str, addresses: &[&str], backends: &[String]) -> usize {
    let mut rewritten = text.to_string();
    for (address, backend) in addresses.iter().zip(backends) {
        assert!(rewritten.contains(address), "{address} is not in the case");
        rewritten = rewritten.replacen(address, backend, 1);
    }
    let nginx = Nginx::start(exe, &rewritten, upstream);
    let scenario = nginx.dir.path().join("imported.toml");
    support::import(
        &nginx.dir.path().join("nginx.conf"),
        &["--upstream", upstream],
        &scenario,
    );
    let clients = support::sources(CLIENTS);
    let served: Vec<String> = clients
        .iter()
        .map(|&c| support::request_from(c, nginx.addr()))
        .collect();
    let predicted = support::predict_from(&scenario, &clients);
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
        "upstream {upstream}, imported as {policy}: {} requests, {bad} mismatches",
        clients.len()
    );
    bad
}

#[test]
fn imported_upstreams_pick_as_nginx() {
    let Some(exe) = support::product("nginx") else { return };
    let bad: usize = CASES
        .iter()
        .map(|case| {
            let backends: Vec<String> = case.addresses.iter().map(|_| Backend::start().name()).collect();
            run(&exe, case.upstream, case.text, case.addresses, &backends)
        })
        .sum();
    assert_eq!(
        bad, 0,
        "{bad} requests went elsewhere than the imported scenario predicts"
    );
}

/// A server written without a port connects to port 80, but `hash ... consistent`
/// places its ring by the text as written, so the imported names must keep it.
/// Needs port 80 on 127.0.0.2-5 (root, and nothing listening on *:80).
#[test]
fn names_without_a_port_hash_as_written() {
    let Some(exe) = support::product("nginx") else { return };
    let listeners: Vec<_> = (2..=5u8)
        .map(|i| std::net::TcpListener::bind((Ipv4Addr::new(127, 0, 0, i), 80)))
        .collect();
    if listeners.iter().any(Result::is_err) {
        eprintln!("skipped: port 80 on 127.0.0.2-5 is not free to bind here");
        return;
    }
    let names: Vec<String> = listeners
        .into_iter()
        .map(|l| Backend::serve(l.unwrap()).name())
        .collect();
    let text = "
upstream app {
    hash $remote_addr consistent;
    server 10.9.0.1;
    server 10.9.0.2 weight=2;
    server 10.9.0.3;
    server 10.9.0.4;
}
";
    // The backends answer with their address and port; nginx names them without.
    let written: Vec<String> = names.iter().map(|n| n.trim_end_matches(":80").to_string()).collect();
    let addresses = ["10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.0.4"];
    let dir = tempfile::tempdir().unwrap();
    let mut rewritten = text.to_string();
    for (a, w) in addresses.iter().zip(&written) {
        rewritten = rewritten.replacen(a, w, 1);
    }
    let nginx = Nginx::start(&exe, &rewritten, "app");
    let scenario = dir.path().join("imported.toml");
    support::import(&nginx.dir.path().join("nginx.conf"), &["--upstream", "app"], &scenario);
    let clients = support::sources(CLIENTS);
    let served: Vec<String> = clients
        .iter()
        .map(|&c| support::request_from(c, nginx.addr()))
        .collect();
    let predicted: Vec<String> = support::predict_from(&scenario, &clients)
        .into_iter()
        .map(|name| format!("{name}:80"))
        .collect();
    let bad = support::mismatches(&clients, &predicted, &served);
    eprintln!(
        "servers without a port, hash consistent: {} requests, {bad} mismatches",
        clients.len()
    );
    assert_eq!(bad, 0);
}
