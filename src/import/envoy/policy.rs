//! A cluster's load balancer: the legacy `lb_policy` enum with its
//! `*_lb_config` and `common_lb_config`, or the `load_balancing_policy`
//! extensions, as the lbsim policy that picks as Envoy does.

use super::config::{Cluster, CommonLb, ConsistentHashing, LoadBalancingPolicy, SlowStartConfig};
use crate::import::reading::Source;
use crate::import::spec::PolicyText;
use crate::import::yaml::{Count, Spanned, at};
use crate::import::{ImportError, ImportedSlowStart, Origin};

/// Envoy's load balancers, and what lbsim models each with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    RingHash,
    Maglev,
    RoundRobin,
    LeastRequest,
    Random,
}

impl Kind {
    /// Whether the balancer hashes the request (and so needs a hash policy).
    pub fn hashes(self) -> bool {
        matches!(self, Kind::RingHash | Kind::Maglev)
    }
}

/// The balancer a cluster configures.
pub struct Balancer {
    pub kind: Kind,
    /// The lbsim policy without its `key`, which the hash policy gives.
    pub policy: PolicyText,
    pub origins: Vec<Origin>,
    /// Where `use_hostname_for_hashing: true` was read.
    pub use_hostname: Option<usize>,
    /// Where locality-weighted balancing was switched on.
    pub locality_weighted: Option<usize>,
    /// `slow_start_config` of ROUND_ROBIN or LEAST_REQUEST.
    pub slow_start: Option<ImportedSlowStart>,
}

const LB_POLICIES: &str = "ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV";

/// The balancer of `cluster`.
pub fn balancer(src: &mut Source, cluster: &Cluster) -> Result<Balancer, ImportError> {
    if let Some(common) = &cluster.common_lb_config {
        common_notes(src, common);
    }
    if let Some(lbp) = &cluster.load_balancing_policy {
        // The extension list takes precedence over `lb_policy`.
        return extension(src, lbp);
    }
    let (kind, origins) = match &cluster.lb_policy {
        None => (Kind::RoundRobin, Vec::new()),
        Some(p) => {
            let kind = match p.value.as_str() {
                "ROUND_ROBIN" => Kind::RoundRobin,
                "LEAST_REQUEST" => Kind::LeastRequest,
                "RING_HASH" => Kind::RingHash,
                "RANDOM" => Kind::Random,
                "MAGLEV" => Kind::Maglev,
                "CLUSTER_PROVIDED" | "LOAD_BALANCING_POLICY_CONFIG" => {
                    return Err(src.error(
                        at(src.text, p),
                        format!(
                            "lb_policy {}: the cluster's own balancer is not modelled by lbsim; expected one of {LB_POLICIES}",
                            p.value
                        ),
                    ));
                }
                other => {
                    return Err(src.error(
                        at(src.text, p),
                        format!("unknown lb_policy {other:?}; expected one of {LB_POLICIES}"),
                    ));
                }
            };
            (
                kind,
                vec![src.origin(at(src.text, p), format!("lb_policy: {}", p.value))],
            )
        }
    };
    let mut b = Balancer {
        kind,
        policy: PolicyText::new(lbsim_name(kind)),
        origins,
        use_hostname: None,
        locality_weighted: cluster
            .common_lb_config
            .as_ref()
            .and_then(|c| c.locality_weighted_lb_config.as_ref())
            .map(|l| at(src.text, l)),
        slow_start: None,
    };
    match kind {
        Kind::RingHash => {
            if let Some(r) = &cluster.ring_hash_lb_config {
                ring_sizes(src, &mut b, &r.value.minimum_ring_size, &r.value.maximum_ring_size)?;
                hash_function(src, &r.value.hash_function)?;
            }
        }
        Kind::Maglev => {
            if let Some(m) = &cluster.maglev_lb_config {
                table_size(src, &mut b, &m.value.table_size);
            }
        }
        Kind::LeastRequest => {
            let lr = cluster.least_request_lb_config.as_ref().map(|l| &l.value);
            choices(src, &mut b, lr.and_then(|l| l.choice_count.as_ref()));
            if let Some(ss) = lr.and_then(|l| l.slow_start_config.as_ref()) {
                b.slow_start = slow_start(src, ss)?;
            }
        }
        Kind::RoundRobin => {
            if let Some(ss) = cluster
                .round_robin_lb_config
                .as_ref()
                .and_then(|r| r.value.slow_start_config.as_ref())
            {
                b.slow_start = slow_start(src, ss)?;
            }
        }
        Kind::Random => {}
    }
    if kind.hashes() {
        let ch = cluster
            .common_lb_config
            .as_ref()
            .and_then(|c| c.consistent_hashing_lb_config.as_ref());
        consistent_hashing(src, &mut b, ch, None, None);
    }
    Ok(b)
}

