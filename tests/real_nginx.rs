//! The nginx policies against nginx itself: a real nginx proxies requests from
//! hundreds of loopback sources to backends that answer with their own address,
//! and every backend it chose must be the one `lbsim route` predicts.
//!
//! nginx runs in the foreground as a single process (no worker switching to
//! another user, so it works as root and as anyone else), with every file it
//! writes inside a temporary directory. `proxy_next_upstream off` keeps nginx from
//! retrying a pick elsewhere, so the answer shows the pick itself. Skipped when
//! nginx is not installed (unless CI requires it).

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{Backend, Running};

/// Requests per case, each from its own source address.
const CLIENTS: usize = 300;

/// Servers 2 and 9 of 12 up, with most of the weight down: about a fifth of the
/// clients miss both 21 times and go to round robin, whose state then decides.
const MOSTLY_DOWN: &[usize] = &[0, 1, 3, 4, 5, 6, 7, 8, 10, 11];
const TWELVE: &[u32] = &[4, 4, 1, 4, 4, 5, 4, 4, 4, 2, 4, 4];

/// One upstream block and the lbsim policy that must pick as it does.
struct Case {
    /// The balancing directive inside `upstream`, e.g. "hash $remote_addr consistent;".
    directive: &'static str,
    policy: &'static str,
    weights: &'static [u32],
    down: &'static [usize],
}

/// A running nginx in front of `backends`; stops and cleans up when dropped.
struct Nginx {
    port: u16,
    _running: Running,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(exe: &Path, case: &Case, backends: &[Backend]) -> Nginx {
        let dir = tempfile::TempDir::new().expect("a temporary directory");
        let d = dir.path().display();
        let port = support::free_port();
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let down = if case.down.contains(&i) { " down" } else { "" };
                format!("        server {} weight={}{down};\n", b.name(), case.weights[i])
            })
            .collect();
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
    upstream backends {{
        {}
{servers}    }}
    server {{
        listen 127.0.0.1:{port};
        set_real_ip_from 127.0.0.0/8;
        real_ip_header X-Real-IP;
        location / {{
            proxy_pass http://backends;
            proxy_next_upstream off;
        }}
    }}
}}
",
            case.directive
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let command = || {
            let mut cmd = Command::new(exe);
            cmd.arg("-p").arg(dir.path()).arg("-c").arg(&conf_path);
            cmd.arg("-e").arg(dir.path().join("error.log"));
            cmd
        };
        let check = command().arg("-t").output().expect("run nginx -t");
        assert!(
            check.status.success(),
            "nginx rejected the configuration: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        Nginx {
            port,
            _running: Running::start(command(), port),
            _dir: dir,
        }
    }

    fn addr(&self) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port)
    }
}

fn backends(n: usize) -> Vec<Backend> {
    (0..n).map(|_| Backend::start()).collect()
}

