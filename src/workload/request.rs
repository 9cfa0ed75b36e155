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
    /// The ISP gave the home router a new address (periodic renumbering).
    Renumbering,
    /// A new IPv6 temporary (privacy) address took over for new connections.
    Privacy,
    /// The carrier NAT put a new connection on another public address: arbitrary
    /// pooling, or paired pooling after the subscriber's mappings timed out.
    NatPool,
    /// A proxy farm sent the connection out of another egress address.
    ProxyEgress,
    /// Happy Eyeballs connected over the other address family.
    AddressFamily,
}

impl AddressChange {
    /// Every kind of change, in report order.
    pub const ALL: [AddressChange; 7] = [
        AddressChange::Mobility,
        AddressChange::Scripted,
        AddressChange::Renumbering,
        AddressChange::Privacy,
        AddressChange::NatPool,
        AddressChange::ProxyEgress,
        AddressChange::AddressFamily,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AddressChange::None => "none",
            AddressChange::Mobility => "mobility",
            AddressChange::Scripted => "scripted_move",
            AddressChange::Renumbering => "renumbering",
            AddressChange::Privacy => "ipv6_privacy",
            AddressChange::NatPool => "nat_pool",
            AddressChange::ProxyEgress => "proxy_egress",
            AddressChange::AddressFamily => "happy_eyeballs",
        }
    }

    /// A small code (0 for no change) for packing into per-user bits.
    pub fn code(self) -> u32 {
        match self {
            AddressChange::None => 0,
            c => 1 + Self::ALL.iter().position(|&a| a == c).expect("listed") as u32,
        }
    }

    pub fn from_code(code: u32) -> AddressChange {
        match code {
            0 => AddressChange::None,
            c => Self::ALL[c as usize - 1],
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
    /// Source port of the request's connection, for keys that include it.
    pub port: u16,
    /// Which of the user's concurrent connections carries it.
    pub connection: u8,
    /// It opens that connection: the first request on it, or the first after it
    /// closed (idle past `keepalive`, past its lifetime, or a new address).
    pub new_connection: bool,
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
            connection: self.connection,
            new_connection: self.new_connection,
        }
    }
}
