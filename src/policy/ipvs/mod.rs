//! Linux IPVS, the kernel's layer-4 balancer (behind keepalived, ldirectord and
//! kube-proxy's IPVS mode): the `sh` and `mh` schedulers, `rr`, and persistence
//! templates (`ipvsadm -p`).
//!
//! Every scheduler here works on the kernel's destination list ([`dests`]), whose
//! order (newest first) decides how tables fill, and on what the health checker does
//! with a failed server ([`OnFail`]): deleting it rebuilds the tables, quiescing it
//! (weight 0) keeps them and leaves the failover to the schedulers' fallback flags.

pub mod dests;
pub mod mh;
pub mod persistence;
pub mod rr;
pub mod sh;
pub mod siphash;

use super::{Addr, Args, Client, Key, Param, PolicyInfo, SpecError};

pub use dests::{Dests, OnFail};

pub const POLICIES: &[PolicyInfo] = &[sh::INFO, mh::INFO, rr::INFO, persistence::INFO];

/// The `key` of `sh` and `mh`: the client address, or address and source port when
/// the service has the scheduler's port flag (`sh-port`, `mh-port`).
const PORT_KEY: Param = Param {
    name: "key",
    default: "source",
    help: "what is hashed: source (the client address, IPVS's default) or source_port (address + source port: the sh-port / mh-port flag)",
};

fn read_port_key(args: &mut Args) -> Result<Key, SpecError> {
    Key::read(args, &[Key::Source, Key::SourcePort])
}

/// Reads an `off`/`on` flag.
fn read_flag(args: &mut Args, name: &str) -> Result<bool, SpecError> {
    Ok(args.choice(name, &["off", "on"])? == 1)
}

/// The 32-bit value IPVS hashes for an address: IPv4 as a number, IPv6 as the XOR of
/// its four 32-bit words (`addr_fold`).
pub fn addr_fold(addr: Addr) -> u32 {
    if addr.is_v4() {
        addr.0 as u32
    } else {
        let a = addr.0;
        (a as u32) ^ ((a >> 32) as u32) ^ ((a >> 64) as u32) ^ ((a >> 96) as u32)
    }
}

/// The value `sh` and `mh` hash for a client: `ntohs(port) + ntohl(addr_fold)`, with
/// the port 0 unless the service hashes it.
fn client_value(key: Key, client: &Client) -> u32 {
    let port = if key == Key::SourcePort { client.port } else { 0 };
    addr_fold(client.addr).wrapping_add(port as u32)
}

/// The kernel's `hash_32`: multiply by GOLDEN_RATIO_32 and keep the top `bits` bits
/// (Linux ≥ 4.7; older kernels multiplied by 0x9e370001).
pub fn hash_32(value: u32, bits: u32) -> u32 {
    value.wrapping_mul(0x61C8_8647) >> (32 - bits)
}

#[cfg(test)]
pub(super) mod tests {
    use crate::policy::testing::{named, servers};
    use crate::pool::Pool;

    /// Servers 10.0.0.1:80, 10.0.0.2:80, ... with these weights.
    pub(super) fn weighted(weights: &[u32]) -> Pool {
        servers(&named(weights.len(), |i| format!("10.0.0.{}:80", i + 1)), weights, &[])
    }

    use super::*;

    #[test]
    fn folds_and_golden_ratio_hash() {
        assert_eq!(addr_fold("192.168.1.10".parse().unwrap()), 0xc0a8_010a);
        let v6: Addr = "2001:db8::1:0:0:7".parse().unwrap();
        assert_eq!(addr_fold(v6), 0x2001_0db8 ^ 0x0001_0000 ^ 0x0000_0007);
        // 0xc0a8010a · 0x61C88647 mod 2^32 = 0xf8f385c6; its top 8 bits are 248.
        assert_eq!(hash_32(0xc0a8_010a, 8), 248);
        assert_eq!(hash_32(0xc0a8_010a, 32), 0xf8f3_85c6);
    }
}
