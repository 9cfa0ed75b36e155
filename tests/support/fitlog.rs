//! A deterministic access-log generator with known population parameters, for
//! checking that `lbsim fit` recovers them: new users per hour, visits of
//! lognormal length with lognormal think times (truncated at the idle gap), return
//! visits after a Pareto delay, households sharing addresses, and gateways with
//! many users each. Written in the Combined Log Format, one user agent per user.

use std::fmt::Write;

/// What the log is generated from.
pub struct Population {
    pub seed: u64,
    /// New users per hour, from 00:00 UTC; the log covers these hours.
    pub hourly: Vec<f64>,
    pub requests_median: f64,
    pub requests_sigma: f64,
    pub think_median_s: f64,
    pub think_sigma: f64,
    pub idle_s: f64,
    pub return_share: f64,
    /// Pareto shape of the return delay; its scale is the idle gap.
    pub return_shape: f64,
    /// Households draw their address uniformly from this many per user.
    pub addresses_per_user: f64,
    /// Gateways, and the share of new users behind one of them.
    pub gateways: u32,
    pub gateway_share: f64,
}

/// What was generated: users in households, and the addresses they drew from.
pub struct Generated {
    pub log: String,
    pub home_users: u64,
    pub home_pool: u64,
}

/// splitmix64: small, deterministic, good enough for test traffic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        (-2.0 * self.uniform().ln()).sqrt() * (std::f64::consts::TAU * self.uniform()).cos()
    }
    fn exponential(&mut self, mean: f64) -> f64 {
        -mean * self.uniform().ln()
    }
}

/// The log's lines, in time order.
pub fn generate(p: &Population) -> Generated {
    let mut rng = Rng(p.seed);
    let end = p.hourly.len() as f64 * 3600.0;
    let mut hits: Vec<(u64, u32, u32)> = Vec::new(); // (second, address, user)
    let mut user = 0u32;
    let mut gateway_users = 0u32;
    let mut t = 0.0;
    let peak = p.hourly.iter().cloned().fold(0.0, f64::max);
    let households = 0x0a00_0000u32;
    let pool = (p.hourly.iter().sum::<f64>() * (1.0 - p.gateway_share) * p.addresses_per_user).max(1.0) as u64;
    loop {
        t += rng.exponential(3600.0 / peak);
        if t >= end {
            break;
        }
        if rng.uniform() * peak > p.hourly[(t / 3600.0) as usize] {
            continue;
        }
        // A share of arrivals behind gateways, the rest in households.
        let behind_gateway = rng.uniform() < p.gateway_share;
        let addr = if behind_gateway {
            gateway_users += 1;
            0xc633_6400 + (gateway_users % p.gateways) * 256
        } else {
            households + (scatter(rng.next() % pool) & 0x00ff_ffff)
        };
        let mut start = t;
        loop {
            let n = ((p.requests_median * (p.requests_sigma * rng.normal()).exp()).round() as u64).max(1);
            let mut at = start;
            for i in 0..n {
                if at >= end {
                    break;
                }
                hits.push((at as u64, addr, user));
                if i + 1 < n {
                    at += loop {
                        let g = p.think_median_s * (p.think_sigma * rng.normal()).exp();
                        if g <= p.idle_s {
                            break g;
                        }
                    };
                }
            }
            if rng.uniform() >= p.return_share {
                break;
            }
            start = at + p.idle_s * rng.uniform().powf(-1.0 / p.return_shape) + 1.0;
            if start >= end {
                break;
            }
        }
        user += 1;
    }
    hits.sort_by_key(|h| h.0);
    let mut log = String::new();
    for (s, addr, u) in hits {
        let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
        let ip = std::net::Ipv4Addr::from(addr);
        let _ = writeln!(
            log,
            "{ip} - - [01/Jul/2026:{h:02}:{m:02}:{sec:02} +0000] \"GET /p HTTP/1.1\" 200 512 \"-\" \"Agent/{u}\""
        );
    }
    Generated {
        log,
        home_users: (user - gateway_users) as u64,
        home_pool: pool,
    }
}

/// Spreads household indices over 10.0.0.0/8.
fn scatter(i: u64) -> u32 {
    ((i.wrapping_mul(0x9e37_79b1) ^ (i >> 7)) & 0x00ff_ffff) as u32
}