impl Balancer {
    fn empty() -> Balancer {
        Balancer {
            kind: Kind::RoundRobin,
            policy: PolicyText::new("round_robin"),
            origins: Vec::new(),
            use_hostname: None,
            locality_weighted: None,
            slow_start: None,
        }
    }
}

fn lbsim_name(kind: Kind) -> &'static str {
    match kind {
        Kind::RingHash => "envoy.ring_hash",
        Kind::Maglev => "envoy.maglev",
        Kind::RoundRobin => "round_robin",
        Kind::LeastRequest => "p2c",
        Kind::Random => "random",
    }
}

/// The first extension of `load_balancing_policy` (Envoy takes the first it can).
fn extension(src: &mut Source, lbp: &Spanned<LoadBalancingPolicy>) -> Result<Balancer, ImportError> {
    let Some(first) = lbp.value.policies.first() else {
        return Err(src.error(at(src.text, lbp), "load_balancing_policy has no policies"));
    };
    let typed = &first.value.typed_extension_config.value.typed_config;
    let t = &typed.value;
    let url = &t.type_url.value;
    let short = url.rsplit('/').next().unwrap_or(url);
    let here = at(src.text, &t.type_url);
    let kind = match short {
        "envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash" => Kind::RingHash,
        "envoy.extensions.load_balancing_policies.maglev.v3.Maglev" => Kind::Maglev,
        "envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin" => Kind::RoundRobin,
        "envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest" => Kind::LeastRequest,
        "envoy.extensions.load_balancing_policies.random.v3.Random" => Kind::Random,
        "envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality" => {
            let Some(inner) = &t.endpoint_picking_policy else {
                return Err(src.error(here, "WrrLocality without an endpoint_picking_policy"));
            };
            let mut b = extension(src, inner)?;
            b.locality_weighted = Some(here);
            return Ok(b);
        }
        _ => {
            return Err(src.error(
                here,
                format!(
                    "load balancing extension {short}: not modelled by lbsim; expected RingHash, Maglev, RoundRobin, \
                     LeastRequest, Random or WrrLocality from envoy.extensions.load_balancing_policies"
                ),
            ));
        }
    };
    let name = short.rsplit('.').next().unwrap_or(short);
    let mut b = Balancer {
        kind,
        policy: PolicyText::new(lbsim_name(kind)),
        origins: vec![src.origin(here, format!("load_balancing_policy {name}"))],
        ..Balancer::empty()
    };
    if let Some(l) = &t.locality_weighted_lb_config {
        b.locality_weighted = Some(at(src.text, l));
    }
    if let Some(l) = &t.locality_lb_config {
        if let Some(w) = &l.value.locality_weighted_lb_config {
            b.locality_weighted = Some(at(src.text, w));
        }
        if l.value.zone_aware_lb_config.is_some() {
            zone_aware(src);
        }
    }
    match kind {
        Kind::RingHash => {
            ring_sizes(src, &mut b, &t.minimum_ring_size, &t.maximum_ring_size)?;
            hash_function(src, &t.hash_function)?;
        }
        Kind::Maglev => table_size(src, &mut b, &t.table_size),
        Kind::LeastRequest => choices(src, &mut b, t.choice_count.as_ref()),
        Kind::RoundRobin | Kind::Random => {}
    }
    if let Some(ss) = &t.slow_start_config {
        b.slow_start = slow_start(src, ss)?;
    }
    if kind.hashes() {
        consistent_hashing(
            src,
            &mut b,
            t.consistent_hashing_lb_config.as_ref(),
            t.use_hostname_for_hashing.as_ref(),
            t.hash_balance_factor.as_ref(),
        );
    }
    Ok(b)
}

fn ring_sizes(
    src: &Source,
    b: &mut Balancer,
    min: &Option<Spanned<Count>>,
    max: &Option<Spanned<Count>>,
) -> Result<(), ImportError> {
    for (name, v) in [("minimum_ring_size", min), ("maximum_ring_size", max)] {
        if let Some(v) = v {
            let here = at(src.text, v);
            b.policy.param(name, v.value.0, Some(here));
            b.origins.push(src.origin(here, format!("{name}: {}", v.value.0)));
        }
    }
    Ok(())
}

