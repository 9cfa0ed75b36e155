//! A consistent-hash ring with virtual nodes (Karger et al.): each up server owns
//! `vnodes × weight` points on a 64-bit circle and a client goes to the first point
//! at or after its address hash. Adding one server to N moves about 1/(N+1) of
//! the clients; removing one moves only that server's clients.

use super::*;
use crate::hash::ring_index::RingIndex;
use crate::hash::{key_hash, point_hash};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "ring",
    summary: "consistent-hash ring on the source address (or another key), virtual nodes per unit of weight",
    params: &[VNODES, Key::PARAM],
    build: |args, ctx| {
        let vnodes = read_vnodes(args, ctx)?;
        let key = Key::read(args, &Key::ALL)?;
        Ok(Box::new(Ring::new(ctx.pool, vnodes, key)))
    },
};

pub const VNODES: Param = Param {
    name: "vnodes",
    default: "160",
    help: "points on the ring per unit of server weight",
};

/// Reads `vnodes`, bounding the ring at 16M points (256 MiB) with every declared
/// server up.
pub fn read_vnodes(args: &mut Args, ctx: &BuildContext) -> Result<u32, SpecError> {
    let weights: u64 = ctx.pool.servers().iter().map(|s| s.weight as u64).sum();
    Ok(args.int("vnodes", 1, (MAX_POINTS / weights.max(1)).clamp(1, 10_000))? as u32)
}

const MAX_POINTS: u64 = 1 << 24;

pub struct Ring {
    key: Key,
    vnodes: u32,
    /// Points in ascending order, and the server owning each.
    points: Vec<u64>,
    owners: Vec<ServerId>,
    index: RingIndex,
}

impl Ring {
    pub fn new(pool: &Pool, vnodes: u32, key: Key) -> Ring {
        let mut r = Ring {
            key,
            vnodes,
            points: Vec::new(),
            owners: Vec::new(),
            index: RingIndex::default(),
        };
        r.rebuild(pool);
        r
    }

    /// The index of the first point at or after `h`, wrapping around the circle.
    pub fn successor(&self, h: u64) -> usize {
        self.index.successor(&self.points, h)
    }

    /// The server owning the point at `i` (taken modulo the number of points).
    pub fn owner(&self, i: usize) -> ServerId {
        self.owners[i % self.owners.len()]
    }

    pub fn points(&self) -> usize {
        self.points.len()
    }

    /// The point a client's key hashes to.
    pub fn hash(&self, client: &Client) -> u64 {
        key_hash(self.key.bits(client))
    }
}

impl Hashing for Ring {
    fn select(&self, client: &Client, _: &Pool) -> ServerId {
        self.owners[self.successor(self.hash(client))]
    }

    fn rebuild(&mut self, pool: &Pool) {
        let mut points = Vec::new();
        for &s in pool.up() {
            let name = pool.name(s);
            for j in 0..self.vnodes * pool.weight(s) {
                points.push((point_hash(name, j), s));
            }
        }
        // Ties between equal points (vanishingly rare) resolve by server id.
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

    #[test]
    fn adding_one_server_moves_about_one_over_n_plus_1() {
        for n in [4usize, 10, 30] {
            let moved = moved_share("ring", pool_with_spare(n, 1), 50_000, PoolChangeKind::Add(n as u32));
            let want = 1.0 / (n + 1) as f64;
            // 160 points per server: each server's arc is within about ±25% of 1/N.
            assert!(
                (moved - want).abs() < want * 0.3,
                "n={n}: moved {moved}, expected {want}"
            );
        }
    }

    #[test]
    fn removing_a_server_moves_only_its_clients() {
        let p = pool(8);
        let ring = built("ring", &p);
        let owned = (0..20_000).filter(|&i| ring.peek(&client(i), 0, &p) == Some(3)).count();
        let moved = moved_share("ring", pool(8), 20_000, PoolChangeKind::Fail(3));
        assert_eq!(moved, owned as f64 / 20_000.0);
    }

    #[test]
    fn load_spread_matches_vnode_theory() {
        // With k points per server, a server's share has relative std ≈ 1/sqrt(k).
        let p = pool(100);
        let ring = built("ring(vnodes=100)", &p);
        let mut counts = vec![0f64; 100];
        let keys = 400_000;
        for i in 0..keys {
            counts[ring.peek(&client(i), 0, &p).unwrap() as usize] += 1.0;
        }
        let mean = keys as f64 / 100.0;
        let sd = (counts.iter().map(|c| (c / mean - 1.0).powi(2)).sum::<f64>() / 100.0).sqrt();
        assert!((0.07..0.13).contains(&sd), "relative std {sd}");
    }
}
