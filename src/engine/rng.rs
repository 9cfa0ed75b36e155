//! Named random streams.
//!
//! Every source of randomness has its own stream, seeded from (scenario seed,
//! replication, stream name). Streams never share state, so adding a draw to one
//! part of the model leaves every other part's numbers unchanged, and results do not
//! depend on which thread ran what. The generator is PCG-64 (MCG 128/64 XSL), whose
//! output is fixed by its published algorithm.

use rand_pcg::Pcg64Mcg;
use xxhash_rust::xxh3::xxh3_128_with_seed;

/// The generator behind every stream.
pub type StreamRng = Pcg64Mcg;

/// What a stream is used for; the name is part of its seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// User arrival times.
    Arrivals,
    /// Visits: request counts, think times, return visits.
    Sessions,
    /// Which network a user is on and which public address it gets.
    Networks,
    /// Address changes over time (mobility).
    Churn,
    /// Connections: source ports, and the per-connection choices of NATs, proxy
    /// farms and Happy Eyeballs.
    Connections,
    /// Work each request asks of its server.
    Service,
    /// A policy's own choices (random picks, tie-breaks), per policy lane.
    Policy,
    /// When servers fail by themselves and how long their repairs take.
    Failures,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Arrivals => "arrivals",
            Stream::Sessions => "sessions",
            Stream::Networks => "networks",
            Stream::Churn => "churn",
            Stream::Connections => "connections",
            Stream::Service => "service",
            Stream::Policy => "policy",
            Stream::Failures => "failures",
        }
    }

    /// The stream for `(seed, replication)`; `salt` separates instances of the same
    /// purpose (for policy streams, the policy's position in the scenario).
    pub fn rng(self, seed: u64, replication: u32, salt: u64) -> StreamRng {
        let mut material = Vec::with_capacity(32);
        material.extend_from_slice(&seed.to_le_bytes());
        material.extend_from_slice(&replication.to_le_bytes());
        material.extend_from_slice(&salt.to_le_bytes());
        material.extend_from_slice(self.name().as_bytes());
        // An MCG state must be odd; `new` forces that bit.
        Pcg64Mcg::new(xxh3_128_with_seed(&material, 0x6c62_7369_6d00))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a1 = Stream::Arrivals.rng(7, 0, 0).next_u64();
        let a2 = Stream::Arrivals.rng(7, 0, 0).next_u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, Stream::Sessions.rng(7, 0, 0).next_u64());
        assert_ne!(a1, Stream::Arrivals.rng(7, 1, 0).next_u64());
        assert_ne!(a1, Stream::Arrivals.rng(8, 0, 0).next_u64());
        assert_ne!(a1, Stream::Arrivals.rng(7, 0, 1).next_u64());
    }

    #[test]
    fn generator_output_is_pinned() {
        // Seed derivation and PCG's output are fixed by their algorithms; a change
        // here would silently change every published result.
        assert_eq!(Stream::Arrivals.rng(1, 0, 0).next_u64(), PINNED);
    }

    const PINNED: u64 = 3_681_502_831_308_178_199;
}
