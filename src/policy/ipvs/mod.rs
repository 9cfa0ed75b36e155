//! Linux IPVS schedulers (`sh`, `mh`) and IPVS persistence templates.

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[];
