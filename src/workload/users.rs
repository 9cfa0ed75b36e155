//! Per-user state of the workload, as flat arrays indexed by user id.
//!
//! Address changes are worked out lazily: a mobile user keeps only the time of its
//! next WiFi/cellular switch, and the switches due are applied when it next sends a
//! request. No per-user timers sit in the calendar.

use crate::engine::Time;

/// The network index of scripted users, which have no synthetic network.
pub const SCRIPTED: u8 = u8::MAX;

const ON_CELL: u8 = 1;
const LAST_ON_CELL: u8 = 2;
const IPV6: u8 = 4;

#[derive(Default)]
pub struct Users {
    /// Index into the workload's networks, or SCRIPTED.
    pub net: Vec<u8>,
    flags: Vec<u8>,
    /// Home, CGNAT or WiFi address index; for scripted users, the script index.
    pub home: Vec<u32>,
    /// Current cellular address index (mobile users).
    pub cell: Vec<u32>,
    /// Cellular address index at the previous request.
    pub last_cell: Vec<u32>,
    /// Next WiFi/cellular switch (mobile users).
    pub next_switch: Vec<Time>,
    /// Requests left in the current visit.
    pub remaining: Vec<u32>,
    /// Source port of the current visit's connection.
    pub port: Vec<u16>,
}

impl Users {
    pub fn with_capacity(n: usize) -> Users {
        Users {
            net: Vec::with_capacity(n),
            flags: Vec::with_capacity(n),
            home: Vec::with_capacity(n),
            cell: Vec::with_capacity(n),
            last_cell: Vec::with_capacity(n),
            next_switch: Vec::with_capacity(n),
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
        self.cell.push(0);
        self.last_cell.push(0);
        self.next_switch.push(next_switch);
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

    pub fn last_on_cell(&self, u: u32) -> bool {
        self.flags[u as usize] & LAST_ON_CELL != 0
    }

    pub fn set_on_cell(&mut self, u: u32, on: bool) {
        set(&mut self.flags[u as usize], ON_CELL, on);
    }

    /// Records the attachment the latest request went out on.
    pub fn remember_attachment(&mut self, u: u32) {
        let i = u as usize;
        let on = self.flags[i] & ON_CELL != 0;
        set(&mut self.flags[i], LAST_ON_CELL, on);
        self.last_cell[i] = self.cell[i];
    }
}

fn set(flags: &mut u8, bit: u8, on: bool) {
    if on {
        *flags |= bit;
    } else {
        *flags &= !bit;
    }
}
