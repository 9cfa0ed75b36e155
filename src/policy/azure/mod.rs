//! Microsoft's Azure Load Balancer (layer 4), as a load-balancing rule's
//! distribution mode sets it.

pub mod lb;

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[lb::INFO];
