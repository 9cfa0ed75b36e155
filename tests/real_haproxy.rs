//! `haproxy.source` and `haproxy.stick_table` against the real HAProxy: the same
//! servers, weights and down servers configured in both, the same client sources,
//! and every request's backend compared with lbsim's prediction.

mod support;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Duration;

use lbsim::engine::Stream;
use lbsim::policy::{self, Addr, BuildContext, Client, Policy};
use lbsim::pool::{Pool, PoolChangeKind};
use support::{Backend, Running, free_port, mismatches, predict, product, request_from, sources};

/// Requests per case.
const REQUESTS: usize = 300;

/// A balancer configuration and the lbsim policy that should match it.
struct Case {
    /// Lines of the `listen` section before the servers.
    config: &'static str,
    policy: &'static str,
    weights: &'static [u32],
    /// Positions of servers declared `disabled` (maintenance) and passed as `--down`.
    down: &'static [usize],
}

/// A running HAProxy in front of its backends; stopped when dropped.
struct Haproxy {
    /// The backends' `HOST:PORT`, in configuration order.
    names: Vec<String>,
    port: u16,
    dir: tempfile::TempDir,
    _running: Running,
}

impl Haproxy {
    /// Starts HAProxy in front of fresh backends.
    fn start(exe: &Path, case: &Case) -> Haproxy {
        let names = case.weights.iter().map(|_| Backend::start().name()).collect();
        Haproxy::start_with(exe, case, names)
    }

    fn start_with(exe: &Path, case: &Case, names: Vec<String>) -> Haproxy {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = format!(
            "global\n    stats socket {}/admin.sock level admin\n\
             defaults\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\
             listen lb\n    bind 127.0.0.1:{port}\n{}",
            dir.path().display(),
            case.config
        );
        for (i, (name, w)) in names.iter().zip(case.weights).enumerate() {
            let disabled = if case.down.contains(&i) { " disabled" } else { "" };
            writeln!(cfg, "    server s{} {name} weight {w}{disabled}", i + 1).unwrap();
        }
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, cfg).unwrap();
        let mut cmd = Command::new(exe);
        cmd.arg("-f").arg(&path).arg("-db");
        let running = Running::start(cmd, port);
        Haproxy {
            names,
            port,
            dir,
            _running: running,
        }
    }

    fn addr(&self) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port)
    }

    fn names(&self) -> &[String] {
        &self.names
    }

    /// Sends a command to the stats socket and returns the answer.
    fn admin(&self, command: &str) -> String {
        let mut s = UnixStream::connect(self.dir.path().join("admin.sock")).expect("connect to the stats socket");
        writeln!(s, "{command}").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }
}

