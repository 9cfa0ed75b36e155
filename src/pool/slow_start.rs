//! Slow start: a server that comes back (recovered, or added to the pool) gets its
//! weight back over a window instead of at once, so a cold server is not swamped
//! by a load-aware policy that sees it idle. Each product ramps its own way:
//!
//! - nginx `slow_start=time` (ngx_http_upstream_module, `server`, commercial
//!   subscription): "the time during which the server will recover its weight from
//!   zero to a nominal value, when unhealthy server becomes healthy, or when the
//!   server becomes available after a period of time it was considered
//!   unavailable"; not with `hash`, `ip_hash` or `random`; ignored in a group of
//!   one server. nginx Plus's code is not public: lbsim ramps linearly, on a scale
//!   of 100 units per unit of weight, in steps of a hundredth of the window (at
//!   most 1 s), from one unit.
//! - HAProxy `slowstart` (configuration manual, server keyword): "the weight grows
//!   linearly from 1 to 100%" for dynamic algorithms, only after a server was seen
//!   failed, never at start. HAProxy's effective weight is the user weight times
//!   16 (BE_WEIGHT_SCALE) at full speed; in slow start it is the user weight times
//!   (16·e + s) / s in integers, e the whole seconds since the server came up and
//!   s the slowstart in whole seconds (rounded up), recomputed by the server's
//!   warm-up task every second. In the consistent tree (lb_chash.c) the effective
//!   weight is the number of the server's nodes present, its first ones.
//! - Envoy `slow_start_config` (round_robin_lb_config, least_request_lb_config;
//!   arch overview "Slow start mode"): weight × max(min_weight_percent,
//!   time_factor^(1/aggression)), time_factor = max(time since the host joined or
//!   passed its health check again, 1 ms) / slow_start_window. Envoy's weights are
//!   real numbers, recomputed as its scheduler re-adds a host; lbsim keeps them on
//!   a scale of 1000 units per unit of weight, in steps of a hundredth of the
//!   window (at most 1 s).
//!
//! Weights change at those steps only: the workload stops at each, as at a pool
//! change, so a run without slow start pays nothing, and one with it pays per
//! step, not per request.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Pool, ServerId};
use crate::engine::time::{MILLISECOND, SECOND, Time};
use crate::policy::spec::{self, Spec};

/// Whose slow start is modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    Nginx,
    Haproxy,
    Envoy,
}

impl Product {
    pub fn name(self) -> &'static str {
        match self {
            Product::Nginx => "nginx",
            Product::Haproxy => "haproxy",
            Product::Envoy => "envoy",
        }
    }
}

/// A checked slow-start setting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlowStart {
    pub product: Product,
    pub window: Time,
    /// Envoy's `aggression` (1.0: linear).
    pub aggression: f64,
    /// Envoy's `min_weight_percent`, as a share (0.1).
    pub min_weight: f64,
}

/// What a slow-start setting does to a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Its weights ramp.
    Ramped,
    /// The product does not ramp it (a static or hash method, or another
    /// product's policy).
    Unaffected,
    /// The product refuses the combination (nginx with `hash`, `ip_hash`, `random`).
    Refused,
}

impl SlowStart {
    /// What the setting does to the policy `spec`, as the product does: the
    /// policies lbsim gives for the product's dynamic (weighted) methods ramp, and
    /// a wrapper (a stick table, a session store, per-connection picking) ramps as
    /// the policy whose picks it keeps.
    pub fn reach(&self, spec: &Spec) -> Reach {
        self.decider(spec).0
    }

    /// The reach of `spec` and the policy that decides it: `spec`, or the one it wraps.
    pub fn decider(&self, spec: &Spec) -> (Reach, Spec) {
        let arg = |key: &str| spec.args.iter().find(|a| a.key == key);
        let reach = match (self.product, spec.name.as_str()) {
            (Product::Nginx, "nginx.round_robin" | "nginx.least_conn" | "round_robin" | "least_conn") => Reach::Ramped,
            // `random two least_conn` is lbsim's p2c.
            (Product::Nginx, "nginx.hash" | "nginx.ip_hash" | "random" | "p2c") => Reach::Refused,
            // roundrobin, leastconn and random (drawn from the consistent tree).
            (Product::Haproxy, "round_robin" | "least_conn" | "random") => Reach::Ramped,
            // `hash-type consistent` is dynamic: a ramping server has as many tree
            // nodes as its effective weight. Map-based hashing is static.
            (Product::Haproxy, "haproxy.source") if arg("hash_type").is_some_and(|a| a.value == "consistent") => {
                Reach::Ramped
            }
            // ROUND_ROBIN and LEAST_REQUEST.
            (Product::Envoy, "round_robin" | "p2c") => Reach::Ramped,
            _ => match arg("base").and_then(|a| spec::parse(&a.value, a.value_offset).ok()) {
                Some(base) => return self.decider(&base),
                None => Reach::Unaffected,
            },
        };
        (reach, spec.clone())
    }

