//! What a run measures: session losses and their causes, how evenly servers are
//! loaded, response times, and statistics across replications.

pub mod latency;
pub mod loss;
pub mod spread;
pub mod stats;
pub mod tally;

pub use loss::{LossCause, Unserved};
pub use tally::{LaneReport, Tally};
