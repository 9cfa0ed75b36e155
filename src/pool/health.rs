//! Active health checks: when the balancer learns that a server failed or came back.
//!
//! A server is checked every `interval`; `fall` failed checks in a row take it out
//! of the pool and `rise` passed checks in a row put it back (HAProxy's `inter`,
//! `fall` and `rise`, defaults 2 s, 3 and 2: HAProxy configuration manual, section
//! 5.2). Until the checks notice, a failed server stays in the pool and the requests
//! sent to it fail. HAProxy spreads the first checks of a backend's servers evenly
//! over the interval (`start_checks` in src/check.c), so server i of n is checked
//! at i × interval / n past every multiple of the interval.
//!
//! Envoy adds a panic threshold (default 50%: Envoy's `healthy_panic_threshold`,
//! "Panic threshold" in the load balancing overview): when fewer than that share of
//! the hosts are healthy it balances over all of them, failed or not. A request that
//! fails may be retried on another host (Envoy's `retry_on: connect-failure` with
//! the `previous_hosts` retry predicate; HAProxy's `retries` with
//! `option redispatch`).

use crate::engine::Time;

use super::{PoolChange, PoolChangeKind, ServerId};

/// Health checking as the scenario configures it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HealthChecks {
    pub interval: Time,
    pub fall: u32,
    pub rise: u32,
    /// Further attempts on other hosts for a request whose server failed.
    pub retries: u32,
    /// Below this share of healthy hosts, route to every configured host (0: never).
    pub panic_threshold: f64,
}

impl HealthChecks {
    /// The first check of server `s` (of `n`) at or after `t`.
    fn check_at_or_after(&self, s: ServerId, n: usize, t: Time) -> Time {
        let phase = (s as u128 * self.interval as u128 / n.max(1) as u128) as Time;
        if t <= phase {
            return phase;
        }
        phase + (t - phase).div_ceil(self.interval) * self.interval
    }

    /// Turns a server's real outages (`[from, until)`, sorted and disjoint; `until`
    /// may be `Time::MAX`) into what the balancer sees: `Crash`/`Restore` when the
    /// server really stops and starts, `Fail`/`Recover` when the checks notice.
    pub fn observe(&self, s: ServerId, n: usize, outages: &[(Time, Time)], out: &mut Vec<PoolChange>) {
        let mut marked_down = false;
        let mut i = 0;
        while i < outages.len() {
            let first_fail = self.check_at_or_after(s, n, outages[i].0);
            // Outages with no check between them are one run of failed checks.
            let mut until = outages[i].1;
            out.push(PoolChange {
                at: outages[i].0,
                kind: PoolChangeKind::Crash(s),
            });
            let mut j = i + 1;
            loop {
                if until != Time::MAX {
                    out.push(PoolChange {
                        at: until,
                        kind: PoolChangeKind::Restore(s),
                    });
                }
                match outages.get(j) {
                    Some(&(a, b)) if until != Time::MAX && self.check_at_or_after(s, n, until) >= a => {
                        out.push(PoolChange {
                            at: a,
                            kind: PoolChangeKind::Crash(s),
                        });
                        until = b;
                        j += 1;
                    }
                    _ => break,
                }
            }
            let failed_checks = self.checks_in(first_fail, until);
            if !marked_down && failed_checks >= self.fall as u64 {
                marked_down = true;
                out.push(PoolChange {
                    at: first_fail + (self.fall as Time - 1) * self.interval,
                    kind: PoolChangeKind::Fail(s),
                });
            }
            if until == Time::MAX {
                return;
            }
            let first_pass = self.check_at_or_after(s, n, until);
            let passed_checks = match outages.get(j) {
                Some(&(a, _)) => self.checks_in(first_pass, a),
                None => u64::MAX,
            };
            if marked_down && passed_checks >= self.rise as u64 {
                marked_down = false;
                out.push(PoolChange {
                    at: first_pass + (self.rise as Time - 1) * self.interval,
                    kind: PoolChangeKind::Recover(s),
                });
            }
            i = j;
        }
    }

    /// Checks at `first`, `first + interval`, ... before `until`.
    fn checks_in(&self, first: Time, until: Time) -> u64 {
        if until == Time::MAX {
            return u64::MAX;
        }
        if first >= until {
            return 0;
        }
        (until - first).div_ceil(self.interval)
    }
}

