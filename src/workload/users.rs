//! Per-user state of the workload, as flat arrays indexed by user id.
//!
//! Address changes are worked out lazily: a mobile user keeps only the time of its
//! next WiFi/cellular switch, and the switches due are applied when it next sends a
//! request; renumbering and temporary-address rotation are functions of time. No
//! per-user timers sit in the calendar. A user costs 32 bytes here.

use crate::engine::Time;
use crate::engine::time::Stamp;

use super::network::Packed;

/// The network index of scripted users, which have no synthetic network.
pub const SCRIPTED: u8 = u8::MAX;

const ON_CELL: u8 = 1;
/// Dual-stack: the user's connections go out over IPv6 unless Happy Eyeballs says otherwise.
const IPV6: u8 = 2;
/// The current connection went out over IPv4 although the user is dual-stack.
const CONN_V4: u8 = 4;
/// The user has sent a request (its `last` address and `seen` time are set).
const STARTED: u8 = 8;

#[derive(Default)]
pub struct Users {
    /// Index into the workload's networks, or SCRIPTED.
    pub net: Vec<u8>,
    flags: Vec<u8>,
    /// Home or WiFi address index, the CGNAT address index in use, the enterprise
    /// site; for scripted users, the script index.
    pub home: Vec<u32>,
    /// Cellular address index (mobile users), or egress choice (enterprise users).
    pub cur: Vec<u32>,
    /// The address the latest request came from.
    pub last: Vec<Packed>,
    /// Next WiFi/cellular switch (mobile users), to the millisecond.
    pub next_switch: Vec<Stamp>,
    /// When the latest request was sent: its connection idles from then.
    pub seen: Vec<Stamp>,
    /// Requests left in the current visit.
    pub remaining: Vec<u32>,
    /// Source port of the current connection.
    pub port: Vec<u16>,
}

impl Users {
    pub fn with_capacity(n: usize) -> Users {
        Users {
            net: Vec::with_capacity(n),
            flags: Vec::with_capacity(n),
            home: Vec::with_capacity(n),
            cur: Vec::with_capacity(n),
            last: Vec::with_capacity(n),
            next_switch: Vec::with_capacity(n),
            seen: Vec::with_capacity(n),
            remaining: Vec::with_capacity(n),
            port: Vec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.net.len()
    }

    pub fn is_empty(&self) -> bool {
        self.net.is_empty()
    }

    /// Adds a user and returns its id.
    pub fn push(&mut self, net: u8, home: u32, ipv6: bool, next_switch: Time) -> u32 {
        let id = self.net.len() as u32;
        self.net.push(net);
        self.flags.push(if ipv6 { IPV6 } else { 0 });
        self.home.push(home);
        self.cur.push(0);
        self.last.push(Packed::default());
        self.next_switch.push(Stamp::from(next_switch));
        self.seen.push(Stamp(0));
        self.remaining.push(0);
        self.port.push(0);
        id
    }

    pub fn ipv6(&self, u: u32) -> bool {
        self.flags[u as usize] & IPV6 != 0
    }

    pub fn on_cell(&self, u: u32) -> bool {
        self.flags[u as usize] & ON_CELL != 0
    }

    pub fn set_on_cell(&mut self, u: u32, on: bool) {
        set(&mut self.flags[u as usize], ON_CELL, on);
    }

    pub fn conn_v4(&self, u: u32) -> bool {
        self.flags[u as usize] & CONN_V4 != 0
    }

    pub fn set_conn_v4(&mut self, u: u32, on: bool) {
        set(&mut self.flags[u as usize], CONN_V4, on);
    }

    pub fn started(&self, u: u32) -> bool {
        self.flags[u as usize] & STARTED != 0
    }

    pub fn set_started(&mut self, u: u32) {
        set(&mut self.flags[u as usize], STARTED, true);
    }
}

fn set(flags: &mut u8, bit: u8, on: bool) {
    if on {
        *flags |= bit;
    } else {
        *flags &= !bit;
    }
}
