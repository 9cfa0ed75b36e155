//! nginx `hash $remote_addr consistent`: a ketama ring, compatible with Perl's
//! Cache::Memcached::Fast. Each `server` line puts 160 points per unit of weight
//! on a 32-bit circle, chained CRC-32s of its own name, and a client goes to the
//! first point at or after the CRC-32 of its key.
//!
//! The points depend only on the server names, so every nginx with the same
//! `server` lines agrees, whatever their order. Adding a server takes about
//! 1/(N+1) of the clients, all of them onto the new server; removing one moves only
//! its own clients. A server marked down keeps its points: its clients walk on to
//! the next point, up to 20 points further, then go to round robin.

use super::crc32::{Crc32, crc32};
use super::key_bytes::KeyBytes;
use super::round_robin::Smooth;
use super::{Choice, TRIES};
use crate::engine::{StreamRng, Time};
use crate::hash::ring_index::RingIndex;
use crate::policy::{Affinity, Client, Key, Pick, Policy};
use crate::pool::{Pool, ServerId};

/// Points on the ring per unit of server weight.
pub const POINTS_PER_WEIGHT: u32 = 160;

/// The largest ring lbsim builds (128 MiB of points and owners).
pub const MAX_POINTS: u64 = 1 << 24;

/// The ring points of one `server` line: nginx splits the name at its last ':'
/// if only digits follow, hashes HOST, a zero byte and PORT, then chains each
/// point's CRC from that state and the previous point, little-endian.
fn points(name: &str, weight: u32) -> impl Iterator<Item = u32> {
    let (host, port) = match name.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("unix:") => (&name[5..], ""),
        _ => match name.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => (host, port),
            _ => (name, ""),
        },
    };
    let base = Crc32::new()
        .update(host.as_bytes())
        .update(&[0])
        .update(port.as_bytes());
    (0..POINTS_PER_WEIGHT * weight).scan(0u32, move |prev, _| {
        *prev = base.update(&prev.to_le_bytes()).finish();
        Some(*prev)
    })
}

pub struct Ketama {
    key: Key,
    /// The address's bytes are hashed instead of its text (`$binary_remote_addr`).
    binary: bool,
    /// The configured servers the ring was built from.
    configured: Vec<ServerId>,
    /// The ring: point values, sorted, each value once, and the name group owning each.
    points: Vec<u32>,
    groups: Vec<u32>,
    index: RingIndex,
    /// Servers of each name group, in configuration order: `members[starts[g]..starts[g + 1]]`.
    /// A name is one `server` line; lbsim servers mostly have names of their own.
    starts: Vec<u32>,
    members: Vec<ServerId>,
    rr: Smooth,
}

impl Ketama {
    pub fn new(pool: &Pool, key: Key, binary: bool) -> Ketama {
        let mut k = Ketama {
            key,
            binary,
            configured: Vec::new(),
            points: Vec::new(),
            groups: Vec::new(),
            index: RingIndex::default(),
            starts: Vec::new(),
            members: Vec::new(),
            rr: Smooth::new(pool),
        };
        k.build(pool);
        k
    }

    /// Builds the ring over every configured server, down ones included.
    fn build(&mut self, pool: &Pool) {
        self.configured = pool.configured().to_vec();
        let mut names: Vec<(&str, ServerId)> = self.configured.iter().map(|&s| (pool.name(s), s)).collect();
        names.sort_by_key(|&(name, _)| name);
        self.members = names.iter().map(|&(_, s)| s).collect();
        self.starts = (0..names.len())
            .filter(|&i| i == 0 || names[i - 1].0 != names[i].0)
            .chain([names.len()])
            .map(|i| i as u32)
            .collect();
        let mut group = vec![0u32; pool.len()];
        for g in 0..self.starts.len() - 1 {
            for &s in &self.members[self.starts[g] as usize..self.starts[g + 1] as usize] {
                group[s as usize] = g as u32;
            }
        }
        // Points in configuration order, so that a stable sort keeps the first
        // server's point where two values are equal, as glibc's qsort (a merge sort) does.
        let mut ring: Vec<(u32, u32)> = Vec::new();
        for &s in &self.configured {
            let g = group[s as usize];
            ring.extend(points(pool.name(s), pool.weight(s)).map(|p| (p, g)));
        }
        ring.sort_by_key(|&(p, _)| p);
        ring.dedup_by_key(|&mut (p, _)| p);
        (self.points, self.groups) = ring.into_iter().unzip();
        self.index = RingIndex::new(&self.points);
    }