fn list(items: &[impl ToString]) -> Option<String> {
    (!items.is_empty()).then(|| items.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
}

/// Runs `case` and returns the number of requests whose backend lbsim mispredicts.
fn check(case: &Case) -> Option<usize> {
    let exe = product("haproxy")?;
    let lb = Haproxy::start(&exe, case);
    let clients = sources(REQUESTS);
    let served: Vec<String> = clients.iter().map(|&c| request_from(c, lb.addr())).collect();
    let predicted = predict(
        case.policy,
        lb.names(),
        list(case.weights).as_deref(),
        list(case.down).as_deref(),
        &clients,
    );
    let bad = mismatches(&clients, &predicted, &served);
    eprintln!("{}: {} requests, {bad} mismatches", case.policy, clients.len());
    Some(bad)
}

fn assert_matches(case: Case) {
    if let Some(bad) = check(&case) {
        assert_eq!(
            bad, 0,
            "{}: lbsim mispredicted {bad} of {REQUESTS} requests",
            case.policy
        );
    }
}

const MAP: &str = "    mode tcp\n    balance source\n";
const CONSISTENT: &str = "    mode tcp\n    balance source\n    hash-type consistent\n";

#[test]
fn map_based_equal_weights() {
    assert_matches(Case {
        config: MAP,
        policy: "haproxy.source",
        weights: &[1, 1, 1],
        down: &[],
    });
}

#[test]
fn map_based_weighted() {
    assert_matches(Case {
        config: MAP,
        policy: "haproxy.source",
        weights: &[2, 1, 3],
        down: &[],
    });
    assert_matches(Case {
        config: MAP,
        policy: "haproxy.source",
        weights: &[10, 20, 30, 20, 10],
        down: &[],
    });
    assert_matches(Case {
        config: MAP,
        policy: "haproxy.source",
        weights: &[3, 1, 4, 1, 5, 9, 2],
        down: &[],
    });
}

#[test]
fn map_based_with_a_disabled_server() {
    // The disabled server leaves the table, but its weight still counts in the gcd:
    // the others' table is 2,4,6 long, not 1,2,3.
    assert_matches(Case {
        config: MAP,
        policy: "haproxy.source",
        weights: &[4, 2, 8, 12],
        down: &[1],
    });
}

#[test]
fn map_based_with_avalanche() {
    assert_matches(Case {
        config: "    mode tcp\n    balance source\n    hash-type map-based sdbm avalanche\n",
        policy: "haproxy.source(avalanche=on)",
        weights: &[1, 2, 1, 3],
        down: &[],
    });
}

#[test]
fn map_based_on_the_prefix() {
    assert_matches(Case {
        config: "    mode tcp\n    tcp-request connection set-src src,ipmask(24,64)\n    balance source\n",
        policy: "haproxy.source(key=prefix)",
        weights: &[1, 1, 1, 1, 1],
        down: &[],
    });
}

#[test]
fn consistent_equal_weights() {
    assert_matches(Case {
        config: CONSISTENT,
        policy: "haproxy.source(hash_type=consistent)",
        weights: &[1, 1, 1],
        down: &[],
    });
}

#[test]
fn consistent_weighted() {
    assert_matches(Case {
        config: CONSISTENT,
        policy: "haproxy.source(hash_type=consistent)",
        weights: &[2, 1, 3, 1, 5],
        down: &[],
    });
}

#[test]
fn consistent_with_a_disabled_server() {
    assert_matches(Case {
        config: CONSISTENT,
        policy: "haproxy.source(hash_type=consistent)",
        weights: &[1, 3, 2, 1, 1, 2],
        down: &[1, 4],
    });
}

#[test]
fn consistent_without_avalanche() {
    // A hash function named without `avalanche`: the raw address goes on the tree.
    assert_matches(Case {
        config: "    mode tcp\n    balance source\n    hash-type consistent sdbm\n",
        policy: "haproxy.source(hash_type=consistent, avalanche=off)",
        weights: &[1, 1, 1, 1],
        down: &[],
    });
}

/// Sends one HTTP request from `from` with an extra header line; returns the
/// backend that answered and the source port used.
fn request_with_header(from: Ipv4Addr, to: SocketAddrV4, header: &str) -> (String, u16) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddrV4::new(from, 0).into()).unwrap();
    socket.connect(&to.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    let port = stream.local_addr().unwrap().port();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // One write: pieces would wait on Nagle and delayed acknowledgements.
    let request = format!("GET / HTTP/1.0\r\nHost: lbsim\r\n{header}\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.contains(" 200 "), "unexpected answer: {reply:?}");
    (body.to_string(), port)
}

/// Where lbsim routes each (address, port) client, one after another.
fn route(policy: &str, servers: &[String], weights: &[u32], clients: &[(Ipv4Addr, u16)]) -> Vec<String> {
    let pool = lbsim::route::pool(&servers.join(","), list(weights).as_deref(), None).unwrap();
    let mut router = lbsim::route::Router::new(policy, pool, clients.len()).unwrap();
    clients
        .iter()
        .map(|&(a, p)| router.route(Addr::from(std::net::IpAddr::V4(a)), p).to_string())
        .collect()
}

#[test]
fn header_hash_on_a_session_id() {
    let Some(exe) = product("haproxy") else { return };
    let case = Case {
        config: "    mode http\n    balance hdr(X-Session)\n    hash-type consistent\n",
        policy: "haproxy.source(hash_type=consistent, key=session)",
        weights: &[1, 2, 1],
        down: &[],
    };
    let lb = Haproxy::start(&exe, &case);
    let clients = sources(REQUESTS);
    // lbsim numbers the clients of `route` 0, 1, 2, ...; each sends its session id.
    let served: Vec<String> = clients
        .iter()
        .enumerate()
        .map(|(i, &c)| request_with_header(c, lb.addr(), &format!("X-Session: s{i:08x}")).0)
        .collect();
    let predicted = predict(case.policy, lb.names(), Some("1,2,1"), None, &clients);
    let bad = mismatches(&clients, &predicted, &served);
    eprintln!("{}: {} requests, {bad} mismatches", case.policy, clients.len());
    assert_eq!(bad, 0);
}

#[test]
fn header_hash_on_address_and_port() {
    let Some(exe) = product("haproxy") else { return };
    let case = Case {
        config: "    mode http\n    http-request set-header X-Src %[src]:%[src_port]\n    balance hdr(X-Src)\n",
        policy: "haproxy.source(key=source_port)",
        weights: &[1, 1, 2],
        down: &[],
    };
    let lb = Haproxy::start(&exe, &case);
    let clients = sources(REQUESTS);
    let (served, ports): (Vec<String>, Vec<u16>) = clients
        .iter()
        .map(|&c| request_with_header(c, lb.addr(), "X-Src: overwritten"))
        .unzip();
    let with_ports: Vec<(Ipv4Addr, u16)> = clients.iter().copied().zip(ports).collect();
    let predicted = route(case.policy, lb.names(), case.weights, &with_ports);
    let bad = mismatches(&clients, &predicted, &served);
    eprintln!("{}: {} requests, {bad} mismatches", case.policy, clients.len());
    assert_eq!(bad, 0);
}

/// The entries of a stick table as `show table` lists them: (address, server id).
fn table_entries(dump: &str) -> Vec<(String, u32)> {
    let field = |line: &str, name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .map(str::to_string)
    };
    let mut entries: Vec<(String, u32)> = dump
        .lines()
        .filter_map(|l| Some((field(l, "key=")?, field(l, "server_id=")?.parse().ok()?)))
        .collect();
    entries.sort();
    entries
}

