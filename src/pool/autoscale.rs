//! Autoscaling: a controller that sizes the pool to keep a metric at its target,
//! as Kubernetes' HorizontalPodAutoscaler or an EC2 Auto Scaling target tracking
//! policy does.
//!
//! The metric is the pool average computed from the shared request stream, not
//! from one lane: utilisation = service time of the requests arriving in the
//! period / (servers serving × workers × period); requests per server = requests
//! / servers serving / period. That is the average HPA and CloudWatch take over
//! the pool, and it is the same whatever the policy, so every lane sees one scale
//! timeline and the policies stay a paired comparison.
//!
//! Kubernetes (*Horizontal Pod Autoscaling*, "Algorithm details"; kube-controller-manager
//! flags): every `--horizontal-pod-autoscaler-sync-period` (15 s) the controller
//! computes desired = ceil(ready × metric / target), and does nothing when
//! |metric / target − 1| ≤ `--horizontal-pod-autoscaler-tolerance` (0.1). For a
//! utilisation (CPU) metric, pods not ready yet are set aside and, on a scale-up,
//! counted at 0 % to recompute the ratio; if that flips or lands in the tolerance,
//! the scale is held. A scale-down uses the highest recommendation of the
//! stabilisation window (`--horizontal-pod-autoscaler-downscale-stabilization`, 5 min);
//! a scale-up is immediate but bounded by the default `behavior.scaleUp` policies:
//! at most double, or 4 pods more, per 15 s (the larger). Clamped to [min, max].
//!
//! AWS (*Target tracking scaling policies for Amazon EC2 Auto Scaling*): the policy
//! creates two CloudWatch alarms on the 1-minute metric, a high one that fires after
//! 3 datapoints above the target and a low one after 15 below. While the high alarm
//! holds, capacity becomes ceil(serving × metric / target). The warm-up runs from an
//! instance's InService state, when it takes traffic (*Set the default instance
//! warmup for an Auto Scaling group*: "how long after an instance reaches the
//! InService state it waits before contributing usage data"; default 300 s here, as
//! the group's default cooldown that stands in when no warm-up is set). That page
//! gives the two rules modelled: "while scaling out, Amazon EC2 Auto Scaling
//! considers instances that are warming up as part of the current capacity", so
//! they are not launched twice, and scale-in is blocked "until the new instances
//! finish warming up". The same page aggregates the metric over instances that are
//! not warming up; the pool average here is over every serving server, which is the
//! same figure while the balancer gives each server its share.
//!
//! A scale-in drains the newest server (the ReplicaSet controller deletes the most
//! recently created pods first; EC2's default termination policy, with one zone
//! and one launch template, is modelled the same way): no new sessions, removed
//! after `drain`. A freed slot can join again later under its own name, so hash
//! policies place it where it was, as a StatefulSet pod or a reused address would be.

use std::collections::VecDeque;

use serde::Deserialize;

use super::{PoolChange, PoolChangeKind, ServerId};
use crate::engine::Time;
use crate::engine::time::SECOND;

/// Which product's controller is modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Product {
    KubernetesHpa,
    AwsTargetTracking,
}

/// What the controller keeps at its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The busy share of the serving servers' workers (HPA's CPU utilisation).
    Utilization,
    /// Requests per second per serving server (ALBRequestCountPerTarget).
    RequestsPerServer,
}

/// An `[autoscaling]` section, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoscaling {
    pub product: Product,
    pub metric: Metric,
    pub target: f64,
    pub min: u32,
    pub max: u32,
    /// From the decision to the new server taking traffic.
    pub provisioning: Time,
    /// From a scale-in decision to the server's removal.
    pub drain: Time,
    /// Between evaluations: HPA's sync period, CloudWatch's metric period.
    pub period: Time,
    /// HPA's tolerance.
    pub tolerance: f64,
    /// HPA's scale-down stabilisation window.
    pub stabilization: Time,
    /// AWS's instance warm-up, from the instance's first traffic (InService).
    pub warmup: Time,
    /// Workers per server, for utilisation.
    pub workers: u32,
    /// The servers the controller manages in slot order: the initial pool, then
    /// the slots it may add.
    pub slots: Vec<ServerId>,
    /// Servers up at the start (the first `initial` slots).
    pub initial: u32,
}

/// AWS's alarms: datapoints above the target before a scale-out, below before a scale-in.
pub const AWS_HIGH_DATAPOINTS: u32 = 3;
pub const AWS_LOW_DATAPOINTS: u32 = 15;

/// One evaluation, for servers.csv.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub at: Time,
    /// Servers taking traffic (not counting those draining).
    pub serving: u32,
    /// Servers the controller asks for: serving plus those being provisioned.
    pub requested: u32,
    pub metric: f64,
    pub requests_per_sec: f64,
}