/// What a lane knows of its servers' real health, beside the balancer's view.
#[derive(Clone, Debug)]
pub struct Health {
    pub checks: HealthChecks,
    /// Per server: really down now, whatever the balancer believes.
    dead: Vec<bool>,
    /// Per server: taken out by the checks, and back in only because of panic.
    panicked: Vec<bool>,
}

impl Health {
    pub fn new(checks: HealthChecks, servers: usize) -> Health {
        Health {
            checks,
            dead: vec![false; servers],
            panicked: vec![false; servers],
        }
    }

    pub fn is_dead(&self, s: ServerId) -> bool {
        self.dead[s as usize]
    }

    pub fn set_dead(&mut self, s: ServerId, dead: bool) {
        self.dead[s as usize] = dead;
    }

    /// After a change of the balancer's view, the panic threshold's verdict: the
    /// servers to put back (entering panic) or take out again (leaving it).
    pub fn panic_moves(&mut self, pool: &super::Pool) -> Vec<PoolChangeKind> {
        if self.checks.panic_threshold <= 0.0 {
            return Vec::new();
        }
        let configured = pool.configured();
        let healthy = configured
            .iter()
            .filter(|&&s| pool.is_up(s) && !self.panicked[s as usize])
            .count();
        let panic = (healthy as f64) < self.checks.panic_threshold * configured.len() as f64;
        let mut moves = Vec::new();
        for &s in configured {
            let i = s as usize;
            if panic && !pool.is_up(s) {
                self.panicked[i] = true;
                moves.push(PoolChangeKind::Recover(s));
            } else if !panic && self.panicked[i] {
                self.panicked[i] = false;
                moves.push(PoolChangeKind::Fail(s));
            }
        }
        moves
    }

    /// A server the checks pass again leaves panic's list: it is up on its own.
    pub fn checks_pass(&mut self, s: ServerId) {
        self.panicked[s as usize] = false;
    }

    /// Whether the checks hold `s` down and only panic routes to it.
    pub fn held_down(&self, s: ServerId) -> bool {
        self.panicked[s as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SECOND;

    fn haproxy() -> HealthChecks {
        HealthChecks {
            interval: 2 * SECOND,
            fall: 3,
            rise: 2,
            retries: 0,
            panic_threshold: 0.0,
        }
    }

    fn seen(outages: &[(Time, Time)]) -> Vec<(f64, &'static str)> {
        let mut out = Vec::new();
        haproxy().observe(0, 1, outages, &mut out);
        out.sort_by_key(|c| c.at);
        out.iter().map(|c| (c.at as f64 / 1e9, c.kind.verb())).collect()
    }

    #[test]
    fn a_failure_is_seen_after_fall_checks_and_a_recovery_after_rise() {
        // Checks at 0, 2, 4, ...: failing at 10.5, 12, 14, 16 (third: down); up
        // again at 31, passing at 32, 34 (second: up).
        assert_eq!(
            seen(&[(10_500_000_000, 31 * SECOND)]),
            vec![(10.5, "crash"), (16.0, "fail"), (31.0, "restore"), (34.0, "recover")]
        );
    }

    #[test]
    fn a_blip_between_checks_or_shorter_than_fall_is_never_seen() {
        assert_eq!(
            seen(&[(SECOND, 1_500_000_000), (3 * SECOND, 5 * SECOND)]),
            vec![(1.0, "crash"), (1.5, "restore"), (3.0, "crash"), (5.0, "restore")]
        );
    }

    #[test]
    fn outages_with_no_check_between_add_up() {
        // Checks at 2 and 4 fail, 5.5..5.8 has no check, 6 fails: the third in a row.
        let got = seen(&[(SECOND, 5_500_000_000), (5_800_000_000, 7 * SECOND)]);
        assert!(got.contains(&(6.0, "fail")), "{got:?}");
        assert!(got.contains(&(10.0, "recover")), "{got:?}");
    }

    #[test]
    fn checks_are_spread_over_the_interval() {
        let hc = haproxy();
        assert_eq!(hc.check_at_or_after(1, 4, 0), SECOND / 2);
        assert_eq!(hc.check_at_or_after(1, 4, SECOND), 2 * SECOND + SECOND / 2);
        assert_eq!(hc.check_at_or_after(0, 4, 2 * SECOND), 2 * SECOND);
    }
}