/// lbsim's policy `spec` over `pool`, to drive request by request.
fn build(spec: &str, pool: &Pool) -> Box<dyn Policy> {
    let spec = policy::spec::parse(spec, 0).unwrap();
    policy::build(
        &spec,
        &BuildContext {
            pool,
            expected_users: 100,
        },
    )
    .unwrap()
}

/// A backend that answers like `support::Backend`, but only after `delay`: HAProxy
/// then records stick-table entries in a later millisecond than their request, as
/// it does in front of any real server.
fn slow_backend(delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let name = listener.local_addr().unwrap().to_string();
    let me = name.clone();
    thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let me = me.clone();
            thread::spawn(move || {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                thread::sleep(delay);
                let _ = write!(
                    stream,
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{me}",
                    me.len()
                );
            });
        }
    });
    name
}

/// Time between requests in the stick-table check, and the backends' answer time.
const GAP: Duration = Duration::from_millis(20);
const ANSWER: Duration = Duration::from_millis(5);

#[test]
fn stick_table_eviction_matches_haproxy_2_6() {
    let Some(exe) = product("haproxy") else { return };
    let case = Case {
        config: "    mode http\n    balance roundrobin\n    stick-table type ip size 20 expire 10m\n    stick on src\n",
        policy: "haproxy.stick_table(base=round_robin, size=20, expire=10m, store_delay=5ms)",
        weights: &[1, 1, 1],
        down: &[],
    };
    let lb = Haproxy::start_with(&exe, &case, (0..3).map(|_| slow_backend(ANSWER)).collect());
    let a = |i: u8| Ipv4Addr::new(127, 0, 1, i);
    let b = |i: u8| Ipv4Addr::new(127, 0, 2, i);
    // Fill the table, every entry born stale; hit it while full (a hit evicts too);
    // use two entries while it has a free place, so that the oldest queue nodes are
    // refreshed ones; then new clients, the first of which finds no room.
    let mut order: Vec<Ipv4Addr> = (1..=20).map(a).collect();
    order.extend([
        a(1),
        a(3),
        a(4),
        b(1),
        b(2),
        b(3),
        b(2),
        a(2),
        a(9),
        b(4),
        b(5),
        b(6),
        a(12),
        b(7),
    ]);

    let pool = lbsim::route::pool(&lb.names().join(","), None, None).unwrap();
    let mut model = build(case.policy, &pool);
    let mut rng = Stream::Policy.rng(0, 0, 0);
    let client = |i: usize| Client {
        user: i as u32,
        addr: Addr::from(std::net::IpAddr::V4(order[i])),
        port: 0,
        connection: 0,
        new_connection: true,
    };
    let at = |i: usize| i as u64 * GAP.as_nanos() as u64;
    let names = lb.names();
    let mut bad = 0;
    for i in 0..order.len() {
        let served = request_from(order[i], lb.addr());
        let predicted = &names[model.pick(&client(i), at(i), &pool, &mut rng).server as usize];
        if *predicted != served {
            eprintln!(
                "request {i} from {}: lbsim predicts {predicted}, HAProxy chose {served}",
                order[i]
            );
            bad += 1;
        }
        thread::sleep(GAP);
    }
    let real = table_entries(&lb.admin("show table lb"));
    // Round robin peeks nothing, so a peeked server is a live entry's.
    let mut modelled: Vec<(String, u32)> = (0..order.len())
        .filter_map(|i| {
            Some((
                order[i].to_string(),
                model.peek(&client(i), at(order.len()), &pool)? + 1,
            ))
        })
        .collect();
    modelled.sort();
    modelled.dedup();
    eprintln!(
        "stick table: {} requests, {bad} mismatches; HAProxy kept {} entries, lbsim {}",
        order.len(),
        real.len(),
        modelled.len()
    );
    assert_eq!(bad, 0);
    assert_eq!(
        real, modelled,
        "entries left in HAProxy's table (address, server id) vs lbsim's"
    );
}

