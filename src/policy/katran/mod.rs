//! Katran, Meta's XDP layer-4 balancer: a Maglev ring per VIP over the reals,
//! built by the control plane and read by the BPF program per packet.

mod folly;
mod jhash;
mod maglev;
mod murmur3;

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[maglev::INFO];
