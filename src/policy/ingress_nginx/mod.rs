//! The Kubernetes ingress-nginx controller's Lua balancer
//! (`rootfs/etc/nginx/lua/balancer.lua`), which picks the endpoint for every
//! request instead of nginx's own `upstream` methods: `affinity: cookie` (balanced
//! or persistent), `upstream-hash-by`, and otherwise the `load-balance` algorithm,
//! `round_robin` by default.
//!
//! Its endpoints are a Service's ready pods, `address:port`, each of weight 1: the
//! balancer ignores lbsim's server weights. A pod that fails its readiness probe or
//! terminates leaves the endpoints and the balancer rebuilds on the next sync.
//! Left out: the `ewma` algorithm (it scores endpoints by their measured response
//! times, which lbsim's policies do not see), canary backends and the subset hash.

pub mod chash;
pub mod cookie;
pub mod hash_by;
pub mod round_robin;

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[cookie::INFO, hash_by::INFO, round_robin::INFO];
