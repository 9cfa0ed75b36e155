//! lbsim: a discrete-event simulator of load-balancer affinity.
//!
//! A scenario describes users (their networks, visits and address changes), the
//! servers and their changes over time, and the policies to compare. One request
//! stream is generated per replication ([`workload`]) and fed to one lane per
//! policy ([`experiment`]); each lane routes it ([`policy`]) to its own copy of the
//! servers ([`pool`]) and measures session loss, imbalance and latency
//! ([`metrics`]), which [`output`] writes as CSV and JSON. A real access log can
//! stand in for the generated stream ([`trace`]), [`privacy`] anonymises such a
//! log to share it, and [`report`] turns a run folder into charts and one HTML
//! page.

pub mod engine;
pub mod experiment;
pub mod fit;
pub mod hash;
pub mod import;
pub mod metrics;
pub mod output;
pub mod plan;
pub mod policy;
pub mod pool;
pub mod privacy;
pub mod report;
pub mod route;
pub mod scenario;
pub mod trace;
pub mod workload;
