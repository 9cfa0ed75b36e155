//! Envoy's consistent-hash load balancers, as configured in a cluster's `lb_policy`.

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[];
