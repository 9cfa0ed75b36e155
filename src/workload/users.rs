//! Per-user state of the workload: one 32-byte record per user, indexed by user
//! id, so that an event touches one cache line of its user.
//!
//! Address changes are worked out lazily: a mobile user keeps only the time of its
//! next WiFi/cellular switch, and the switches due are applied when it next sends a
//! request; renumbering and temporary-address rotation are functions of time. No
//! per-user timers sit in the calendar.

use std::ops::{Index, IndexMut};

use crate::engine::Time;
use crate::engine::time::Stamp;

use super::packed::Packed;

/// The network index of scripted users, which have no synthetic network.
pub const SCRIPTED: u8 = u8::MAX;

const ON_CELL: u8 = 1;
/// Dual-stack: the user's connections go out over IPv6 unless Happy Eyeballs says otherwise.
const IPV6: u8 = 2;
/// The current connection went out over IPv4 although the user is dual-stack.
const CONN_V4: u8 = 4;
/// The user has sent a request (its `last` address and `seen` time are set).
const STARTED: u8 = 8;

/// One user.
#[derive(Clone, Copy)]
pub struct User {
    /// The address the latest request came from.
    pub last: Packed,
    /// Home or WiFi address index, the CGNAT address index in use, the enterprise
    /// site; for scripted users, the script index.
    pub home: u32,
    /// Cellular address index (mobile users), or egress choice (enterprise users).
    pub cur: u32,
    /// Next WiFi/cellular switch (mobile users), to the millisecond.
    pub next_switch: Stamp,
    /// When the latest request was sent: its connection idles from then.
    pub seen: Stamp,
    /// Requests left in the current visit.
    pub remaining: u32,
    /// Source port of the current connection.
    pub port: u16,
    /// Index into the workload's networks, or SCRIPTED.
    pub net: u8,
    flags: u8,
}

impl User {
    pub fn ipv6(&self) -> bool {
        self.flags & IPV6 != 0
    }

    pub fn on_cell(&self) -> bool {
        self.flags & ON_CELL != 0
    }

    pub fn set_on_cell(&mut self, on: bool) {
        self.set(ON_CELL, on);
    }

    pub fn conn_v4(&self) -> bool {
        self.flags & CONN_V4 != 0
    }

    pub fn set_conn_v4(&mut self, on: bool) {
        self.set(CONN_V4, on);
    }

    pub fn started(&self) -> bool {
        self.flags & STARTED != 0
    }

    pub fn set_started(&mut self) {
        self.set(STARTED, true);
    }

    fn set(&mut self, bit: u8, on: bool) {
        if on {
            self.flags |= bit;
        } else {
            self.flags &= !bit;
        }
    }
}

#[derive(Default)]
pub struct Users(Vec<User>);

impl Users {
    pub fn with_capacity(n: usize) -> Users {
        Users(Vec::with_capacity(n))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a user and returns its id.
    pub fn push(&mut self, net: u8, home: u32, ipv6: bool, next_switch: Time) -> u32 {
        let id = self.0.len() as u32;
        self.0.push(User {
            last: Packed::default(),
            home,
            cur: 0,
            next_switch: Stamp::from(next_switch),
            seen: Stamp(0),
            remaining: 0,
            port: 0,
            net,
            flags: if ipv6 { IPV6 } else { 0 },
        });
        id
    }
}

impl Index<u32> for Users {
    type Output = User;

    fn index(&self, u: u32) -> &User {
        &self.0[u as usize]
    }
}

impl IndexMut<u32> for Users {
    fn index_mut(&mut self, u: u32) -> &mut User {
        &mut self.0[u as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_32_bytes() {
        assert_eq!(std::mem::size_of::<User>(), 32);
    }
}