/// What the controller did over a replication.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaled {
    pub samples: Vec<Sample>,
    /// Servers paid for, from each launch to its removal, in hours.
    pub server_hours: f64,
}

/// HPA's recommendation from one metric reading, before stabilisation.
pub fn hpa_desired(a: &Autoscaling, ready: u32, unready: u32, metric: f64) -> u32 {
    let current = ready + unready;
    let ratio = metric / a.target;
    if (ratio - 1.0).abs() <= a.tolerance || ready == 0 {
        return current;
    }
    if a.metric == Metric::Utilization && unready > 0 && ratio > 1.0 {
        let recomputed = metric * ready as f64 / (current as f64 * a.target);
        if (recomputed - 1.0).abs() <= a.tolerance || recomputed < 1.0 {
            return current;
        }
        return (recomputed * current as f64 - 1e-9).ceil() as u32;
    }
    (ratio * ready as f64 - 1e-9).ceil() as u32
}

/// The controller of one replication.
pub struct Scaler<'a> {
    a: &'a Autoscaling,
    /// Taking traffic, in the order they joined: (server, launched at, warm at).
    serving: Vec<(ServerId, Time, Time)>,
    /// Launched, taking traffic at the time given.
    pending: Vec<(ServerId, Time, Time)>,
    /// Draining until the last time given, then free: (server, launched at, gone at).
    draining: Vec<(ServerId, Time, Time)>,
    /// Server time spent on servers that are gone, from launch to removal.
    spent: Time,
    free: Vec<ServerId>,
    next_tick: Time,
    busy: u128,
    requests: u64,
    /// HPA: recent recommendations. AWS: consecutive datapoints above (+) or below (−).
    recommendations: VecDeque<(Time, u32)>,
    streak: i32,
    /// Changes decided and not yet handed out, by time.
    queue: VecDeque<PoolChange>,
    pub samples: Vec<Sample>,
}