    /// Weight units per unit of configured weight.
    pub fn scale(&self) -> u32 {
        match self.product {
            Product::Nginx => 100,
            Product::Haproxy => 16,
            Product::Envoy => 1000,
        }
    }

    /// Time between two weight updates of a ramping server.
    pub fn step(&self) -> Time {
        match self.product {
            Product::Haproxy => SECOND,
            Product::Nginx | Product::Envoy => (self.window / 100).clamp(1, SECOND),
        }
    }

    /// The weight, in units of [`scale`](Self::scale), of a server of configured
    /// weight `nominal` that came back `elapsed` ago; `None` once the ramp is over.
    pub fn weight(&self, nominal: u32, elapsed: Time) -> Option<u32> {
        let nominal = nominal as u64;
        match self.product {
            Product::Nginx => (elapsed < self.window).then(|| (nominal * 100 * elapsed / self.window).max(1) as u32),
            Product::Haproxy => {
                let s = self.window.div_ceil(SECOND);
                let e = elapsed / SECOND;
                (e < s).then(|| (nominal * ((16 * e + s) / s)) as u32)
            }
            Product::Envoy => (elapsed < self.window).then(|| {
                let time_factor = elapsed.max(MILLISECOND) as f64 / self.window as f64;
                let factor = if self.aggression == 1.0 {
                    time_factor
                } else {
                    time_factor.powf(1.0 / self.aggression)
                };
                ((nominal * 1000) as f64 * factor.max(self.min_weight)).round().max(1.0) as u32
            }),
        }
    }
}

/// A lane's ramping servers: the pool's weights are kept in the ramp's units
/// while the lane runs.
#[derive(Clone, Debug)]
pub struct Ramps {
    slow_start: SlowStart,
    /// Configured weight of every server, by id.
    nominal: Vec<u32>,
    /// Servers in slow start, with the time each came back.
    ramping: Vec<(ServerId, Time)>,
    /// When the next weight update is due.
    next: Time,
}

impl Ramps {
    /// Puts `pool`'s weights in the ramp's units.
    pub fn new(slow_start: SlowStart, pool: &mut Pool) -> Ramps {
        let nominal = pool.servers().iter().map(|s| s.weight).collect();
        pool.scale_weights(slow_start.scale());
        Ramps {
            slow_start,
            nominal,
            ramping: Vec::new(),
            next: Time::MAX,
        }
    }

    /// When the next weight update is due (never when nothing ramps).
    pub fn next(&self) -> Time {
        self.next
    }

    /// The names of the servers in slow start, for a record of what a step moved.
    pub fn ramping_names(&self, pool: &Pool) -> String {
        let names: Vec<&str> = self.ramping.iter().map(|&(s, _)| pool.name(s)).collect();
        names.join(" ")
    }

    /// Whether a weight update is due at `now`.
    pub fn due(&self, now: Time) -> bool {
        now >= self.next
    }

    /// Server `s` came back at `now`: its weight starts low.
    pub fn start(&mut self, s: ServerId, now: Time, pool: &mut Pool) {
        self.ramping.retain(|&(r, _)| r != s);
        self.ramping.push((s, now));
        self.update(now, pool);
    }

    /// Server `s` left or failed: it leaves slow start with its full weight.
    pub fn stop(&mut self, s: ServerId, now: Time, pool: &mut Pool) {
        if self.ramping.iter().any(|&(r, _)| r == s) {
            self.ramping.retain(|&(r, _)| r != s);
            pool.set_weight(s, self.full(s));
            self.update(now, pool);
        }
    }

    /// Sets every ramping server's weight as of its last step at or before `now`,
    /// ends the ramps that are over and schedules the next update.
    pub fn update(&mut self, now: Time, pool: &mut Pool) {
        let step = self.slow_start.step();
        self.next = Time::MAX;
        let mut i = 0;
        while i < self.ramping.len() {
            let (s, since) = self.ramping[i];
            let stepped = (now - since) / step * step;
            match self.slow_start.weight(self.nominal[s as usize], stepped) {
                Some(w) => {
                    pool.set_weight(s, w);
                    self.next = self.next.min(since + stepped + step);
                    i += 1;
                }
                None => {
                    pool.set_weight(s, self.full(s));
                    self.ramping.swap_remove(i);
                }
            }
        }
    }

    fn full(&self, s: ServerId) -> u32 {
        self.nominal[s as usize] * self.slow_start.scale()
    }

