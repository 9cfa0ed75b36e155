//! Requests in flight, for load-aware policies: each finished request is retired
//! before the next pick, so connection counts are exact at every decision.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::engine::Time;

use super::ServerId;

#[derive(Default)]
pub struct InFlight {
    finishing: BinaryHeap<Reverse<(Time, ServerId)>>,
}

impl InFlight {
    pub fn start(&mut self, counts: &mut [u32], s: ServerId, finish: Time) {
        counts[s as usize] += 1;
        self.finishing.push(Reverse((finish, s)));
    }

    /// Retires every request finished by `now`.
    pub fn retire(&mut self, counts: &mut [u32], now: Time) {
        while let Some(&Reverse((t, s))) = self.finishing.peek() {
            if t > now {
                break;
            }
            self.finishing.pop();
            counts[s as usize] -= 1;
        }
    }

    /// Forgets a server's requests (it failed); they no longer count as its load.
    pub fn abandon(&mut self, counts: &mut [u32], s: ServerId) {
        self.finishing.retain(|Reverse((_, x))| *x != s);
        counts[s as usize] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_finishes() {
        let (mut f, mut c) = (InFlight::default(), vec![0u32; 2]);
        f.start(&mut c, 0, 10);
        f.start(&mut c, 0, 20);
        f.start(&mut c, 1, 15);
        f.retire(&mut c, 12);
        assert_eq!(c, [1, 1]);
        f.abandon(&mut c, 1);
        f.retire(&mut c, 30);
        assert_eq!(c, [0, 0]);
    }
}
