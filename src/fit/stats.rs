//! The statistics a log and a simulated run are compared on, measured the same
//! way on both: from a stream of (time, address) requests alone.
//!
//! - Sessions are cut per address at an idle gap (the scenario's `state_ttl`, 30
//!   minutes by default), as a balancer keyed on addresses sees them: two people
//!   behind one address at once make one session here, in the log as in the run.
//! - Sessions per hour, for each hour of day: sessions started in that hour of the
//!   day, divided by how many hours of it the window covers (a log from 04:00 to
//!   07:40 covers 40 minutes of hour 7).
//! - Distinct addresses, and the imbalance of nginx's `ip_hash` over eight servers
//!   (the busiest server's requests over the mean), which is how unevenly address
//!   affinity spreads this population. Where the busiest server lands is a lottery
//!   over which networks the heavy clients happen to be in: one log is one draw of
//!   it, and two populations with the same clients in different networks differ by
//!   as much as ±0.1. So beside the log's own draw, the imbalance is also measured
//!   as its mean over [`PLACEMENTS`] placements: the same clients, each network
//!   moved to another by a bijection of the key nginx hashes, routed by nginx's own
//!   arithmetic. That mean is what a population determines, and what a fit is
//!   checked on.
//!
//! Times are from midnight (UTC for a log) of the window's first day.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::engine::time::{HOUR, Time};
use crate::policy::key::Addr;
use crate::route::{Router, pool};

/// The servers the imbalance is measured on.
pub const SERVERS: usize = 8;

/// The policy the imbalance is measured with.
pub const POLICY: &str = "nginx.ip_hash";

/// Placements the expected imbalance is averaged over: its spread falls as
/// 1/sqrt(placements), to about ±0.01 here.
pub const PLACEMENTS: u64 = 64;

/// An hour of day counts when the window covers at least this much of it.
const MIN_EXPOSURE: Time = 15 * crate::engine::time::MINUTE;

#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadStats {
    pub requests: u64,
    pub sessions: u64,
    /// Requests per session.
    pub mean: f64,
    pub median: f64,
    pub p90: f64,
    /// Sessions started per hour, by hour of day; `None` where the window covers
    /// less than a quarter of that hour.
    pub hourly: [Option<f64>; 24],
    pub addresses: u64,
    /// max/mean requests per server of nginx.ip_hash over eight servers.
    pub ip_hash_peak: f64,
    /// Its mean over [`PLACEMENTS`] placements of the same clients' networks.
    pub ip_hash_expected: f64,
}

/// Measures `requests`, in time order, seen in the window [`start`, `end`).
pub fn measure(requests: &[(Time, Addr)], start: Time, end: Time, idle: Time) -> WorkloadStats {
    let mut open: HashMap<Addr, (Time, u32)> = HashMap::new();
    let mut lengths = Vec::new();
    let mut started = [0u64; 24];
    let mut volume: HashMap<Addr, u64> = HashMap::new();
    let mut requests_in = 0u64;
    for &(t, addr) in requests.iter().filter(|r| (start..end).contains(&r.0)) {
        requests_in += 1;
        let entry = open.entry(addr).or_insert((Time::MAX, 0));
        if entry.0 == Time::MAX || t - entry.0 > idle {
            if entry.1 > 0 {
                lengths.push(entry.1);
            }
            *entry = (t, 0);
            started[hour_of_day(t)] += 1;
        }
        entry.0 = t;
        entry.1 += 1;
        *volume.entry(addr).or_insert(0) += 1;
    }
    lengths.extend(open.values().map(|e| e.1));
    lengths.sort_unstable();
    let exposure = exposure(start, end);
    let mut hourly = [None; 24];
    for h in 0..24 {
        if exposure[h] >= MIN_EXPOSURE {
            hourly[h] = Some(started[h] as f64 / (exposure[h] as f64 / HOUR as f64));
        }
    }
    let rank = |p: f64| {
        lengths
            .get(((p * lengths.len() as f64).ceil() as usize).max(1) - 1)
            .map_or(0.0, |&l| l as f64)
    };
    let mut clients: Vec<(Addr, u64)> = volume.into_iter().collect();
    clients.sort_unstable();
    let (mut router, names) = eight_servers();
    let placed: Vec<f64> = (0..PLACEMENTS)
        .map(|p| ip_hash_peak(&mut router, &names, &clients, p))
        .collect();
    WorkloadStats {
        requests: requests_in,
        sessions: lengths.len() as u64,
        mean: requests_in as f64 / lengths.len().max(1) as f64,
        median: rank(0.5),
        p90: rank(0.9),
        hourly,
        addresses: open.len() as u64,
        ip_hash_peak: placed[0],
        ip_hash_expected: placed.iter().sum::<f64>() / PLACEMENTS as f64,
    }
}

