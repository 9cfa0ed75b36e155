//! A memo of a per-client hash, for products that hash the client address as
//! text (Envoy's XXH64, nginx's CRC-32): writing "192.168.1.10" and hashing it
//! costs more than the rest of a table lookup, and a client's requests come back
//! again and again. A direct-mapped table of 4,096 recent clients, keyed by the
//! exact hash input, so a hit returns exactly what the computation would.

use super::fmix64;

const SLOTS: usize = 4096;
/// Marks an empty slot; a key equal to it is never stored.
const EMPTY: u128 = u128::MAX;

pub struct Memo {
    slots: Vec<(u128, u64)>,
}

impl Default for Memo {
    fn default() -> Memo {
        Memo {
            slots: vec![(EMPTY, 0); SLOTS],
        }
    }
}

impl Memo {
    /// The hash of the client whose exact hash input is `key`, computed on a miss.
    pub fn get(&mut self, key: u128, compute: impl FnOnce() -> u64) -> u64 {
        if key == EMPTY {
            return compute();
        }
        let i = fmix64(key as u64 ^ fmix64((key >> 64) as u64)) as usize & (SLOTS - 1);
        match self.slots[i] {
            (k, v) if k == key => v,
            _ => {
                let v = compute();
                self.slots[i] = (key, v);
                v
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_return_what_was_computed_and_collisions_recompute() {
        let mut m = Memo::default();
        let mut calls = 0;
        for round in 0..2 {
            for k in 0..10_000u128 {
                let v = m.get(k, || {
                    calls += 1;
                    (k * 3) as u64
                });
                assert_eq!(v, (k * 3) as u64, "round {round}");
            }
        }
        // 10,000 keys in 4,096 slots: the second round hits only the survivors.
        assert!((10_000..20_000).contains(&calls), "{calls}");
        assert_eq!(m.get(EMPTY, || 7), 7);
    }
}