#[test]
fn stick_table_resticks_without_fail_back() {
    let Some(exe) = product("haproxy") else { return };
    let case = Case {
        config: "    mode http\n    balance source\n    stick-table type ip size 1000 expire 10m\n    stick on src\n",
        policy: "haproxy.stick_table(base=haproxy.source, size=1000, expire=10m)",
        weights: &[1, 1, 1],
        down: &[],
    };
    let lb = Haproxy::start(&exe, &case);
    let clients = sources(60);
    let mut pool = lbsim::route::pool(&lb.names().join(","), None, None).unwrap();
    let mut model = build(case.policy, &pool);
    // Where balance source alone sends each client with every server up.
    let plain = build("haproxy.source", &pool);
    let mut rng = Stream::Policy.rng(0, 0, 0);
    let names = lb.names();
    let (mut sent, mut bad, mut kept_away) = (0, 0, 0);
    // Three rounds: all up; s2 in maintenance (its clients are re-stuck elsewhere);
    // s2 back (they stay where they were re-stuck). Half the clients are new in each.
    let rounds: [(Option<&str>, Option<PoolChangeKind>, &[Ipv4Addr]); 3] = [
        (None, None, &clients[..30]),
        (
            Some("disable server lb/s2"),
            Some(PoolChangeKind::Fail(1)),
            &clients[..45],
        ),
        (
            Some("enable server lb/s2"),
            Some(PoolChangeKind::Recover(1)),
            &clients[..],
        ),
    ];
    for (command, change, round) in rounds {
        if let (Some(command), Some(change)) = (command, change) {
            lb.admin(command);
            assert!(pool.apply(&change));
            model.pool_changed(&pool);
        }
        for &src in round {
            let served = request_from(src, lb.addr());
            let client = Client {
                user: sent as u32,
                addr: Addr::from(std::net::IpAddr::V4(src)),
                port: 0,
                connection: 0,
                new_connection: true,
            };
            let predicted = &names[model.pick(&client, 0, &pool, &mut rng).server as usize];
            if *predicted != served {
                eprintln!("{src}: lbsim predicts {predicted}, HAProxy chose {served}");
                bad += 1;
            }
            if change == Some(PoolChangeKind::Recover(1))
                && plain.peek(&client, 0, &pool).unwrap() == 1
                && served != names[1]
            {
                kept_away += 1;
            }
            sent += 1;
        }
    }
    eprintln!("stick table with fail-over: {sent} requests, {bad} mismatches; {kept_away} clients kept off s2");
    assert_eq!(bad, 0);
    assert!(
        kept_away > 0,
        "no client was re-stuck away from s2, so fail-back went untested"
    );
}

#[test]
fn maintenance_at_run_time_rebuilds_the_map_and_the_tree() {
    let Some(exe) = product("haproxy") else { return };
    for (config, spec) in [
        (MAP, "haproxy.source"),
        (CONSISTENT, "haproxy.source(hash_type=consistent)"),
    ] {
        let case = Case {
            config,
            policy: spec,
            weights: &[1, 2, 1, 3],
            down: &[],
        };
        let lb = Haproxy::start(&exe, &case);
        let mut pool = lbsim::route::pool(&lb.names().join(","), Some("1,2,1,3"), None).unwrap();
        let mut model = build(spec, &pool);
        let clients = sources(REQUESTS / 3);
        let (mut sent, mut bad) = (0, 0);
        let phases = [
            (None, None),
            (Some("disable server lb/s2"), Some(PoolChangeKind::Fail(1))),
            (Some("enable server lb/s2"), Some(PoolChangeKind::Recover(1))),
        ];
        for (command, change) in phases {
            if let (Some(command), Some(change)) = (command, change) {
                lb.admin(command);
                assert!(pool.apply(&change));
                model.pool_changed(&pool);
            }
            let served: Vec<String> = clients.iter().map(|&c| request_from(c, lb.addr())).collect();
            let predicted: Vec<String> = clients
                .iter()
                .map(|&c| {
                    let client = Client {
                        user: 0,
                        addr: Addr::from(std::net::IpAddr::V4(c)),
                        port: 0,
                        connection: 0,
                        new_connection: true,
                    };
                    lb.names()[model.peek(&client, 0, &pool).unwrap() as usize].clone()
                })
                .collect();
            bad += mismatches(&clients, &predicted, &served);
            sent += clients.len();
        }
        eprintln!("{spec} with s2 disabled and enabled at run time: {sent} requests, {bad} mismatches");
        assert_eq!(bad, 0);
    }
}
