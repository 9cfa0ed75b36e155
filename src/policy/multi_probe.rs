//! Multi-probe consistent hashing (Appleton and O'Reilly, 2015): each server has a
//! single point on the circle (one per unit of weight) and the key is hashed k
//! times; the server whose point lies closest after any of the probes wins. One
//! point per server keeps memory at O(N) where a ring needs hundreds, and k = 21
//! probes bring the peak-to-mean load to about 1.05. Pool changes move only the
//! clients of the server that changed, as on a ring.

use super::*;
use crate::hash::ring_index::RingIndex;
use crate::hash::{fmix64, key_hash, point_hash};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "multi_probe",
    summary: "multi-probe consistent hashing: one point per server, k probes per key, nearest point wins",
    params: &[
        Param {
            name: "probes",
            default: "21",
            help: "hashes of each key; 21 gives a peak-to-mean load near 1.05",
        },
        Key::PARAM,
    ],
    build: |args, ctx| {
        let mut m = MultiProbe {
            probes: args.int("probes", 1, 1000)?,
            key: Key::read(args, &Key::ALL)?,
            points: Vec::new(),
            owners: Vec::new(),
            index: RingIndex::default(),
        };
        m.rebuild(ctx.pool);
        Ok(Box::new(m))
    },
};

pub struct MultiProbe {
    probes: u64,
    key: Key,
    /// Sorted points, and the server owning each.
    points: Vec<u64>,
    owners: Vec<ServerId>,
    index: RingIndex,
}

impl MultiProbe {}

impl Hashing for MultiProbe {
    fn select(&self, client: &Client, _: &Pool) -> ServerId {
        let h = key_hash(self.key.bits(client));
        let (mut best, mut best_gap) = (0, u64::MAX);
        for probe in 0..self.probes {
            let p = fmix64(h.wrapping_add(probe.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
            let i = self.index.successor(&self.points, p);
            let gap = self.points[i].wrapping_sub(p);
            if gap < best_gap {
                (best, best_gap) = (i, gap);
            }
        }
        self.owners[best]
    }

    fn rebuild(&mut self, pool: &Pool) {
        let mut points: Vec<(u64, ServerId)> = pool
            .up()
            .iter()
            .flat_map(|&s| (0..pool.weight(s)).map(move |j| (point_hash(pool.name(s), j), s)))
            .collect();
        points.sort_unstable();
        (self.points, self.owners) = points.into_iter().unzip();
        self.index = RingIndex::new(&self.points);
    }

    fn key(&self) -> Key {
        self.key
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{built, client, moved_share, pool, pool_with_spare};
    use crate::pool::PoolChangeKind;

    fn peak_to_mean(spec: &str, servers: usize, keys: u32) -> f64 {
        let p = pool(servers);
        let m = built(spec, &p);
        let mut counts = vec![0u32; servers];
        for i in 0..keys {
            counts[m.peek(&client(i), 0, &p).unwrap() as usize] += 1;
        }
        *counts.iter().max().unwrap() as f64 / (keys as f64 / servers as f64)
    }

    #[test]
    fn more_probes_even_the_load() {
        // One probe is a ring with one point per server: shares vary wildly.
        let one = peak_to_mean("multi_probe(probes=1)", 50, 100_000);
        let many = peak_to_mean("multi_probe", 50, 100_000);
        assert!(one > 2.0, "one probe: peak/mean {one}");
        assert!(many < 1.2, "21 probes: peak/mean {many}");
    }

    #[test]
    fn changes_move_only_the_changed_servers_clients() {
        let p = pool(10);
        let m = built("multi_probe", &p);
        let owned = (0..20_000).filter(|&i| m.peek(&client(i), 0, &p) == Some(2)).count();
        let moved = moved_share("multi_probe", pool(10), 20_000, PoolChangeKind::Fail(2));
        assert_eq!(moved, owned as f64 / 20_000.0);
        let added = moved_share("multi_probe", pool_with_spare(10, 1), 40_000, PoolChangeKind::Add(10));
        assert!((added - 1.0 / 11.0).abs() < 0.03, "moved {added}");
    }
}
