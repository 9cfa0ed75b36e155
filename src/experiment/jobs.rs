//! A sweep's work as a list of jobs: one per point and replication, in a fixed
//! order (point by point, replications in turn). A job runs one replication of
//! one point's scenario — every policy lane of it — and owns its random streams,
//! so its result is the same whichever machine, shard or thread runs it, and
//! whatever ran before. That is what lets a sweep be split over machines
//! (`--shard K/N`), merged, and resumed after an interruption.

use std::str::FromStr;

use rayon::prelude::*;

use super::{Progress, Replication, replicate};
use crate::scenario::sweep::Point;
use crate::workload::Workload;

/// What `--shard` expects, for messages.
const SHARD_FORM: &str = "expected K/N with 1 ≤ K ≤ N, e.g. --shard 2/4 for the second of four shards";

/// One replication of one point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Job {
    /// The point's position in the sweep, counting from 0.
    pub point: usize,
    /// The replication, counting from 0 as sweep.csv does.
    pub replication: u32,
}

impl Job {
    /// The job's file name without extension, as sweep.csv counts: points from
    /// 1, replications from 0 (`p0003-r0002` is point 3, replication 2).
    pub fn name(&self) -> String {
        format!("p{:04}-r{:04}", self.point + 1, self.replication)
    }

    /// The job a name made by [`Job::name`] stands for; `None` for any other text.
    pub fn from_name(name: &str) -> Option<Job> {
        let (p, r) = name.strip_prefix('p')?.split_once("-r")?;
        let point: usize = p.parse().ok()?;
        let job = Job {
            point: point.checked_sub(1)?,
            replication: r.parse().ok()?,
        };
        (job.name() == name).then_some(job)
    }

    /// How messages name the job.
    pub fn describe(&self) -> String {
        format!("point {} replication {}", self.point + 1, self.replication)
    }
}

/// Every job of a sweep whose points run `replications[k]` replications each, in order.
pub fn list(replications: &[u32]) -> Vec<Job> {
    replications
        .iter()
        .enumerate()
        .flat_map(|(point, &n)| (0..n).map(move |replication| Job { point, replication }))
        .collect()
}

/// Every job of a sweep's points, in order.
pub fn of(points: &[Point]) -> Vec<Job> {
    let replications: Vec<u32> = points.iter().map(|p| p.scenario.replications).collect();
    list(&replications)
}

/// Shard K of N: every N-th job of the list, starting at job K (counting from 1).
/// Jobs are dealt in turn, so shards get near-equal shares of every part of the
/// grid, and the list does not depend on how many shards there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    /// The whole sweep, one shard.
    pub const WHOLE: Shard = Shard { k: 1, n: 1 };

    /// This shard's share of a sweep's job list: the K-th job and every N-th after it.
    pub fn deal(&self, jobs: Vec<Job>) -> Vec<Job> {
        jobs.into_iter().skip(self.k - 1).step_by(self.n).collect()
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("no `/`: {SHARD_FORM}"))?;
        let count = |part: &str| part.trim().parse::<usize>().ok();
        let (Some(k), Some(n)) = (count(k), count(n)) else {
            return Err(format!("K and N must be whole numbers: {SHARD_FORM}"));
        };
        if k == 0 || n == 0 {
            return Err(format!("shards count from 1: {SHARD_FORM}"));
        }
        if k > n {
            return Err(format!("shard {k} of only {n}: {SHARD_FORM}"));
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// Runs `jobs` of the sweep over `points`, side by side on rayon (as well as each
/// job's lanes), handing each result to `done` as soon as its job finishes, so
/// it can be kept before the others end. Returns what `done` returned, in job
/// order, or the first error it gave.
pub fn run<T, E, F>(points: &[Point], jobs: &[Job], progress: &Progress, done: F) -> Result<Vec<T>, E>
where
    T: Send,
    E: Send,
    F: Fn(&Job, Replication) -> Result<T, E> + Sync,
{
    jobs.par_iter()
        .map(|job| {
            let sc = &points[job.point].scenario;
            done(
                job,
                replicate(sc, job.replication, Workload::new(sc, job.replication), progress),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_go_point_by_point_and_names_read_back() {
        let jobs = list(&[2, 1, 3]);
        let names: Vec<String> = jobs.iter().map(Job::name).collect();
        assert_eq!(
            names,
            [
                "p0001-r0000",
                "p0001-r0001",
                "p0002-r0000",
                "p0003-r0000",
                "p0003-r0001",
                "p0003-r0002"
            ]
        );
        for j in &jobs {
            assert_eq!(Job::from_name(&j.name()), Some(*j));
        }
        for bad in ["p0000-r0000", "p1-r0", "p0001-r0000.json", "x0001-r0000", "p0001r0000"] {
            assert_eq!(Job::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn shards_deal_every_job_exactly_once() {
        let jobs = list(&[3, 3, 3, 1]);
        for n in 1..=5 {
            let mut dealt: Vec<Job> = (1..=n).flat_map(|k| Shard { k, n }.deal(jobs.clone())).collect();
            dealt.sort();
            assert_eq!(dealt, jobs, "{n} shards");
        }
    }

    #[test]
    fn shard_text_is_k_of_n() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { k: 2, n: 4 }));
        for (bad, says) in [
            ("0/2", "count from 1"),
            ("3/2", "shard 3 of only 2"),
            ("x", "no `/`"),
            ("1/x", "whole numbers"),
            ("-1/2", "whole numbers"),
        ] {
            let e = bad.parse::<Shard>().expect_err(bad);
            assert!(e.contains(says) && e.contains("K/N"), "{bad}: {e}");
        }
    }
}