impl<'a> Scaler<'a> {
    pub fn new(a: &'a Autoscaling) -> Scaler<'a> {
        let n = a.initial as usize;
        Scaler {
            a,
            serving: a.slots[..n].iter().map(|&s| (s, 0, 0)).collect(),
            pending: Vec::new(),
            draining: Vec::new(),
            spent: 0,
            free: a.slots[n..].to_vec(),
            next_tick: a.period,
            busy: 0,
            requests: 0,
            recommendations: VecDeque::new(),
            streak: 0,
            queue: VecDeque::new(),
            samples: Vec::new(),
        }
    }

    /// When the controller next evaluates.
    pub fn next_tick(&self) -> Time {
        self.next_tick
    }

    /// The first decided change not handed out yet.
    pub fn next_change(&self) -> Option<&PoolChange> {
        self.queue.front()
    }

    pub fn pop_change(&mut self) -> Option<PoolChange> {
        self.queue.pop_front()
    }

    /// Counts requests that arrived before the next tick.
    pub fn count(&mut self, service: impl Iterator<Item = Time>) {
        for s in service {
            self.busy += s as u128;
            self.requests += 1;
        }
    }

    /// Evaluates at the tick: reads the period's metric, decides, and queues the
    /// pool changes that follow.
    pub fn tick(&mut self) {
        let now = self.next_tick;
        self.next_tick += self.a.period;
        let a = self.a;
        let (ready_now, still): (Vec<_>, Vec<_>) = self.pending.iter().partition(|p| p.2 <= now);
        self.pending = still;
        self.serving
            .extend(ready_now.iter().map(|&(s, l, at)| (s, l, at + a.warmup)));
        let (freed, still): (Vec<_>, Vec<_>) = self.draining.iter().partition(|d| d.2 <= now);
        self.draining = still;
        for &(s, launched, gone) in &freed {
            self.free.push(s);
            self.spent += gone - launched;
        }
        self.free.sort_unstable_by(|x, y| y.cmp(x));
        let ready = self.serving.len() as u32;
        let secs = a.period as f64 / SECOND as f64;
        let rps = self.requests as f64 / secs;
        let metric = match a.metric {
            Metric::Utilization => self.busy as f64 / (ready.max(1) as f64 * a.workers as f64 * a.period as f64),
            Metric::RequestsPerServer => rps / ready.max(1) as f64,
        };
        self.busy = 0;
        self.requests = 0;
        let current = ready + self.pending.len() as u32;
        let desired = match a.product {
            Product::KubernetesHpa => self.hpa(now, ready, metric),
            Product::AwsTargetTracking => self.aws(now, ready, metric),
        };
        let desired = desired.clamp(a.min, a.max);
        if desired > current {
            for _ in current..desired {
                let Some(s) = self.free.pop() else { break };
                let at = now + a.provisioning;
                self.pending.push((s, now, at));
                self.push(PoolChange {
                    at,
                    kind: PoolChangeKind::Add(s),
                });
            }
        } else if desired < current {
            for _ in desired..current {
                // Newest first: a server still starting goes before a ready one,
                // and, never having taken traffic, is free at once.
                if let Some((s, launched, _)) = self.pending.pop() {
                    self.queue.retain(|c| c.kind != PoolChangeKind::Add(s));
                    self.free.push(s);
                    self.spent += now - launched;
                    continue;
                }
                let Some((s, launched, _)) = self.serving.pop() else {
                    break;
                };
                self.push(PoolChange {
                    at: now,
                    kind: PoolChangeKind::Drain(s),
                });
                let gone = now + a.drain;
                self.push(PoolChange {
                    at: gone,
                    kind: PoolChangeKind::Remove(s),
                });
                self.draining.push((s, launched, gone));
            }
            self.free.sort_unstable_by(|x, y| y.cmp(x));
        }
        self.samples.push(Sample {
            at: now,
            serving: ready,
            requested: self.serving.len() as u32 + self.pending.len() as u32,
            metric,
            requests_per_sec: rps,
        });
    }

    /// Server-seconds spent by the end of the run, each server from its launch
    /// (a launched instance or a scheduled pod is paid for while it starts) to its
    /// removal (and while it drains).
    pub fn server_secs(&self, end: Time) -> f64 {
        let live: Time = self
            .serving
            .iter()
            .map(|&(_, l, _)| end.saturating_sub(l))
            .sum::<Time>()
            + self
                .pending
                .iter()
                .map(|&(_, l, _)| end.saturating_sub(l))
                .sum::<Time>()
            + self
                .draining
                .iter()
                .map(|&(_, l, g)| g.min(end).saturating_sub(l))
                .sum::<Time>();
        (self.spent + live) as f64 / SECOND as f64
    }

    pub fn finish(self, end: Time) -> Scaled {
        Scaled {
            server_hours: self.server_secs(end) / 3600.0,
            samples: self.samples,
        }
    }

    fn push(&mut self, c: PoolChange) {
        let i = self.queue.partition_point(|q| q.at <= c.at);
        self.queue.insert(i, c);
    }

    fn hpa(&mut self, now: Time, ready: u32, metric: f64) -> u32 {
        let a = self.a;
        let current = ready + self.pending.len() as u32;
        let raw = hpa_desired(a, ready, self.pending.len() as u32, metric).clamp(a.min, a.max);
        self.recommendations.push_back((now, raw));
        while self
            .recommendations
            .front()
            .is_some_and(|&(t, _)| t + a.stabilization <= now)
        {
            self.recommendations.pop_front();
        }
        if raw > current {
            // behavior.scaleUp defaults: 100 % or 4 pods per 15 s, whichever is more.
            raw.min((current * 2).max(current + 4))
        } else {
            let highest = self.recommendations.iter().map(|r| r.1).max().unwrap_or(raw);
            highest.min(current)
        }
    }

    fn aws(&mut self, now: Time, ready: u32, metric: f64) -> u32 {
        let a = self.a;
        let current = ready + self.pending.len() as u32;
        self.streak = match (metric > a.target, metric < a.target) {
            (true, _) => self.streak.max(0) + 1,
            (_, true) => self.streak.min(0) - 1,
            _ => 0,
        };
        let proportional = (ready as f64 * metric / a.target - 1e-9).ceil() as u32;
        if self.streak >= AWS_HIGH_DATAPOINTS as i32 {
            return proportional.max(current);
        }
        let warming = self.serving.iter().any(|&(_, _, warm)| warm > now) || !self.pending.is_empty();
        if self.streak <= -(AWS_LOW_DATAPOINTS as i32) && !warming {
            return proportional.min(current).max(1);
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hpa(initial: u32, max: u32) -> Autoscaling {
        Autoscaling {
            product: Product::KubernetesHpa,
            metric: Metric::RequestsPerServer,
            target: 10.0,
            min: 1,
            max,
            provisioning: 30 * SECOND,
            drain: 30 * SECOND,
            period: 15 * SECOND,
            tolerance: 0.1,
            stabilization: 300 * SECOND,
            warmup: 300 * SECOND,
            workers: 1,
            slots: (0..max).collect(),
            initial,
        }
    }

    /// Feeds `rps` requests per second for one period and evaluates.
    fn period(s: &mut Scaler, rps: u64) {
        let n = rps * s.a.period / SECOND;
        s.count((0..n).map(|_| 0));
        s.tick();
    }

    #[test]
    fn hpa_arithmetic_and_tolerance() {
        let a = hpa(4, 20);
        assert_eq!(hpa_desired(&a, 4, 0, 20.0), 8, "double the metric, double the pods");
        assert_eq!(hpa_desired(&a, 4, 0, 10.5), 4, "5 % over is within the tolerance");
        assert_eq!(hpa_desired(&a, 4, 0, 11.5), 5, "ceil(4 × 1.15)");
        assert_eq!(hpa_desired(&a, 4, 0, 5.0), 2);
        let u = Autoscaling {
            metric: Metric::Utilization,
            ..a
        };
        // 4 ready at 1.5× and 2 starting: 1.5 × 4/6 = 1.0, held.
        assert_eq!(hpa_desired(&u, 4, 2, 15.0), 6);
        assert_eq!(hpa_desired(&u, 4, 1, 15.0), 6, "1.5 × 4/5 = 1.2: ceil(1.2 × 5)");
    }

    #[test]
    fn hpa_scales_up_at_once_and_down_after_the_window() {
        let a = hpa(2, 10);
        let mut s = Scaler::new(&a);
        period(&mut s, 40);
        assert_eq!(
            s.next_change(),
            Some(&PoolChange {
                at: 45 * SECOND,
                kind: PoolChangeKind::Add(2)
            })
        );
        assert_eq!(s.samples[0].requested, 4);
        while s.pop_change().is_some() {}
        for _ in 0..3 {
            period(&mut s, 40);
        }
        assert_eq!(s.samples.last().unwrap().serving, 4);
        // The load halves: the window keeps 4 until 300 s after the last high reading.
        let last_high = s.samples.last().unwrap().at;
        let mut drains = Vec::new();
        for _ in 0..30 {
            period(&mut s, 20);
            while let Some(c) = s.pop_change() {
                if let PoolChangeKind::Drain(x) = c.kind {
                    drains.push((c.at, x));
                }
            }
        }
        let t = last_high + 300 * SECOND;
        assert_eq!(drains, vec![(t, 3), (t, 2)], "newest first, after the window");
        let end = s.samples.last().unwrap().at;
        // Two servers all along, two more from the first tick until their drain ended.
        let expected = 2 * end + 2 * ((t + 30 * SECOND).min(end) - 15 * SECOND);
        assert_eq!(s.server_secs(end), expected as f64 / SECOND as f64);
    }

    /// AWS target tracking on 2 to 10 servers, with one-minute datapoints.
    fn aws(provisioning: Time, warmup: Time) -> Autoscaling {
        Autoscaling {
            product: Product::AwsTargetTracking,
            period: 60 * SECOND,
            provisioning,
            warmup,
            drain: 300 * SECOND,
            ..hpa(2, 10)
        }
    }

    #[test]
    fn aws_needs_three_datapoints_and_fifteen_to_scale_in() {
        let a = aws(300 * SECOND, 300 * SECOND);
        let mut s = Scaler::new(&a);
        period(&mut s, 30);
        period(&mut s, 30);
        assert_eq!(s.next_change(), None);
        period(&mut s, 30);
        assert_eq!(s.samples[2].requested, 3, "ceil(2 × 15/10) after the third minute");
        period(&mut s, 30);
        assert_eq!(s.samples[3].requested, 3, "the warming instance counts as capacity");
        let mut s = Scaler::new(&a);
        for k in 1..=15 {
            period(&mut s, 5);
            assert_eq!(s.next_change().is_some(), k == 15, "minute {k}");
        }
        assert_eq!(s.pop_change().unwrap().kind, PoolChangeKind::Drain(1));
    }

    #[test]
    fn aws_warm_up_runs_from_the_first_traffic_and_holds_scale_in() {
        let a = aws(60 * SECOND, 900 * SECOND);
        let mut s = Scaler::new(&a);
        for _ in 0..3 {
            period(&mut s, 30);
        }
        // Launched at 180 s, serving at 240 s, warm at 1140 s.
        assert_eq!(s.pop_change().unwrap().at, 240 * SECOND);
        let mut drained = None;
        for _ in 0..30 {
            period(&mut s, 1);
            if let Some(c) = s.pop_change() {
                drained.get_or_insert(c);
            }
        }
        let c = drained.expect("a scale-in once warm");
        assert_eq!(c.kind, PoolChangeKind::Drain(2), "the newest first");
        // The 15th low datapoint is at 1080 s, 900 s after the launch but not after
        // the first traffic: the scale-in waits for the next one.
        assert_eq!(c.at, 1140 * SECOND);
    }

    #[test]
    fn clamped_to_min_and_max() {
        let a = hpa(2, 3);
        let mut s = Scaler::new(&a);
        period(&mut s, 1000);
        assert_eq!(s.samples[0].requested, 3);
        let a = Autoscaling { min: 2, ..hpa(2, 3) };
        let mut s = Scaler::new(&a);
        for _ in 0..40 {
            period(&mut s, 0);
        }
        assert_eq!(s.next_change(), None);
    }
}
