//! Driving a real balancer on loopback: backends that answer with their own
//! address, clients that connect from any 127.x.y.z source, and `lbsim route` to
//! predict where each client lands.
//!
//! A test module includes this with `mod support;` and uses what it needs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

/// Set in CI: a missing product fails the test instead of skipping it.
const REQUIRED: &str = "LBSIM_REAL_PRODUCTS";

/// The path of a product's executable, or `None` (with a message) to skip the
/// test when it is not installed here and CI did not ask for it.
pub fn product(name: &str) -> Option<PathBuf> {
    let found = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os(REQUIRED).is_none(),
            "{name} is not installed, and {REQUIRED} is set: .ci/run installs it"
        );
        eprintln!("skipped: {name} is not installed (apt-get install {name} to run this test)");
    }
    found
}

/// A backend that answers every HTTP request with its own address, then closes.
pub struct Backend {
    pub addr: SocketAddrV4,
}

impl Backend {
    pub fn start() -> Backend {
        Backend::serve(TcpListener::bind("127.0.0.1:0").expect("bind a backend on loopback"))
    }

    /// A backend on a listener bound already (to a port of the test's choosing).
    pub fn serve(listener: TcpListener) -> Backend {
        let SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
            unreachable!("bound to an IPv4 address")
        };
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || answer(stream, addr));
            }
        });
        Backend { addr }
    }

    /// `HOST:PORT`, as a balancer's configuration names it.
    pub fn name(&self) -> String {
        self.addr.to_string()
    }
}

fn answer(mut stream: TcpStream, me: SocketAddrV4) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let body = me.to_string();
    let _ = write!(
        stream,
        "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A free TCP port on loopback for the balancer to listen on.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Sends one HTTP request to `to` from the source address `from`, and returns the
/// body of the answer: the address of the backend that served it.
pub fn request_from(from: Ipv4Addr, to: SocketAddrV4) -> String {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddrV4::new(from, 0).into())
        .expect("bind a 127.x.y.z source");
    socket.connect(&to.into()).expect("connect to the balancer");
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET / HTTP/1.0\r\nHost: lbsim\r\n\r\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read the answer");
    match reply.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.") && head.contains(" 200 ") => body.to_string(),
        _ => panic!("unexpected answer from the balancer: {reply:?}"),
    }
}

/// Distinct loopback sources spread over many /24s and /16s, so that prefix keys
/// and byte-wise hashes see variety; deterministic for a given `n`.
pub fn sources(n: usize) -> Vec<Ipv4Addr> {
    let mut x: u32 = 0x9e37_79b9;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let a = Ipv4Addr::new(127, (x >> 16) as u8, (x >> 8) as u8, (x as u8).max(1));
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// What `lbsim route` predicts for each source: the backend's `HOST:PORT`.
pub fn predict(
    policy: &str,
    servers: &[String],
    weights: Option<&str>,
    down: Option<&str>,
    clients: &[Ipv4Addr],
) -> Vec<String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lbsim"));
    cmd.args(["route", "--policy", policy, "--servers", &servers.join(",")]);
    if let Some(w) = weights {
        cmd.args(["--weights", w]);
    }
    if let Some(d) = down {
        cmd.args(["--down", d]);
    }
    cmd.args(clients.iter().map(|c| c.to_string()));
    let out = cmd.output().expect("run lbsim route");
    assert!(
        out.status.success(),
        "lbsim route failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_once(' ').expect("IP SERVER").1.to_string())
        .collect()
}

/// A running balancer, stopped when dropped.
pub struct Running(Child);

impl Running {
    /// Starts `cmd` and waits until it accepts connections on `port`.
    pub fn start(mut cmd: Command, port: u16) -> Running {
        let child = cmd.stdout(Stdio::null()).spawn().expect("start the balancer");
        let running = Running(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the balancer did not listen on port {port}");
            thread::sleep(Duration::from_millis(20));
        }
        running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Counts the requests whose backend differs from the prediction, printing each.
pub fn mismatches(clients: &[Ipv4Addr], predicted: &[String], served: &[String]) -> usize {
    assert_eq!(predicted.len(), clients.len(), "one prediction per client");
    let mut bad = 0;
    for ((c, p), s) in clients.iter().zip(predicted).zip(served) {
        if p != s {
            eprintln!("{c}: lbsim predicts {p}, the balancer chose {s}");
            bad += 1;
        }
    }
    bad
}

/// Imports `config` with `lbsim import` (more flags in `flags`) into `scenario`.
pub fn import(config: &Path, flags: &[&str], scenario: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .arg("import")
        .arg(config)
        .args(flags)
        .arg("--out")
        .arg(scenario)
        .output()
        .expect("run lbsim import");
    assert!(
        out.status.success(),
        "lbsim import {} failed: {}",
        config.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What `lbsim route --scenario` predicts for each source: the server's name.
pub fn predict_from(scenario: &Path, clients: &[Ipv4Addr]) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .arg("route")
        .arg("--scenario")
        .arg(scenario)
        .args(clients.iter().map(|c| c.to_string()))
        .output()
        .expect("run lbsim route");
    assert!(
        out.status.success(),
        "lbsim route --scenario failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_once(' ').expect("IP SERVER").1.to_string())
        .collect()
}
