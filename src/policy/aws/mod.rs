//! Amazon's Application Load Balancer target-group stickiness.

pub mod alb;

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[alb::INFO];
