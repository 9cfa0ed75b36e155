//! Istio's `DestinationRule`, as istiod translates it for the Envoy proxies of the
//! mesh and its gateways: `trafficPolicy.loadBalancer.consistentHash`.

pub mod consistent_hash;

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[consistent_hash::INFO];
