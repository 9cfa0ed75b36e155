//! The discrete-event core: simulated time, the event calendar and named random streams.
//!
//! Everything else in lbsim is domain code built on these three small pieces.

pub mod calendar;
pub mod prefetch;
pub mod rng;
pub mod time;

pub use calendar::Calendar;
pub use rng::{Stream, StreamRng};
pub use time::{DAY, HOUR, MILLISECOND, MINUTE, SECOND, Time};
