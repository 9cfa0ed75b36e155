//! Sharing a log without its clients.
//!
//! An access log names people's machines: an address, or a host name. To hand
//! one to a colleague, `lbsim anonymize` replaces each client with a stand-in
//! that keeps what a load balancer keys on and nothing else:
//!
//! - an address becomes its Crypto-PAn image ([`cryptopan`]): one-to-one and
//!   prefix-preserving, so two addresses that share their first k bits map to two
//!   that share their first k bits and no more. Every /24 of the log is one /24 of
//!   the anonymised log and every /64 one /64, so `ip_hash` with a prefix mask and
//!   the prefix keys group clients exactly as before, and hashes of the whole
//!   address still see one steady, distinct address per client;
//! - a host name becomes the address a replay gives it anyway, a keyed hash into
//!   240.0.0.0/4 (see `trace::clients`).
//!
//! Both are keyed by one 32-byte secret ([`key`]). With the same key, a replay of
//! the anonymised log sees the clients grouped exactly as in the original (the
//! same requests share an address, a /24, a /64), so every policy that chooses by
//! those groups and by arrival order (round robin, stick tables, cookies, IPVS
//! persistence) routes it alike; hashes see the same groups but other values, and
//! send them to other servers. Without the key the mapping cannot be computed, nor
//! undone from the log alone, except by an attacker who knows some clients' real
//! addresses and finds them by their traffic (Xu et al. discuss these attacks). Everything else on a line (URLs, user agents, referers) is kept as it
//! is: check it before sharing.

pub mod anonymize;
pub mod cryptopan;
pub mod key;

pub use cryptopan::CryptoPan;
pub use key::Secret;