    /// The servers of name group `g`.
    fn group(&self, g: u32) -> &[ServerId] {
        &self.members[self.starts[g as usize] as usize..self.starts[g as usize + 1] as usize]
    }

    /// The name group that takes the client: the first of 21 points from its own on
    /// that has a server up, with how many of that group's servers are up.
    fn lookup(&self, client: &Client, pool: &Pool) -> Option<(u32, usize)> {
        if self.configured.len() < 2 {
            return None;
        }
        let h = crc32(KeyBytes::default().hashed(self.key, self.binary, client));
        let first = self.index.first_at_or_after(&self.points, h);
        (0..TRIES as usize).find_map(|t| {
            let g = self.groups[(first + t) % self.groups.len()];
            let up = self.group(g).iter().filter(|&&s| pool.is_up(s)).count();
            (up > 0).then_some((g, up))
        })
    }

    fn choose(&self, client: &Client, pool: &Pool) -> Choice {
        match self.lookup(client, pool) {
            Some((g, 1)) => Choice::Server(*self.group(g).iter().find(|&&s| pool.is_up(s)).expect("one is up")),
            _ => Choice::RoundRobin,
        }
    }
}

impl Policy for Ketama {
    fn pick(&mut self, client: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        let server = match self.lookup(client, pool) {
            // Servers sharing a name share its points; nginx takes turns among them
            // by round robin, which also moves a lone server's effective weight.
            Some((g, _)) => {
                let (start, end) = (self.starts[g as usize] as usize, self.starts[g as usize + 1] as usize);
                let members = &self.members[start..end];
                self.rr
                    .among(pool, members.iter().copied().filter(|&s| pool.is_up(s)))
                    .expect("the group has a server up")
            }
            None => self.rr.next(pool),
        };
        Pick::stateless(server)
    }

    fn peek(&self, client: &Client, _: Time, pool: &Pool) -> Option<ServerId> {
        self.choose(client, pool).server()
    }

    fn pool_changed(&mut self, pool: &Pool) {
        if self.rr.pool_changed(pool) {
            self.build(pool);
        }
    }

