//! The workload: who sends which request when, from which address.
//!
//! Users do not react to the balancer's choices, so the request stream is the same
//! for every policy. It is generated once per replication by its own small event
//! loop and handed to every policy lane in time-ordered chunks: every policy sees
//! exactly the same clients (common random numbers) and generation is paid once.
//! A [`RequestSource`] is what the experiment reads; the generator is one, and a
//! replayed access log (`trace`) is another.

pub mod arrivals;
pub mod connections;
pub mod generator;
pub mod network;
pub mod packed;
pub mod request;
pub mod source;
pub mod users;

pub use generator::Workload;
pub use request::{AddressChange, Request};
pub use source::RequestSource;
