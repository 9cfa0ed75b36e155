//! One request as it reaches the balancer.

use crate::engine::Time;
use crate::policy::key::{Addr, Client};

/// Why a user's source address differs from the one its previous request came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddressChange {
    /// Same address as the previous request.
    None,
    /// A phone moved between WiFi and cellular.
    Mobility,
    /// A scripted user moved to the address the scenario gave.
    Scripted,
}

impl AddressChange {
    pub fn name(self) -> &'static str {
        match self {
            AddressChange::None => "none",
            AddressChange::Mobility => "mobility",
            AddressChange::Scripted => "scripted_move",
        }
    }
}

/// A request: small and `Copy`, so chunks of them are flat arrays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Request {
    pub time: Time,
    /// Work it asks of the server it lands on.
    pub service: Time,
    pub addr: Addr,
    pub user: u32,
    /// Source port of the visit's connection, for keys that include it.
    pub port: u16,
    /// First request of a visit.
    pub opens_visit: bool,
    /// Last request of a visit.
    pub closes_visit: bool,
    pub change: AddressChange,
}

impl Request {
    pub fn client(&self) -> Client {
        Client {
            user: self.user,
            addr: self.addr,
            port: self.port,
        }
    }
}