/// nginx.ip_hash over [`SERVERS`] servers, and their names.
fn eight_servers() -> (Router, Vec<String>) {
    let names: Vec<String> = (1..=SERVERS).map(|i| format!("s{i}")).collect();
    let servers = pool(&names.join(","), None, None).expect("eight named servers");
    let router = Router::new(POLICY, servers, 0).expect("nginx.ip_hash builds on eight servers");
    (router, names)
}

/// max/mean requests per server of `router` (nginx.ip_hash over the servers
/// `names`), for clients with their request counts, each moved by [`place`]
/// `placement`.
fn ip_hash_peak(router: &mut Router, names: &[String], clients: &[(Addr, u64)], placement: u64) -> f64 {
    let mut load = [0u64; SERVERS];
    for &(addr, n) in clients {
        let server = router.route(place(addr, placement), 0);
        load[names.iter().position(|s| s == server).expect("one of the eight")] += n;
    }
    let total: u64 = load.iter().sum();
    let mean = total as f64 / SERVERS as f64;
    load.iter().copied().max().unwrap_or(0) as f64 / mean.max(f64::MIN_POSITIVE)
}

/// `addr` with the part nginx's ip_hash keys on (an IPv4 address's first three
/// octets, an IPv6 address whole) moved by an affine bijection chosen by
/// `placement`: clients of one network stay together, in another network.
/// Placement 0 is the identity.
fn place(addr: Addr, placement: u64) -> Addr {
    if placement == 0 {
        return addr;
    }
    let mut z = crate::hash::fmix64(placement);
    let mul = (z | 1) as u128;
    z = crate::hash::fmix64(z);
    let add = z as u128;
    if addr.is_v4() {
        let v4 = addr.0 as u32;
        let net = ((v4 >> 8) as u128).wrapping_mul(mul).wrapping_add(add) as u32 & 0xff_ffff;
        Addr::v4((net << 8) | (v4 & 0xff))
    } else {
        Addr::v6(addr.0.wrapping_mul(mul | (mul << 64)).wrapping_add(add))
    }
}

pub fn hour_of_day(t: Time) -> usize {
    ((t / HOUR) % 24) as usize
}

/// How much of each hour of day the window [`start`, `end`) covers.
pub fn exposure(start: Time, end: Time) -> [Time; 24] {
    let mut covered = [0; 24];
    let mut t = start;
    while t < end {
        let next = ((t / HOUR + 1) * HOUR).min(end);
        covered[hour_of_day(t)] += next - t;
        t = next;
    }
    covered
}

impl WorkloadStats {
    /// The mean of each statistic over several runs (replications).
    pub fn average(runs: &[WorkloadStats]) -> WorkloadStats {
        let n = runs.len().max(1) as f64;
        let avg = |f: &dyn Fn(&WorkloadStats) -> f64| runs.iter().map(f).sum::<f64>() / n;
        let mut hourly = [None; 24];
        for (h, slot) in hourly.iter_mut().enumerate() {
            if runs.iter().all(|r| r.hourly[h].is_some()) {
                *slot = Some(avg(&|r| r.hourly[h].unwrap_or_default()));
            }
        }
        WorkloadStats {
            requests: avg(&|r| r.requests as f64).round() as u64,
            sessions: avg(&|r| r.sessions as f64).round() as u64,
            mean: avg(&|r| r.mean),
            median: avg(&|r| r.median),
            p90: avg(&|r| r.p90),
            hourly,
            addresses: avg(&|r| r.addresses as f64).round() as u64,
            ip_hash_peak: avg(&|r| r.ip_hash_peak),
            ip_hash_expected: avg(&|r| r.ip_hash_expected),
        }
    }

