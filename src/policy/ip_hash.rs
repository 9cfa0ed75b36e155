//! Source-IP hash: the hash of the client's key (by default its full address),
//! modulo the total weight of the servers that are up. The textbook "IP hash":
//! sticky while nothing changes, but any change in the number of servers remaps
//! nearly every client.

use super::*;
use crate::hash::key_hash;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "ip_hash",
    summary: "hash of the source address (or another key) mod N (weighted); every pool change remaps most clients",
    params: &[Key::PARAM],
    build: |args, _| {
        Ok(Box::new(IpHash {
            key: Key::read(args, &Key::ALL)?,
        }))
    },
};

pub struct IpHash {
    key: Key,
}

impl Hashing for IpHash {
    fn select(&self, client: &Client, pool: &Pool) -> ServerId {
        let up = pool.up();
        let mut w = key_hash(self.key.bits(client)) % pool.total_up_weight();
        if pool.total_up_weight() == up.len() as u64 {
            // Every weight is 1: the walk below would stop at index w.
            return up[w as usize];
        }
        for &s in up {
            let ws = pool.weight(s) as u64;
            if w < ws {
                return s;
            }
            w -= ws;
        }
        unreachable!("w < total weight of up servers")
    }

    fn rebuild(&mut self, _: &Pool) {}

    fn key(&self) -> Key {
        self.key
    }
}

#[cfg(test)]
mod tests {
    use super::testing::adding_moves_as_mod_n;

    #[test]
    fn adding_a_server_to_n_moves_about_n_over_n_plus_1() {
        adding_moves_as_mod_n("ip_hash", &[3, 8, 20], 50_000, 0.01);
    }
}
