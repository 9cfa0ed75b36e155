//! Where users reach the service from: public address pools and how a user's
//! address changes over time.
//!
//! Each network has a pool of public addresses. A user draws an address index
//! uniformly from its pool; the pool is sized so that the addresses in use carry
//! the configured number of users each on average. Home addresses are scattered
//! over the IPv4 space (or random IPv6 /64s); carrier-grade NAT pools are
//! contiguous blocks, as carriers number them.

use rand::RngExt;
use rand_distr::{Distribution, Exp};
use xxhash_rust::xxh3::xxh3_128_with_seed;

use crate::engine::{StreamRng, Time, time};
use crate::policy::key::Addr;
use crate::scenario::Network;
use crate::scenario::distribution::Sampler;

use super::users::Users;

/// A pool of public addresses.
#[derive(Clone, Debug)]
pub struct AddressPool {
    /// Number of addresses; an index is drawn uniformly below this.
    pub size: u64,
    layout: Layout,
    salt: u64,
}

#[derive(Clone, Copy, Debug)]
enum Layout {
    /// Addresses spread over the IPv4 space.
    ScatteredV4,
    /// A contiguous IPv4 block starting at `base`.
    Block { base: u32 },
}

impl AddressPool {
    /// A pool serving `users` users at `per_address` users per address in use.
    fn new(users: f64, per_address: f64, contiguous: bool, rng: &mut StreamRng) -> AddressPool {
        let size = pool_size(users.max(1.0), per_address);
        let salt = rng.random::<u64>();
        let layout = if contiguous {
            // Carrier blocks sit inside public /8s 1..223, away from the top of the space.
            let first: u32 = rng.random_range(1..224) << 24 | rng.random_range(0..1u32 << 24);
            let room = (u32::MAX - first) as u64;
            let base = if size <= room { first } else { 0x0100_0000 };
            Layout::Block { base }
        } else {
            Layout::ScatteredV4
        };
        AddressPool { size, layout, salt }
    }

    pub fn draw(&self, rng: &mut StreamRng) -> u32 {
        rng.random_range(0..self.size) as u32
    }

    /// The IPv4 address at `index`.
    pub fn v4(&self, index: u32) -> Addr {
        match self.layout {
            Layout::ScatteredV4 => Addr::v4(self.scramble(index) as u32),
            Layout::Block { base } => Addr::v4(base.wrapping_add(index)),
        }
    }

    /// A global-unicast IPv6 address (2000::/3) for `index`.
    pub fn v6(&self, index: u32) -> Addr {
        let bits = self.scramble(index);
        Addr::v6((0x2000u128 << 112) | (bits & ((1u128 << 125) - 1)))
    }

    fn scramble(&self, index: u32) -> u128 {
        xxh3_128_with_seed(&index.to_le_bytes(), self.salt)
    }
}

