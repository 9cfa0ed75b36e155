//! `lbsim route`: where a policy sends each client address, given the servers in
//! configuration order. It is how a model is checked against the real product it
//! is named after: configure both alike, send the same sources, compare.
//!
//! Requests are routed one after another at time zero, as a balancer that has just
//! started would see them, so stateful policies (round robin, tables) evolve from
//! one line to the next.

use crate::engine::{Stream, StreamRng};
use crate::policy::{self, Addr, BuildContext, Client, Policy};
use crate::pool::{Pool, Presence, Server, ServerId};
use crate::scenario::ScenarioError;

/// Servers as given on the command line: names in configuration order, their
/// weights, and which are marked down.
pub fn pool(servers: &str, weights: Option<&str>, down: Option<&str>) -> Result<Pool, ScenarioError> {
    let names: Vec<&str> = servers.split(',').map(str::trim).collect();
    if let Some(i) = names.iter().position(|n| n.is_empty()) {
        return Err(flag_error(
            "--servers",
            servers,
            item_offset(servers, i),
            "empty server name; expected HOST:PORT[,HOST:PORT...]",
        ));
    }
    let mut pool: Vec<Server> = names
        .iter()
        .map(|n| Server {
            name: n.to_string(),
            weight: 1,
            presence: Presence::Up,
        })
        .collect();
    if let Some(text) = weights {
        let items: Vec<&str> = text.split(',').collect();
        if items.len() != pool.len() {
            let message = format!(
                "{} weights for {} servers; give one per server",
                items.len(),
                pool.len()
            );
            return Err(flag_error("--weights", text, 0, message));
        }
        for (i, w) in items.iter().enumerate() {
            pool[i].weight = w
                .trim()
                .parse()
                .ok()
                .filter(|w| (1..=1000).contains(w))
                .ok_or_else(|| {
                    flag_error(
                        "--weights",
                        text,
                        item_offset(text, i),
                        "expected a whole number from 1 to 1000",
                    )
                })?;
        }
    }
    if let Some(text) = down {
        for (i, d) in text.split(',').enumerate() {
            let at = d
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&d| d < pool.len())
                .ok_or_else(|| {
                    let message = format!("expected a server position from 0 to {}", pool.len() - 1);
                    flag_error("--down", text, item_offset(text, i), message)
                })?;
            pool[at].presence = Presence::Down;
        }
    }
    if pool.iter().all(|s| s.presence == Presence::Down) {
        return Err(flag_error(
            "--down",
            down.unwrap_or_default(),
            0,
            "every server is down; at least one must be up",
        ));
    }
    Ok(Pool::new(pool))
}

/// One client: `IP` or `IP PORT`.
pub fn client(text: &str) -> Result<(Addr, u16), String> {
    let mut words = text.split_whitespace();
    let addr: Addr = words.next().unwrap_or_default().parse()?;
    let port = match words.next() {
        None => 0,
        Some(p) => p
            .parse()
            .map_err(|_| format!("invalid port {p:?}: expected a whole number from 0 to 65535"))?,
    };
    match words.next() {
        None => Ok((addr, port)),
        Some(extra) => Err(format!("unexpected {extra:?}: expected IP or IP PORT")),
    }
}

/// A policy with its servers, routing one client after another.
pub struct Router {
    policy: Box<dyn Policy>,
    pool: Pool,
    rng: StreamRng,
    next_user: u32,
}

impl Router {
    pub fn new(spec: &str, pool: Pool, clients: usize) -> Result<Router, ScenarioError> {
        let policy = policy::spec::parse(spec, 0)
            .and_then(|s| {
                policy::build(
                    &s,
                    &BuildContext {
                        pool: &pool,
                        expected_users: clients,
                    },
                )
            })
            .map_err(|e| flag_error("--policy", spec, e.offset, e.message))?;
        Ok(Router {
            policy,
            pool,
            rng: Stream::Policy.rng(0, 0, 0),
            next_user: 0,
        })
    }

    /// The server for the next client; each call is a new user (session).
    pub fn route(&mut self, addr: Addr, port: u16) -> &str {
        let client = Client {
            user: self.next_user,
            addr,
            port,
            connection: 0,
            new_connection: true,
        };
        self.next_user += 1;
        let s: ServerId = self.policy.pick(&client, 0, &self.pool, &mut self.rng).server;
        self.pool.name(s)
    }
}

fn flag_error(flag: &'static str, text: &str, offset: usize, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Flag {
        flag,
        text: text.to_string(),
        offset,
        message: message.into(),
    }
}

/// Byte offset of the `i`-th comma-separated item.
fn item_offset(text: &str, i: usize) -> usize {
    text.split(',').take(i).map(|s| s.len() + 1).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_weights_and_down() {
        let p = pool("a:1,b:2,c:3", Some("2,1,3"), Some("1")).unwrap();
        assert_eq!(p.up(), &[0, 2]);
        assert_eq!(p.configured(), &[0, 1, 2]);
        assert_eq!(p.weight(2), 3);
        let e = pool("a:1,b:2", Some("1,x"), None).unwrap_err().to_string();
        assert!(e.contains("--weights") && e.contains("from 1 to 1000"), "{e}");
        let e = pool("a:1,b:2", None, Some("2")).unwrap_err().to_string();
        assert!(e.contains("from 0 to 1"), "{e}");
        assert!(pool("a:1", None, Some("0")).is_err());
        assert!(pool("a:1,,b", None, None).is_err());
    }

    #[test]
    fn clients_and_routing() {
        assert_eq!(client("10.0.0.1").unwrap(), ("10.0.0.1".parse().unwrap(), 0));
        assert_eq!(client("10.0.0.1 8080").unwrap().1, 8080);
        assert!(client("10.0.0.300").is_err());
        assert!(client("10.0.0.1 80 x").is_err());
        let mut r = Router::new("round_robin", pool("a:1,b:2", None, None).unwrap(), 2).unwrap();
        let a = "10.0.0.1".parse().unwrap();
        assert_eq!([r.route(a, 0).to_string(), r.route(a, 0).to_string()], ["a:1", "b:2"]);
        let e = Router::new("ring(vnodes=0)", pool("a:1", None, None).unwrap(), 1)
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("--policy \"ring(vnodes=0)\": vnodes=0"), "{e}");
    }
}
