//! Google Cloud load balancers' backend services: `sessionAffinity` and
//! `localityLbPolicy` (cloud.google.com/load-balancing/docs/backend-service#session_affinity,
//! and the `backendServices` REST reference for the fields' meaning and ranges).
//!
//! Google does not publish its hashes, so lbsim models what the documentation
//! promises and stands in for the rest with hashes of its own (see
//! [`backend_service`]): which requests keep their backend, and what a change of
//! the healthy backends moves.

pub mod backend_service;
pub mod placement;
#[cfg(test)]
mod tests;

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[backend_service::INFO];