/// Pool size P such that `users` uniform draws occupy about users/per_address
/// distinct addresses: P·(1 − e^(−users/P)) = users/per_address.
pub fn pool_size(users: f64, per_address: f64) -> u64 {
    let target = users / per_address;
    if per_address <= 1.0 + 1e-9 || target < 1.0 {
        // One user per address: make collisions negligible.
        return if per_address <= 1.0 + 1e-9 { u32::MAX as u64 } else { 1 };
    }
    let occupied = |p: f64| p * (1.0 - (-users / p).exp());
    let (mut lo, mut hi) = (target, users * 1e6);
    for _ in 0..200 {
        let mid = (lo * hi).sqrt();
        if occupied(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (hi.round() as u64).clamp(1, u32::MAX as u64)
}

/// A network as the generator uses it: its pools and churn samplers.
#[derive(Clone, Debug)]
pub enum Net {
    Home {
        pool: AddressPool,
        ipv6_share: f64,
    },
    Cgnat {
        pool: AddressPool,
    },
    Mobile {
        wifi: AddressPool,
        cellular: AddressPool,
        leave_wifi: f64,
        cellular_stay: Sampler,
    },
}

impl Net {
    /// Compiles a network of the scenario for `users` expected users on it.
    pub fn new(spec: &Network, users: f64, rng: &mut StreamRng) -> Net {
        match spec {
            Network::Home {
                users_per_address,
                ipv6_share,
                ..
            } => Net::Home {
                pool: AddressPool::new(users, users_per_address.0, false, rng),
                ipv6_share: ipv6_share.0,
            },
            Network::Cgnat { users_per_address, .. } => Net::Cgnat {
                pool: AddressPool::new(users, users_per_address.0, true, rng),
            },
            Network::Mobile {
                switch_rate,
                cellular_stay,
                wifi_users_per_address,
                cellular_users_per_address,
                ..
            } => Net::Mobile {
                wifi: AddressPool::new(users, wifi_users_per_address.0, false, rng),
                cellular: AddressPool::new(users, cellular_users_per_address.0, true, rng),
                leave_wifi: switch_rate.per_sec(),
                cellular_stay: cellular_stay.sampler(),
            },
        }
    }

    /// Brings user `u`'s attachment up to `now`: on a mobile network, makes the
    /// WiFi/cellular switches due by then, drawing each cellular address and stay
    /// from `rng`. Returns whether the request at `now` goes out on another
    /// attachment than the user's previous request did.
    pub fn roam(&self, users: &mut Users, u: u32, now: Time, rng: &mut StreamRng) -> bool {
        let i = u as usize;
        if let Net::Mobile {
            cellular,
            leave_wifi,
            cellular_stay,
            ..
        } = self
        {
            while users.next_switch[i] <= now {
                let to_cell = !users.on_cell(u);
                users.set_on_cell(u, to_cell);
                let stay = if to_cell {
                    users.cell[i] = cellular.draw(rng);
                    time::from_secs(cellular_stay.sample(rng)).max(1)
                } else {
                    after(0, *leave_wifi, rng)
                };
                users.next_switch[i] = users.next_switch[i].saturating_add(stay);
            }
        }
        let changed =
            users.on_cell(u) != users.last_on_cell(u) || (users.on_cell(u) && users.cell[i] != users.last_cell[i]);
        users.remember_attachment(u);
        changed
    }

    /// The carrier address user `u`'s latest request came from, if it was sent
    /// over cellular.
    pub fn cellular_address(&self, users: &Users, u: u32) -> Option<Addr> {
        match self {
            Net::Mobile { cellular, .. } if users.last_on_cell(u) => Some(cellular.v4(users.last_cell[u as usize])),
            _ => None,
        }
    }
}

/// `now` plus an exponential gap at `rate` per second; never, for rate 0.
pub fn after(now: Time, rate: f64, rng: &mut StreamRng) -> Time {
    match Exp::new(rate) {
        Ok(d) if rate > 0.0 => now.saturating_add(time::from_secs(d.sample(rng)).max(1)),
        _ => Time::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_gives_the_configured_users_per_address() {
        for (users, k) in [(10_000.0, 1.5), (100_000.0, 3.0), (50_000.0, 250.0)] {
            let p = pool_size(users, k);
            let occupied = p as f64 * (1.0 - (-users / p as f64).exp());
            assert!(
                (users / occupied - k).abs() / k < 0.01,
                "users {users}, k {k}: pool {p}"
            );
        }
        assert_eq!(pool_size(1000.0, 1.0), u32::MAX as u64);
    }

    #[test]
    fn cgnat_block_is_contiguous_and_v6_is_global() {
        let mut rng = crate::engine::Stream::Networks.rng(1, 0, 0);
        let pool = AddressPool::new(10_000.0, 250.0, true, &mut rng);
        assert_eq!(pool.v4(1).0 - pool.v4(0).0, 1);
        let home = AddressPool::new(10_000.0, 1.5, false, &mut rng);
        let a = home.v6(3);
        assert!(!a.is_v4() && a.0 >> 125 == 1);
    }
}
