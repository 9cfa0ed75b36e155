//! Kubernetes Service `sessionAffinity: ClientIP`, in each kube-proxy mode: iptables
//! (`recent` lists and a random split), nftables (timeout sets and `numgen`) and IPVS
//! (persistence templates).

pub mod client_ip;
pub mod iptables;
pub mod nftables;

use super::PolicyInfo;
use crate::pool::{Pool, ServerId};

pub const POLICIES: &[PolicyInfo] = &[client_ip::INFO];

/// The endpoints in kube-proxy's order: the up servers sorted by name (`IP:port`).
pub fn endpoints(pool: &Pool, out: &mut Vec<ServerId>) {
    out.clear();
    out.extend_from_slice(pool.up());
    out.sort_by(|&a, &b| pool.name(a).cmp(pool.name(b)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::servers;

    #[test]
    fn endpoints_sort_as_text() {
        let p = servers(&["10.0.0.2:80", "10.0.0.10:80", "10.0.0.1:80"], &[], &[]);
        let mut eps = Vec::new();
        endpoints(&p, &mut eps);
        // As text ':' sorts after '0': "10.0.0.10:80" < "10.0.0.1:80" < "10.0.0.2:80".
        assert_eq!(eps, [1, 2, 0]);
    }
}
