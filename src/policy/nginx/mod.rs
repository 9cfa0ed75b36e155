//! nginx's `upstream` balancing methods: `ip_hash`, `hash` (plain and consistent), round robin and least_conn.

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[];
