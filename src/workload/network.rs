//! Where users reach the service from: public address pools, and the rules by
//! which a user's public address changes.
//!
//! Each network has a pool of public addresses. A user draws an address index
//! uniformly from its pool; the pool is sized so that the addresses in use carry
//! the configured number of users each on average. Home addresses are scattered
//! over the IPv4 space (or random IPv6 /64s); carrier-grade NAT pools are
//! contiguous blocks, as carriers number them; a proxy farm's egress addresses
//! sit side by side in one /24.
//!
//! Changes that belong to the network (a router renumbered, an IPv6 temporary
//! address rotated) are functions of the address and the time, so every user
//! behind one router sees them at the same moment, and no timer is kept.

use rand::RngExt;
use rand_distr::{Distribution, Exp};
use xxhash_rust::xxh3::{xxh3_64_with_seed, xxh3_128_with_seed};

use crate::engine::time::Stamp;
use crate::engine::{StreamRng, Time, time};
use crate::policy::key::Addr;
use crate::scenario::distribution::Sampler;
use crate::scenario::{Egress, Network, Pooling};

use super::packed::Packed;
use super::users::User;

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
    pub fn v4(&self, index: u32) -> u32 {
        match self.layout {
            Layout::ScatteredV4 => self.hash(index as u64, 0) as u32,
            Layout::Block { base } => base.wrapping_add(index),
        }
    }

    /// The global-unicast IPv6 /64 (2000::/3) of `index`, as its top 64 bits.
    fn v6_prefix(&self, index: u32) -> u64 {
        (0x2000 << 48) | (self.hash(index as u64, 1) & ((1 << 61) - 1))
    }

    /// A keyed hash of `value`, one stream per `purpose`.
    fn hash(&self, value: u64, purpose: u64) -> u64 {
        xxh3_64_with_seed(
            &value.to_le_bytes(),
            self.salt ^ purpose.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        )
    }

    /// A number in [0, 1) fixed by `value` and `purpose`.
    fn unit(&self, value: u64, purpose: u64) -> f64 {
        (self.hash(value, purpose) >> 11) as f64 / (1u64 << 53) as f64
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

/// A network as the generator uses it: its pools and churn parameters.
#[derive(Clone, Debug)]
pub enum Net {
    Home(Home),
    Cgnat {
        pool: AddressPool,
        pooling: Pooling,
        mapping_timeout: Time,
    },
    Enterprise {
        /// Cumulative site sizes, for drawing a user's site in proportion to size.
        sites: Vec<f64>,
        egress: u32,
        per_connection: bool,
        pool: AddressPool,
    },
    Relay {
        pool: AddressPool,
        rotate_every: Time,
    },
    Mobile {
        wifi: AddressPool,
        cellular: AddressPool,
        leave_wifi: f64,
        cellular_stay: Sampler,
    },
}

#[derive(Clone, Debug)]
pub struct Home {
    pub pool: AddressPool,
    pub ipv6_share: f64,
    renumber_share: f64,
    renumber_every: Time,
    leave_prefix: f64,
    privacy_rotation: Time,
    pub happy_eyeballs: f64,
}

impl Home {
    /// The router's IPv4 address at `now`. A renumbering household gets a new
    /// address every period, from a phase of its own; each new address leaves the
    /// /24 (for a random one) with probability `leave_prefix`, and otherwise stays
    /// in the /24 of the address before it.
    pub fn v4_at(&self, home: u32, now: Time) -> u32 {
        let base = self.pool.v4(home);
        let h = home as u64;
        if self.renumber_every == 0 || self.pool.unit(h, 2) >= self.renumber_share {
            return base;
        }
        let phase = self.pool.hash(h, 3) % self.renumber_every;
        let epoch = now.saturating_add(phase) / self.renumber_every;
        if epoch == 0 {
            return base;
        }
        let at = |k: u64| h << 24 ^ k;
        // The /24 of the latest renumbering that left its /24 (about 1/leave_prefix back).
        let left = if self.leave_prefix > 0.0 {
            (1..=epoch)
                .rev()
                .find(|&k| self.pool.unit(at(k), 5) < self.leave_prefix)
        } else {
            None
        };
        let prefix = left.map_or(base, |k| self.pool.hash(at(k), 4) as u32) & !0xff;
        prefix | (self.pool.hash(at(epoch), 7) as u32 & 0xff)
    }

    /// The generation of a device's temporary IPv6 address for a connection
    /// opened at `now`: RFC 8981 rotates it every preferred lifetime, from a
    /// per-device phase.
    pub fn privacy_generation(&self, user: u32, now: Time) -> u32 {
        if self.privacy_rotation == 0 {
            return 0;
        }
        let phase = self.pool.hash(user as u64, 6) % self.privacy_rotation;
        (now.saturating_add(phase) / self.privacy_rotation) as u32
    }
}

impl Net {
    /// Compiles a network of the scenario for `users` expected users on it.
    pub fn new(spec: &Network, users: f64, rng: &mut StreamRng) -> Net {
        match spec {
            Network::Home {
                users_per_address,
                ipv6_share,
                renumber_share,
                renumber_every,
                leave_prefix,
                privacy_rotation,
                happy_eyeballs,
                ..
            } => Net::Home(Home {
                pool: AddressPool::new(users, users_per_address.0, false, rng),
                ipv6_share: ipv6_share.0,
                renumber_share: renumber_share.0,
                renumber_every: renumber_every.0,
                leave_prefix: leave_prefix.0,
                privacy_rotation: privacy_rotation.0,
                happy_eyeballs: happy_eyeballs.0,
            }),
            Network::Cgnat {
                users_per_address,
                pooling,
                mapping_timeout,
                ..
            } => Net::Cgnat {
                pool: AddressPool::new(users, users_per_address.0, true, rng),
                pooling: *pooling,
                mapping_timeout: mapping_timeout.0,
            },
            Network::Enterprise {
                users_per_site,
                egress_addresses,
                egress,
                ..
            } => {
                let count = (users / users_per_site.mean()).ceil().max(1.0) as usize;
                let size = users_per_site.sampler();
                let sites = (0..count)
                    .scan(0.0, |acc, _| {
                        *acc += size.sample(rng);
                        Some(*acc)
                    })
                    .collect();
                Net::Enterprise {
                    sites,
                    egress: egress_addresses.0,
                    per_connection: *egress == Egress::PerConnection,
                    pool: AddressPool::new(count as f64, 1.0, false, rng),
                }
            }
            Network::Relay {
                users_per_address,
                rotate_every,
                ..
            } => Net::Relay {
                pool: AddressPool::new(users, users_per_address.0, false, rng),
                rotate_every: rotate_every.0,
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

    /// The address a packed value stands for on this network, for `user`.
    pub fn unpack(&self, p: Packed, user: u32) -> Addr {
        if !p.is_v6() {
            return Addr::v4(p.0 as u32);
        }
        let Net::Home(home) = self else {
            unreachable!("only home networks hand out IPv6 addresses")
        };
        let prefix = home.pool.v6_prefix(p.0 as u32);
        // A temporary interface identifier: random per device and generation.
        let key = (user as u64 | (p.generation() as u64) << 32).to_le_bytes();
        let iid = xxh3_128_with_seed(&key, home.pool.salt) as u64;
        Addr::v6((prefix as u128) << 64 | iid as u128)
    }
}

impl Net {
    /// Brings a phone up to `now` on a mobile network: makes the WiFi/cellular
    /// switches due by then, drawing each cellular address and stay from `rng`.
    pub fn roam(&self, user: &mut User, now: Time, rng: &mut StreamRng) {
        let Net::Mobile {
            cellular,
            leave_wifi,
            cellular_stay,
            ..
        } = self
        else {
            return;
        };
        while user.next_switch <= Stamp::from(now) {
            let to_cell = !user.on_cell();
            user.set_on_cell(to_cell);
            let stay = if to_cell {
                user.cur = cellular.draw(rng);
                time::from_secs(cellular_stay.sample(rng)).max(1)
            } else {
                after(0, *leave_wifi, rng)
            };
            // At least a millisecond, so that every turn of this loop moves on.
            let step = Stamp::from(stay).0.max(1);
            user.next_switch = Stamp(user.next_switch.0.saturating_add(step));
        }
    }

    /// The carrier address a phone is on, if it is on cellular.
    pub fn cellular_address(&self, user: &User) -> Option<u32> {
        match self {
            Net::Mobile { cellular, .. } if user.on_cell() => Some(cellular.v4(user.cur)),
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

/// A relay user's egress for a connection opened at `now`: a keyed choice per
/// rotation period, from a phase of the user's own.
pub fn relay_egress(pool: &AddressPool, rotate_every: Time, user: u32, now: Time) -> u32 {
    let phase = pool.hash(user as u64, 8) % rotate_every;
    let generation = now.saturating_add(phase) / rotate_every;
    (pool.hash((user as u64) << 32 ^ generation, 9) % pool.size) as u32
}

/// Egress address `choice` of enterprise `site`: consecutive addresses in one /24.
pub fn egress_address(pool: &AddressPool, site: u32, choice: u32) -> u32 {
    (pool.v4(site) & !0xff) | (choice & 0xff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{DAY, HOUR, Stream};

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
        let mut rng = Stream::Networks.rng(1, 0, 0);
        let pool = AddressPool::new(10_000.0, 250.0, true, &mut rng);
        assert_eq!(pool.v4(1) - pool.v4(0), 1);
        let home = AddressPool::new(10_000.0, 1.5, false, &mut rng);
        assert_eq!(home.v6_prefix(3) >> 61, 1);
    }

    #[test]
    fn renumbering_is_periodic_per_household() {
        let mut rng = Stream::Networks.rng(1, 0, 0);
        let home = Home {
            pool: AddressPool::new(10_000.0, 1.5, false, &mut rng),
            ipv6_share: 0.0,
            renumber_share: 1.0,
            renumber_every: DAY,
            leave_prefix: 0.5,
            privacy_rotation: 0,
            happy_eyeballs: 0.0,
        };
        let (mut changes, mut left) = (0, 0);
        for h in 0..2_000 {
            let addrs: Vec<u32> = (0..=72).map(|hour| home.v4_at(h, hour * HOUR)).collect();
            for w in addrs.windows(2) {
                if w[0] != w[1] {
                    changes += 1;
                    left += (w[0] >> 8 != w[1] >> 8) as u32;
                }
            }
        }
        // Three days: three renumberings per household, less the rare same-host draw.
        assert!((5_950..=6_000).contains(&changes), "{changes}");
        let share = left as f64 / changes as f64;
        assert!((share - 0.5).abs() < 0.03, "{share} left the /24");
    }
}
