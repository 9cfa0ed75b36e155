//! HAProxy's `balance source` (map-based and consistent) and its stick tables.

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[];
