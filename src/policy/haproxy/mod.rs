//! HAProxy's `balance source` (map-based and consistent) and its stick tables, as
//! HAProxy 2.6 (the Debian 12 package) implements them.

pub mod chash;
pub mod hash;
pub mod map;
pub mod source;
pub mod stick_table;

use super::{PolicyInfo, SpecError};
use crate::pool::{Pool, Server};

pub const POLICIES: &[PolicyInfo] = &[source::INFO, stick_table::INFO];

/// HAProxy's largest server weight (0..=256; lbsim servers weigh at least 1).
const MAX_WEIGHT: u32 = 256;

/// Rejects pools HAProxy would refuse to load: a weight above 256. The pool may
/// hold weights in slow start's units; the configured ones are checked.
fn check_weights(pool: &Pool) -> Result<(), SpecError> {
    let configured = |s: &Server| s.weight / pool.weight_scale();
    match pool.servers().iter().find(|s| configured(s) > MAX_WEIGHT) {
        Some(s) => Err(SpecError::at(
            0,
            format!(
                "server {} has weight {}: HAProxy accepts weights from 0 to {MAX_WEIGHT}",
                s.name,
                configured(s)
            ),
        )),
        None => Ok(()),
    }
}
