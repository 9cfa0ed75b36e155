//! Linux IPVS `rr`, round robin (`net/netfilter/ipvs/ip_vs_rr.c`).
//!
//! A cursor walks the destination list, newest first, and each new connection goes
//! to the next server after it that has a weight above 0; weights do not matter
//! beyond that (`wrr` is the weighted one). A server added to the list goes in front
//! and is reached when the cursor wraps; a deleted server under the cursor hands it
//! to its predecessor. It is the scheduler kube-proxy's IPVS mode uses by default,
//! and the one behind persistence templates there.

use super::*;
use crate::policy::{Affinity, Pick, Policy, StreamRng, Time};
use crate::pool::{Pool, ServerId};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "ipvs.rr",
    summary: "Linux IPVS round robin over the server list, newest first; weights only mark servers in or out",
    params: &[OnFail::PARAM],
    build: |args, ctx| Ok(Box::new(Rr::new(ctx.pool, OnFail::read(args)?, false))),
};

pub struct Rr {
    dests: Dests,
    /// Position in the list of the last server picked; `None` is the list head.
    cursor: Option<usize>,
}

impl Rr {
    /// Servers present at start join in configuration order, or (`by_name`) sorted.
    pub fn new(pool: &Pool, on_fail: OnFail, by_name: bool) -> Rr {
        Rr {
            dests: Dests::new(pool, on_fail, by_name),
            cursor: None,
        }
    }

    /// The next available server after the cursor, wrapping once.
    pub fn next(&mut self, pool: &Pool) -> ServerId {
        let list = self.dests.list();
        let start = self.cursor.map_or(0, |c| c + 1);
        let i = (start..start + list.len())
            .map(|i| i % list.len())
            .find(|&i| pool.is_up(list[i]))
            .expect("pick is only called with a server up, and every up server is listed");
        self.cursor = Some(i);
        list[i]
    }
}

impl Policy for Rr {
    fn pick(&mut self, _: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        Pick::stateless(self.next(pool))
    }

    fn peek(&self, _: &Client, _: Time, _: &Pool) -> Option<ServerId> {
        None
    }

    fn pool_changed(&mut self, pool: &Pool) {
        let old = self.dests.list().to_vec();
        self.dests.sync(pool);
        let list = self.dests.list();
        // The cursor stays on its server; if that server left, on the nearest one
        // before it that is still listed (or the head).
        self.cursor = self
            .cursor
            .and_then(|c| old[..=c].iter().rev().find_map(|s| list.iter().position(|x| x == s)));
    }

    fn affinity(&self) -> Affinity {
        Affinity::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::pool_with_spare;
    use crate::pool::PoolChangeKind;

    fn picks(rr: &mut Rr, p: &Pool, n: usize) -> Vec<ServerId> {
        (0..n).map(|_| rr.next(p)).collect()
    }

    #[test]
    fn rotates_newest_first() {
        let p = pool_with_spare(3, 0);
        let mut rr = Rr::new(&p, OnFail::Remove, false);
        assert_eq!(picks(&mut rr, &p, 5), [2, 1, 0, 2, 1]);
    }

    #[test]
    fn added_servers_wait_for_the_wrap_and_deleted_ones_pass_the_cursor_back() {
        let mut p = pool_with_spare(3, 1);
        let mut rr = Rr::new(&p, OnFail::Remove, false);
        assert_eq!(picks(&mut rr, &p, 2), [2, 1]);
        p.apply(&PoolChangeKind::Add(3));
        rr.pool_changed(&p);
        assert_eq!(picks(&mut rr, &p, 3), [0, 3, 2]);
        // The cursor is on 2; deleting it moves the cursor to 3, before it.
        p.apply(&PoolChangeKind::Fail(2));
        rr.pool_changed(&p);
        assert_eq!(picks(&mut rr, &p, 3), [1, 0, 3]);
    }

    #[test]
    fn quiesced_servers_are_skipped_in_place() {
        let mut p = pool_with_spare(3, 0);
        let mut rr = Rr::new(&p, OnFail::Quiesce, false);
        p.apply(&PoolChangeKind::Fail(1));
        rr.pool_changed(&p);
        assert_eq!(picks(&mut rr, &p, 4), [2, 0, 2, 0]);
        p.apply(&PoolChangeKind::Recover(1));
        rr.pool_changed(&p);
        assert_eq!(picks(&mut rr, &p, 3), [2, 1, 0], "back in its old place");
    }
}
