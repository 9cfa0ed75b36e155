//! Katran, Meta's XDP layer-4 balancer: a Maglev table over the reals.

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[];
