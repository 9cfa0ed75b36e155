//! Kubernetes Service `sessionAffinity: ClientIP`, in each kube-proxy mode: iptables
//! (`recent` lists and a random split), nftables (timeout sets and `numgen`) and IPVS
//! (persistence templates).

pub mod client_ip;
pub mod iptables;
pub mod nftables;

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[client_ip::INFO];