    fn affinity(&self) -> Affinity {
        self.key.affinity()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::weighted;
    use super::*;
    use crate::engine::Stream;
    use crate::policy::testing::servers;
    use crate::policy::testing::{
        at, built, client, failure_moves_only_its_clients, moved_share, pool, pool_with_spare, shares,
    };
    use crate::pool::PoolChangeKind;
    use proptest::prelude::*;

    fn named(names: &[&str], weights: &[u32], down: &[usize]) -> Pool {
        servers(names, weights, down)
    }

    const SERVERS: [&str; 3] = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"];
    const CLIENTS: [&str; 6] = [
        "192.168.1.10",
        "192.168.1.200",
        "10.0.0.1",
        "172.16.5.4",
        "8.8.8.8",
        "203.0.113.7",
    ];

    #[test]
    fn reference_vectors() {
        // Reference §2b, from a model that matched a real nginx build.
        let first: Vec<u32> = points("10.0.0.1:80", 1).take(2).collect();
        assert_eq!(first, [2_729_270_614, 199_143_595]);
        let pool = named(&SERVERS, &[1, 1, 1], &[]);
        let ring = built("nginx.hash(consistent=on)", &pool);
        let picks: Vec<_> = CLIENTS.iter().map(|ip| ring.peek(&at(ip), 0, &pool).unwrap()).collect();
        assert_eq!(picks, [1, 2, 1, 2, 1, 0]);
    }

    #[test]
    fn names_split_at_a_numeric_port() {
        let first = |name: &str| points(name, 1).next().unwrap();
        let state = |host: &[u8], port: &[u8]| {
            let base = Crc32::new().update(host).update(&[0]).update(port);
            base.update(&[0; 4]).finish()
        };
        assert_eq!(first("10.0.0.1:80"), state(b"10.0.0.1", b"80"));
        assert_eq!(first("backend.example.com"), state(b"backend.example.com", b""));
        assert_eq!(first("web:http"), state(b"web:http", b""), "not digits: no port");
        assert_eq!(first("[::1]:8080"), state(b"[::1]", b"8080"));
        assert_eq!(first("unix:/tmp/app.sock"), state(b"/tmp/app.sock", b""));
        assert_eq!(points("s1", 3).count(), 480);
    }

    #[test]
    fn down_servers_stay_on_the_ring() {
        let up = named(&SERVERS, &[1, 1, 1], &[]);
        let down = named(&SERVERS, &[1, 1, 1], &[1]);
        let (a, b) = (
            Ketama::new(&up, Key::Source, false),
            Ketama::new(&down, Key::Source, false),
        );
        assert_eq!((&a.points, &a.groups), (&b.points, &b.groups));
        for ip in CLIENTS {
            let (was, now) = (a.peek(&at(ip), 0, &up).unwrap(), b.peek(&at(ip), 0, &down).unwrap());
            assert!(was == now || (was == 1 && now != 1), "{ip}: {was} -> {now}");
        }
    }

    #[test]
    fn servers_sharing_a_name_share_its_points_and_take_turns() {
        // One `server` name resolving to two addresses: two peers, one set of points.
        let pool = named(&["app:80", "app:80", "other:80"], &[1, 1, 1], &[]);
        let mut ring = built("nginx.hash(consistent=on)", &pool);
        let c = (0..1000)
            .map(client)
            .find(|c| ring.peek(c, 0, &pool).is_none())
            .unwrap();
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let turns: Vec<_> = (0..4).map(|_| ring.pick(&c, 0, &pool, &mut rng).server).collect();
        assert_eq!(turns, [0, 1, 0, 1]);
    }

    #[test]
    fn with_no_server_up_within_21_points_round_robin_decides() {
        let down: Vec<usize> = (0..29).collect();
        let pool = weighted(&[1; 30], &down);
        let mut ring = built("nginx.hash(consistent=on)", &pool);
        let c = (0..2000).map(client).find(|c| ring.peek(c, 0, &pool).is_none());
        let mut rng = Stream::Policy.rng(1, 0, 0);
        assert_eq!(
            ring.pick(&c.expect("a client far from server 29"), 0, &pool, &mut rng)
                .server,
            29
        );
    }

    #[test]
    fn adding_a_server_moves_about_one_over_n_plus_1_all_to_it() {
        for n in [4usize, 10] {
            let text = "nginx.hash(consistent=on)";
            let mut p = pool_with_spare(n, 1);
            let moved = moved_share(text, p.clone(), 20_000, PoolChangeKind::Add(n as u32));
            let want = 1.0 / (n + 1) as f64;
            assert!(
                (moved - want).abs() < want * 0.3,
                "n={n}: moved {moved}, expected {want}"
            );
            let mut ring = built(text, &p);
            let before: Vec<_> = (0..2000).map(|i| ring.peek(&client(i), 0, &p)).collect();
            assert!(p.apply(&PoolChangeKind::Add(n as u32)));
            ring.pool_changed(&p);
            for i in 0..2000 {
                let now = ring.peek(&client(i), 0, &p);
                assert!(now == before[i as usize] || now == Some(n as u32));
            }
        }
    }

    #[test]
    fn removing_a_server_moves_only_its_clients() {
        let p = pool(6);
        let ring = built("nginx.hash(consistent=on)", &p);
        let owned = (0..20_000).filter(|&i| ring.peek(&client(i), 0, &p) == Some(2)).count();
        let moved = moved_share("nginx.hash(consistent=on)", pool(6), 20_000, PoolChangeKind::Remove(2));
        assert_eq!(moved, owned as f64 / 20_000.0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Marking a server down moves its clients and nobody else's.
        #[test]
        fn down_moves_only_that_servers_clients(
            weights in prop::collection::vec(1u32..4, 2..7),
            which in 0usize..7,
        ) {
            let which = (which % weights.len()) as ServerId;
            let moved = failure_moves_only_its_clients("nginx.hash(consistent=on)", weighted(&weights, &[]), which, 3000);
            prop_assert_eq!(moved, Ok(()));
        }

        /// Each server's share of clients follows its weight, within what 160 points
        /// per unit of weight allow (a relative spread of about 1/sqrt(160·w)).
        #[test]
        fn shares_follow_weights(weights in prop::collection::vec(1u32..5, 2..6)) {
            let pool = weighted(&weights, &[]);
            let seen = shares(built("nginx.hash(consistent=on)", &pool).as_ref(), &pool, 20_000);
            let total: u32 = weights.iter().sum();
            for (s, w) in weights.iter().enumerate() {
                let (want, got) = (*w as f64 / total as f64, seen[s]);
                prop_assert!((got - want).abs() < 0.25 * want, "server {s}: {got} of clients, weight share {want}");
            }
        }
    }
}