fn hash_function(src: &mut Source, f: &Option<Spanned<String>>) -> Result<(), ImportError> {
    match f {
        None => Ok(()),
        Some(f) if f.value == "XX_HASH" => Ok(()),
        Some(f) if f.value == "MURMUR_HASH_2" => src.unsupported(
            at(src.text, f),
            "hash_function MURMUR_HASH_2: lbsim models the ring with XX_HASH (xxHash64), Envoy's default",
        ),
        Some(f) => Err(src.error(
            at(src.text, f),
            format!("unknown hash_function {:?}; expected XX_HASH or MURMUR_HASH_2", f.value),
        )),
    }
}

fn table_size(src: &Source, b: &mut Balancer, size: &Option<Spanned<Count>>) {
    if let Some(v) = size {
        let here = at(src.text, v);
        b.policy.param("table_size", v.value.0, Some(here));
        b.origins.push(src.origin(here, format!("table_size: {}", v.value.0)));
    }
}

fn choices(src: &Source, b: &mut Balancer, count: Option<&Spanned<Count>>) {
    match count {
        Some(v) => {
            let here = at(src.text, v);
            b.policy.param("choices", v.value.0, Some(here));
            b.origins.push(src.origin(here, format!("choice_count: {}", v.value.0)));
        }
        None => {
            b.policy.param("choices", 2, None);
        }
    }
}

/// `consistent_hashing_lb_config`, or the ring hash extension's deprecated fields.
fn consistent_hashing(
    src: &Source,
    b: &mut Balancer,
    ch: Option<&ConsistentHashing>,
    hostname: Option<&Spanned<bool>>,
    factor: Option<&Spanned<Count>>,
) {
    let hostname = ch.and_then(|c| c.use_hostname_for_hashing.as_ref()).or(hostname);
    let factor = ch.and_then(|c| c.hash_balance_factor.as_ref()).or(factor);
    if let Some(h) = hostname.filter(|h| h.value) {
        let here = at(src.text, h);
        b.use_hostname = Some(here);
        b.origins.push(src.origin(here, "use_hostname_for_hashing: true"));
    }
    if let Some(f) = factor {
        let here = at(src.text, f);
        b.policy.param("hash_balance_factor", f.value.0, Some(here));
        b.origins
            .push(src.origin(here, format!("hash_balance_factor: {}", f.value.0)));
    }
}

fn common_notes(src: &mut Source, common: &CommonLb) {
    if let Some(p) = &common.healthy_panic_threshold {
        let line = src.place(at(src.text, p)).line;
        src.note(format!(
            "healthy_panic_threshold (line {line}): in panic mode Envoy also sends to unhealthy hosts; lbsim \
             never routes to a server that is down, so panic mode is not modelled."
        ));
    }
    if common.zone_aware_lb_config.is_some() {
        zone_aware(src);
    }
}

fn zone_aware(src: &mut Source) {
    src.note(
        "zone_aware_lb_config: zone-aware routing depends on the local Envoy's zone and the \
         local cluster, which the file does not give; lbsim spreads over every locality.",
    );
}

/// `slow_start_config` (Cluster.SlowStartConfig): the window, Envoy's aggression
/// (default 1.0) and min_weight_percent (default 10).
fn slow_start(src: &mut Source, ss: &Spanned<SlowStartConfig>) -> Result<Option<ImportedSlowStart>, ImportError> {
    let c = &ss.value;
    let Some(w) = &c.slow_start_window else {
        src.note("slow_start_config without a slow_start_window: Envoy does no slow start.");
        return Ok(None);
    };
    let window = w
        .value
        .strip_suffix('s')
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map(crate::engine::time::from_secs)
        .ok_or_else(|| {
            src.error(
                at(src.text, w),
                format!("slow_start_window {:?}: expected a duration such as \"30s\"", w.value),
            )
        })?;
    if window == 0 {
        return Ok(None);
    }
    Ok(Some(ImportedSlowStart {
        product: crate::pool::slow_start::Product::Envoy,
        window,
        aggression: c
            .aggression
            .as_ref()
            .and_then(|a| a.default_value.as_ref())
            .map(|v| v.value),
        min_weight_percent: c
            .min_weight_percent
            .as_ref()
            .and_then(|p| p.value.as_ref())
            .map(|v| v.value),
        origin: src.origin(
            at(src.text, ss),
            format!("slow_start_config: slow_start_window {}", w.value),
        ),
    }))
}
