//! Servers that fail by themselves: a failure process with a time between
//! failures (MTBF) and a time to repair (MTTR) drawn from distributions, instead of
//! `fail` events at fixed times; and the pool changes a run applies once health
//! checks stand between a server's real state and the balancer's view.

use crate::engine::{SECOND, Stream, Time};
use crate::scenario::distribution::Sampler;

use super::health::HealthChecks;
use super::{PoolChange, PoolChangeKind, ServerId};

/// A failure process over some servers: up for an MTBF draw, down for an MTTR
/// draw, again and again, each server on its own random stream.
#[derive(Clone, Debug)]
pub struct Flapping {
    pub servers: Vec<ServerId>,
    /// Time between failures, in seconds.
    pub mtbf: Sampler,
    /// Time to repair, in seconds.
    pub mttr: Sampler,
    /// Their means in seconds, to describe the process.
    pub mtbf_mean: f64,
    pub mttr_mean: f64,
}

impl Flapping {
    /// The outages of server `s` over `[0, duration)` in replication `replication`;
    /// `entry` tells the scenario's `[[flapping]]` entries apart.
    fn outages(&self, s: ServerId, entry: usize, seed: u64, replication: u32, duration: Time) -> Vec<(Time, Time)> {
        let mut rng = Stream::Failures.rng(seed, replication, ((entry as u64) << 32) | s as u64);
        let secs = |x: f64| (x.max(0.0) * SECOND as f64).min(Time::MAX as f64 / 2.0) as Time;
        let mut out = Vec::new();
        let mut t: Time = 0;
        loop {
            // At least a millisecond each way, so every outage has a length.
            t = t.saturating_add(secs(self.mtbf.sample(&mut rng)).max(crate::engine::MILLISECOND));
            if t >= duration {
                return out;
            }
            let back = t.saturating_add(secs(self.mttr.sample(&mut rng)).max(crate::engine::MILLISECOND));
            out.push((t, back));
            t = back;
        }
    }
}

/// The pool changes one replication applies: the scenario's own `changes`, with
/// each failure's outage merged with the failure processes' and, with health
/// checks, split into the server really failing and the balancer noticing.
pub fn expand(
    changes: &[PoolChange],
    flapping: &[Flapping],
    checks: Option<&HealthChecks>,
    servers: usize,
    (seed, replication, duration): (u64, u32, Time),
) -> Vec<PoolChange> {
    let mut outages: Vec<Vec<(Time, Time)>> = vec![Vec::new(); servers];
    let mut removed_at: Vec<Time> = vec![Time::MAX; servers];
    let mut open: Vec<Option<Time>> = vec![None; servers];
    let mut out = Vec::new();
    for c in changes {
        let i = c.kind.server() as usize;
        match c.kind {
            PoolChangeKind::Fail(_) => open[i] = Some(c.at),
            PoolChangeKind::Recover(_) if open[i].is_some() => {
                outages[i].push((open[i].take().unwrap_or(c.at), c.at));
            }
            PoolChangeKind::Remove(_) => {
                removed_at[i] = c.at;
                out.push(*c);
            }
            _ => out.push(*c),
        }
    }
    for (i, o) in open.iter().enumerate() {
        if let Some(a) = *o {
            outages[i].push((a, Time::MAX));
        }
    }
    for (entry, f) in flapping.iter().enumerate() {
        for &s in &f.servers {
            let drawn = f.outages(s, entry, seed, replication, duration);
            outages[s as usize].extend(drawn);
        }
    }
    for (i, list) in outages.iter_mut().enumerate() {
        let merged = merge(list, removed_at[i]);
        let s = i as ServerId;
        match checks {
            Some(hc) => hc.observe(s, servers, &merged, &mut out),
            None => {
                for &(a, b) in &merged {
                    out.push(PoolChange {
                        at: a,
                        kind: PoolChangeKind::Fail(s),
                    });
                    if b != Time::MAX {
                        out.push(PoolChange {
                            at: b,
                            kind: PoolChangeKind::Recover(s),
                        });
                    }
                }
            }
        }
    }
    // Nothing happens to a server after it leaves the pool.
    out.retain(|c| c.at < removed_at[c.kind.server() as usize] || matches!(c.kind, PoolChangeKind::Remove(_)));
    // Stable: at equal times, the scenario's changes first, then each server's in order.
    out.sort_by_key(|c| c.at);
    out
}

/// Sorted, overlapping outages joined; those from the removal on left out, and one
/// under way at the removal lasting for good.
fn merge(list: &mut [(Time, Time)], removed: Time) -> Vec<(Time, Time)> {
    list.sort_unstable();
    let mut merged: Vec<(Time, Time)> = Vec::with_capacity(list.len());
    for &(a, b) in list.iter().filter(|(a, _)| *a < removed) {
        let b = if b >= removed { Time::MAX } else { b };
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::{HOUR, MINUTE};
    use crate::scenario::distribution::Dist;
    use crate::scenario::units::Duration;

    fn flap(mtbf: Time, mttr: Time) -> Flapping {
        Flapping {
            servers: vec![0],
            mtbf: Dist::Exponential { mean: Duration(mtbf) }.sampler(),
            mttr: Dist::Exponential { mean: Duration(mttr) }.sampler(),
            mtbf_mean: 0.0,
            mttr_mean: 0.0,
        }
    }

    #[test]
    fn outages_alternate_and_follow_their_means() {
        let f = flap(HOUR, 6 * MINUTE);
        let o = f.outages(0, 0, 1, 0, 2000 * HOUR);
        assert!(o.windows(2).all(|w| w[0].1 < w[1].0), "disjoint and in order");
        let down: Time = o.iter().map(|(a, b)| b - a).sum();
        // Down a share MTTR / (MTBF + MTTR) = 1/11 of the time, within a few percent.
        let share = down as f64 / (2000 * HOUR) as f64;
        assert!((share - 1.0 / 11.0).abs() < 0.01, "{share}");
        assert_eq!(o, f.outages(0, 0, 1, 0, 2000 * HOUR), "the same stream every time");
    }

    #[test]
    fn a_fixed_failure_without_checks_is_unchanged() {
        let changes = [
            PoolChange {
                at: HOUR,
                kind: PoolChangeKind::Fail(1),
            },
            PoolChange {
                at: 2 * HOUR,
                kind: PoolChangeKind::Recover(1),
            },
        ];
        assert_eq!(expand(&changes, &[], None, 2, (1, 0, 3 * HOUR)), changes.to_vec());
    }

    #[test]
    fn nothing_happens_after_removal() {
        let changes = [
            PoolChange {
                at: HOUR,
                kind: PoolChangeKind::Fail(0),
            },
            PoolChange {
                at: HOUR + SECOND,
                kind: PoolChangeKind::Remove(0),
            },
        ];
        let hc = HealthChecks {
            interval: 2 * SECOND,
            fall: 3,
            rise: 2,
            retries: 0,
            panic_threshold: 0.0,
        };
        let got = expand(&changes, &[], Some(&hc), 1, (1, 0, 3 * HOUR));
        let verbs: Vec<_> = got.iter().map(|c| c.kind.verb()).collect();
        assert_eq!(verbs, ["crash", "remove"], "the checks never get to fail it");
    }
}