    /// Gives the pool back its configured weights, for what is measured against them.
    pub fn restore(&self, pool: &mut Pool) {
        for s in 0..self.nominal.len() as ServerId {
            pool.set_weight(s, self.full(s));
        }
        pool.scale_weights(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(product: Product, window: Time) -> SlowStart {
        SlowStart {
            product,
            window,
            aggression: 1.0,
            min_weight: 0.1,
        }
    }

    #[test]
    fn haproxy_grows_from_one_sixteenth_in_whole_seconds() {
        let ss = setting(Product::Haproxy, 4 * SECOND);
        // (16·e + 4) / 4 for e = 0..3: 1, 5, 9, 13; full (16) from 4 s on.
        let w: Vec<_> = (0..5).map(|e| ss.weight(2, e * SECOND)).collect();
        assert_eq!(w, [Some(2), Some(10), Some(18), Some(26), None]);
        assert_eq!(ss.weight(2, 1999 * MILLISECOND), Some(10), "whole seconds");
        // 2.5 s is taken as 3 s.
        let ss = setting(Product::Haproxy, 2500 * MILLISECOND);
        assert_eq!(ss.weight(1, 2 * SECOND), Some(11));
        assert_eq!(ss.weight(1, 3 * SECOND), None);
    }

    #[test]
    fn envoy_takes_the_power_and_the_floor() {
        let mut ss = setting(Product::Envoy, 100 * SECOND);
        assert_eq!(ss.weight(1, 0), Some(100), "10% at first");
        assert_eq!(ss.weight(1, 50 * SECOND), Some(500));
        ss.aggression = 2.0;
        // (0.25)^(1/2) = 0.5
        assert_eq!(ss.weight(3, 25 * SECOND), Some(1500));
        ss.min_weight = 0.0;
        assert_eq!(ss.weight(1, 0), Some(3), "1 ms of 100 s, square root: 0.32%");
        assert_eq!(ss.weight(1, 100 * SECOND), None);
    }

    #[test]
    fn nginx_ramps_from_zero() {
        let ss = setting(Product::Nginx, 10 * SECOND);
        assert_eq!(ss.weight(1, 0), Some(1), "one unit, never zero");
        assert_eq!(ss.weight(4, 5 * SECOND), Some(200));
        assert_eq!(ss.step(), 100 * MILLISECOND);
    }

    #[test]
    fn the_product_decides_what_ramps_and_wrappers_follow_their_base() {
        let reach = |product, text: &str| setting(product, SECOND).reach(&spec::parse(text, 0).unwrap());
        let haproxy = |text| reach(Product::Haproxy, text);
        assert_eq!(haproxy("haproxy.source(hash_type=consistent)"), Reach::Ramped);
        assert_eq!(haproxy("haproxy.source"), Reach::Unaffected, "map-based is static");
        assert_eq!(haproxy("random"), Reach::Ramped);
        assert_eq!(
            haproxy("haproxy.stick_table(base=haproxy.source(hash_type=consistent))"),
            Reach::Ramped
        );
        assert_eq!(haproxy("session_store(base=least_conn)"), Reach::Ramped);
        assert_eq!(haproxy("ring"), Reach::Unaffected);
        assert_eq!(reach(Product::Envoy, "random"), Reach::Unaffected);
        let (refused, by) =
            setting(Product::Nginx, SECOND).decider(&spec::parse("session_store(base=nginx.hash)", 0).unwrap());
        assert_eq!(
            (refused, by.name.as_str(), by.offset),
            (Reach::Refused, "nginx.hash", 19)
        );
    }

    #[test]
    fn ramps_step_and_end() {
        use crate::pool::{PoolChangeKind, Presence, Server};
        let mut pool = Pool::new(
            ["a", "b"]
                .iter()
                .map(|n| Server {
                    name: (*n).into(),
                    weight: 1,
                    presence: Presence::Up,
                })
                .collect(),
        );
        let mut r = Ramps::new(setting(Product::Haproxy, 2 * SECOND), &mut pool);
        assert_eq!((pool.weight(0), pool.weight_scale()), (16, 16));
        assert!(pool.apply(&PoolChangeKind::Fail(1)));
        assert!(pool.apply(&PoolChangeKind::Recover(1)));
        r.start(1, 10 * SECOND, &mut pool);
        assert_eq!((pool.weight(1), pool.total_up_weight()), (1, 17));
        assert!(!r.due(10 * SECOND + 999 * MILLISECOND));
        assert!(r.due(11 * SECOND));
        r.update(11500 * MILLISECOND, &mut pool);
        assert_eq!(pool.weight(1), 9);
        r.update(12 * SECOND, &mut pool);
        assert_eq!((pool.weight(1), r.due(Time::MAX - 1)), (16, false));
        r.restore(&mut pool);
        assert_eq!((pool.weight(1), pool.total_up_weight(), pool.weight_scale()), (1, 2, 1));
    }
}