    pub fn to_json(&self) -> Value {
        let hourly: Vec<Value> = self.hourly.iter().map(|h| h.map_or(Value::Null, Value::from)).collect();
        json!({
            "requests": self.requests,
            "sessions": self.sessions,
            "requests_per_session_mean": self.mean,
            "requests_per_session_median": self.median,
            "requests_per_session_p90": self.p90,
            "sessions_per_hour": hourly,
            "distinct_addresses": self.addresses,
            "ip_hash_max_over_mean": self.ip_hash_peak,
            "ip_hash_max_over_mean_expected": self.ip_hash_expected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::{MINUTE, SECOND};

    #[test]
    fn sessions_are_cut_per_address_and_counted_by_hour() {
        let (a, b) = (Addr::v4(0x0a00_0001), Addr::v4(0x0b00_0001));
        let t0 = 4 * HOUR;
        let requests = [
            (t0, a),
            (t0 + SECOND, b),
            (t0 + 10 * MINUTE, a),
            (t0 + 50 * MINUTE, a),
            (t0 + 61 * MINUTE, b),
        ];
        let s = measure(&requests, t0, t0 + 2 * HOUR, 30 * MINUTE);
        assert_eq!((s.requests, s.sessions, s.addresses), (5, 4, 2));
        assert_eq!((s.median, s.p90), (1.0, 2.0));
        assert_eq!((s.hourly[4], s.hourly[5], s.hourly[6]), (Some(3.0), Some(1.0), None));
        assert!(s.ip_hash_peak >= 1.0);
    }

    #[test]
    fn a_placement_keeps_each_network_together_and_networks_apart() {
        let a = Addr::v4(0x0a00_0001);
        let same_net = Addr::v4(0x0a00_00fe);
        let other = Addr::v4(0x0a00_0101);
        assert_eq!(place(a, 0), a, "placement 0 is where the clients are");
        for p in 1..PLACEMENTS {
            let (x, y, z) = (place(a, p), place(same_net, p), place(other, p));
            assert!(x.is_v4() && x.prefix() == y.prefix() && x.prefix() != z.prefix(), "{p}");
            assert_eq!((x.0 & 0xff, y.0 & 0xff), (0x01, 0xfe), "the host part stays");
        }
        let moved = (1..PLACEMENTS).filter(|&p| place(a, p).prefix() != a.prefix()).count();
        assert!(moved as u64 >= PLACEMENTS - 2, "{moved}");
    }

    #[test]
    fn one_heavy_network_sets_the_imbalance_wherever_it_lands() {
        // One client with as many requests as 70 others together: its server holds
        // at least half of all requests, 4 times the mean, in every placement.
        let mut clients: Vec<(Addr, u64)> = (0..70u32).map(|i| (Addr::v4((i + 1) << 8), 1)).collect();
        clients.push((Addr::v4(0xc0a8_0000), 70));
        let (mut router, names) = eight_servers();
        for p in 0..PLACEMENTS {
            assert!(ip_hash_peak(&mut router, &names, &clients, p) >= 4.0, "{p}");
        }
    }

    #[test]
    fn exposure_covers_partial_hours() {
        let e = exposure(4 * HOUR + 30 * MINUTE, 7 * HOUR + 40 * MINUTE);
        assert_eq!((e[4], e[5], e[7], e[8]), (30 * MINUTE, HOUR, 40 * MINUTE, 0));
    }
}
