//! A user's concurrent connections, when it keeps several or they have a lifetime:
//! each has its own source port, idle clock and end of life, and the user's
//! requests take them in turn. With one connection and no lifetime the generator
//! keeps none of this, and the user's record alone decides when its connection
//! closes.

use crate::engine::time::{self, Stamp};
use crate::engine::{Stream, StreamRng, Time};
use crate::scenario::Scenario;
use crate::scenario::distribution::Sampler;

#[derive(Clone, Copy)]
struct Conn {
    port: u16,
    open: bool,
    /// When its latest request was sent: it idles from then.
    seen: Stamp,
    /// When it reaches its lifetime and closes.
    ends: Stamp,
}

const CLOSED: Conn = Conn {
    port: 0,
    open: false,
    seen: Stamp(0),
    ends: Stamp(0),
};

/// Every user's connections, `per_user` slots each.
pub struct Connections {
    per_user: usize,
    lifetime: Option<Sampler>,
    rng: StreamRng,
    slots: Vec<Conn>,
    /// Per user, the slot its next request takes.
    turn: Vec<u8>,
}

/// The connection a request rides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ride {
    pub slot: u8,
    /// The slot's connection closed (or never opened): the request opens one.
    pub closed: bool,
}

impl Connections {
    /// The scenario's connections, or none when each user has one that closes
    /// only by idling.
    pub fn new(sc: &Scenario, replication: u32) -> Option<Connections> {
        let per_user = *sc.sessions.connections.get_ref() as usize;
        let lifetime = sc.sessions.connection_lifetime.as_ref().map(|l| l.get_ref().sampler());
        (per_user > 1 || lifetime.is_some()).then(|| Connections {
            per_user,
            lifetime,
            // Apart from the ports and per-connection network choices, so those
            // draws stay as they are without lifetimes.
            rng: Stream::Connections.rng(sc.seed, replication, 1),
            slots: Vec::with_capacity(sc.user_capacity() * per_user),
            turn: Vec::with_capacity(sc.user_capacity()),
        })
    }

    /// The connection user `u`'s request at `now` rides: the next in turn, and
    /// whether it is closed, by idling past `keepalive` or reaching its lifetime.
    pub fn ride(&mut self, u: u32, now: Stamp, keepalive: Stamp) -> Ride {
        let (i, n) = (u as usize, self.per_user);
        if self.turn.len() <= i {
            self.turn.resize(i + 1, 0);
            self.slots.resize((i + 1) * n, CLOSED);
        }
        let slot = self.turn[i];
        self.turn[i] = ((slot as usize + 1) % n) as u8;
        let c = &mut self.slots[i * n + slot as usize];
        let closed = !c.open || now.since(c.seen) > keepalive || now >= c.ends;
        c.seen = now;
        Ride { slot, closed }
    }

    /// Opens the ridden slot's connection at `now` on `port`; an address change
    /// (`all`) breaks the user's other connections too.
    pub fn open(&mut self, u: u32, ride: Ride, port: u16, now: Stamp, all: bool) {
        let at = u as usize * self.per_user;
        if all {
            self.slots[at..at + self.per_user].fill(CLOSED);
        }
        let ends = match &self.lifetime {
            Some(l) => {
                Stamp::from(time::from_secs(l.sample(&mut self.rng)).saturating_add(now.0 as Time * time::MILLISECOND))
            }
            None => Stamp(u32::MAX),
        };
        self.slots[at + ride.slot as usize] = Conn {
            port,
            open: true,
            seen: now,
            ends,
        };
    }

    /// The slot user `u`'s latest request rode.
    pub fn latest(&self, u: u32) -> u8 {
        let next = self.turn.get(u as usize).map_or(0, |&t| t as usize);
        ((next + self.per_user - 1) % self.per_user) as u8
    }

    /// The source port of a slot's connection.
    pub fn port(&self, u: u32, slot: u8) -> u16 {
        self.slots[u as usize * self.per_user + slot as usize].port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        let text = format!(
            "name = \"t\"\nduration = \"1h\"\npolicies = [\"ip_hash\"]\n[arrivals]\nrate = \"1/s\"\n[sessions]\n{extra}\n[servers]\ncount = 2\n"
        );
        Scenario::parse(&text, std::path::Path::new("t.toml")).expect("valid")
    }

    #[test]
    fn none_without_several_connections_or_a_lifetime() {
        assert!(Connections::new(&scenario(""), 0).is_none());
        assert!(Connections::new(&scenario("connections = 2"), 0).is_some());
    }

    #[test]
    fn requests_take_the_connections_in_turn_and_each_idles_on_its_own() {
        let mut c = Connections::new(&scenario("connections = 2"), 0).unwrap();
        let keep = Stamp(75_000);
        let a = c.ride(3, Stamp(0), keep);
        assert_eq!(a, Ride { slot: 0, closed: true });
        c.open(3, a, 40_000, Stamp(0), false);
        let b = c.ride(3, Stamp(1_000), keep);
        assert_eq!(b, Ride { slot: 1, closed: true });
        c.open(3, b, 40_001, Stamp(1_000), false);
        assert_eq!(c.ride(3, Stamp(70_000), keep), Ride { slot: 0, closed: false });
        // Slot 1 was last used at 1 s: 79 s idle is past the keepalive.
        assert_eq!(c.ride(3, Stamp(80_000), keep), Ride { slot: 1, closed: true });
        assert_eq!((c.port(3, 0), c.port(3, 1)), (40_000, 40_001));
        // An address change breaks the other connection as well.
        c.open(3, Ride { slot: 1, closed: true }, 40_002, Stamp(80_000), true);
        assert!(c.ride(3, Stamp(81_000), keep).closed);
    }

    #[test]
    fn a_connection_closes_at_its_lifetime() {
        let mut c = Connections::new(
            &scenario("connection_lifetime = { dist = \"constant\", value = \"10s\" }"),
            0,
        )
        .unwrap();
        let keep = Stamp(3_600_000);
        let r = c.ride(0, Stamp(0), keep);
        c.open(0, r, 50_000, Stamp(0), false);
        assert!(!c.ride(0, Stamp(9_999), keep).closed);
        assert!(c.ride(0, Stamp(10_000), keep).closed);
    }
}