fn list(items: &[impl ToString]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// Runs one case from `CLIENTS` loopback sources; returns the mismatches.
fn run(exe: &Path, case: &Case) -> usize {
    let backends = backends(case.weights.len());
    let names: Vec<String> = backends.iter().map(Backend::name).collect();
    let nginx = Nginx::start(exe, case, &backends);
    let clients = support::sources(CLIENTS);
    let served: Vec<String> = clients
        .iter()
        .map(|&c| support::request_from(c, nginx.addr()))
        .collect();
    let (weights, down) = (list(case.weights), list(case.down));
    let down = (!case.down.is_empty()).then_some(down.as_str());
    let predicted = support::predict(case.policy, &names, Some(&weights), down, &clients);
    let bad = support::mismatches(&clients, &predicted, &served);
    eprintln!(
        "{} ({}): {} requests, {bad} mismatches",
        case.policy,
        case.directive,
        clients.len()
    );
    bad
}

fn check(cases: &[Case]) {
    let Some(exe) = support::product("nginx") else { return };
    let bad: usize = cases.iter().map(|c| run(&exe, c)).sum();
    assert_eq!(bad, 0, "{bad} requests went elsewhere than lbsim predicts");
}

#[test]
fn ip_hash_matches_nginx() {
    check(&[
        Case {
            directive: "ip_hash;",
            policy: "nginx.ip_hash",
            weights: &[1, 1, 1],
            down: &[],
        },
        Case {
            directive: "ip_hash;",
            policy: "nginx.ip_hash",
            weights: &[2, 1, 3, 1, 5],
            down: &[],
        },
        Case {
            directive: "ip_hash;",
            policy: "nginx.ip_hash",
            weights: &[1, 2, 1, 1],
            down: &[1],
        },
        Case {
            directive: "ip_hash;",
            policy: "nginx.ip_hash",
            weights: TWELVE,
            down: MOSTLY_DOWN,
        },
    ]);
}

#[test]
fn consistent_hash_matches_nginx() {
    check(&[
        Case {
            directive: "hash $remote_addr consistent;",
            policy: "nginx.hash(consistent=on)",
            weights: &[1, 1, 1, 1],
            down: &[],
        },
        Case {
            directive: "hash $remote_addr consistent;",
            policy: "nginx.hash(consistent=on)",
            weights: &[1, 3, 2, 1, 2],
            down: &[],
        },
        Case {
            directive: "hash $remote_addr consistent;",
            policy: "nginx.hash(consistent=on)",
            weights: &[1, 2, 1, 1, 3, 1, 1],
            down: &[1, 4],
        },
        Case {
            directive: "hash $remote_addr consistent;",
            policy: "nginx.hash(consistent=on)",
            weights: TWELVE,
            down: MOSTLY_DOWN,
        },
    ]);
}

#[test]
fn plain_hash_matches_nginx() {
    check(&[
        Case {
            directive: "hash $remote_addr;",
            policy: "nginx.hash",
            weights: &[1, 1, 1, 1, 1, 1],
            down: &[],
        },
        Case {
            directive: "hash $remote_addr;",
            policy: "nginx.hash",
            weights: &[3, 1, 2, 1],
            down: &[2],
        },
        Case {
            directive: "hash $remote_addr;",
            policy: "nginx.hash",
            weights: TWELVE,
            down: MOSTLY_DOWN,
        },
    ]);
}

#[test]
fn round_robin_and_least_conn_match_nginx() {
    // One request at a time: nothing is in flight at a pick, so least_conn's tie-break
    // (round robin) decides every time, as lbsim route assumes.
    check(&[
        Case {
            directive: "# round robin, the default",
            policy: "nginx.round_robin",
            weights: &[5, 1, 2, 1],
            down: &[2],
        },
        Case {
            directive: "least_conn;",
            policy: "nginx.least_conn",
            weights: &[1, 3, 2],
            down: &[],
        },
    ]);
}

/// Sends a request whose client address the realip module takes from a header.
fn request_as(real_ip: &str, to: SocketAddrV4) -> String {
    let mut stream = TcpStream::connect(to).expect("connect to nginx");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET / HTTP/1.0\r\nHost: lbsim\r\nX-Real-IP: {real_ip}\r\n\r\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read the answer");
    match reply.split_once("\r\n\r\n") {
        Some((head, body)) if head.contains(" 200 ") => body.to_string(),
        _ => panic!("unexpected answer for {real_ip}: {reply:?}"),
    }
}

/// IPv6 clients, in every shape nginx prints differently: long zero runs, single
/// zero groups, leading and trailing runs, and IPv4-compatible `::a.b.c.d`.
fn ipv6_clients(n: usize) -> Vec<String> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let r = next();
        // Each group is zero with probability 1/2, so zero runs of every length occur.
        let groups: Vec<u16> = (0..8)
            .map(|i| {
                if r >> (48 + i) & 1 == 0 {
                    0
                } else {
                    (r >> (i * 6)) as u16
                }
            })
            .collect();
        let addr = match out.len() % 4 {
            0 => format!("::{}", Ipv4Addr::from((r >> 16) as u32)),
            1 => format!("::{:x}", (r >> 8) as u16 | 0x100),
            _ => std::net::Ipv6Addr::new(
                groups[0] | 0x2000,
                groups[1],
                groups[2],
                groups[3],
                groups[4],
                groups[5],
                groups[6],
                groups[7],
            )
            .to_string(),
        };
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

/// What `lbsim route` predicts for clients given as text.
fn predict(policy: &str, servers: &[String], weights: &str, clients: &[String]) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args([
            "route",
            "--policy",
            policy,
            "--servers",
            &servers.join(","),
            "--weights",
            weights,
        ])
        .args(clients)
        .output()
        .expect("run lbsim route");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_once(' ').expect("IP SERVER").1.to_string())
        .collect()
}

#[test]
fn ipv6_clients_match_nginx() {
    let Some(exe) = support::product("nginx") else { return };
    let clients = ipv6_clients(CLIENTS);
    let mut bad = 0;
    for (directive, policy) in [
        ("ip_hash;", "nginx.ip_hash"),
        ("hash $remote_addr;", "nginx.hash"),
        ("hash $remote_addr consistent;", "nginx.hash(consistent=on)"),
    ] {
        let case = Case {
            directive,
            policy,
            weights: &[1, 2, 1, 1],
            down: &[],
        };
        let backends = backends(case.weights.len());
        let names: Vec<String> = backends.iter().map(Backend::name).collect();
        let nginx = Nginx::start(&exe, &case, &backends);
        let served: Vec<String> = clients.iter().map(|c| request_as(c, nginx.addr())).collect();
        let predicted = predict(policy, &names, &list(case.weights), &clients);
        let wrong = clients
            .iter()
            .zip(predicted.iter().zip(&served))
            .filter(|(c, (p, s))| {
                if p != s {
                    eprintln!("{c}: lbsim predicts {p}, nginx chose {s}");
                }
                p != s
            })
            .count();
        eprintln!(
            "{policy} ({directive} IPv6 via X-Real-IP): {} requests, {wrong} mismatches",
            clients.len()
        );
        bad += wrong;
    }
    assert_eq!(bad, 0, "{bad} requests went elsewhere than lbsim predicts");
}
