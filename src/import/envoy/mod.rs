//! Envoy: one cluster of a YAML file — a bootstrap (`static_resources.clusters`),
//! a `clusters:` list, or a single cluster — with its static `load_assignment`
//! endpoints and its load balancer; for ring hash and Maglev, the hash policy of
//! the routes in the same file that send to it.
//!
//! Server names are what Envoy hashes for a host: its address as Envoy prints it
//! (`10.0.0.1:80`, `[2001:db8::1]:80`), or its `hostname` with
//! `use_hostname_for_hashing`. `envoy.ring_hash` and `envoy.maglev` hash the server
//! name, so the ring or table lbsim builds is the one Envoy builds.

mod config;
mod policy;
mod routes;

use std::net::IpAddr;
use std::path::Path;

use config::{Cluster, LbEndpoint, Top};
use policy::Kind;
use routes::Hash;

use super::reading::Source;
use super::yaml::{self, Spanned, at};
use super::{ImportError, Imported, ImportedServer, Options, Product};

pub fn parse(text: &str, path: &Path, options: &Options) -> Result<Imported, ImportError> {
    let mut src = Source::new(path, text, options.lenient);
    let top: Top = yaml::parse(&src)?;
    let (clusters, listeners) = match (top.static_resources, top.clusters) {
        (Some(s), _) => (s.clusters.unwrap_or_default(), s.listeners),
        (None, Some(c)) => (c, None),
        (None, None) if top.dynamic_resources.is_some() => {
            return Err(src.error(
                at(text, top.dynamic_resources.as_ref().expect("checked")),
                "the clusters come from the control plane (dynamic_resources); give a file with the cluster and its \
                 load_assignment, as `curl localhost:9901/config_dump?include_eds` shows it",
            ));
        }
        (None, None) => {
            let one: Spanned<Cluster> = yaml::parse(&src)?;
            (vec![one], None)
        }
    };
    let cluster = choose(&src, &clusters, options.section.as_deref())?;
    let name = cluster.name.value.clone();
    let b = policy::balancer(&mut src, cluster)?;
    let mut servers = endpoints(&mut src, cluster, b.use_hostname)?;
    locality_weights(&mut src, cluster, b.locality_weighted)?;
    cluster_notes(&mut src, cluster)?;

    let mut policy = b.policy;
    let mut origins = b.origins;
    let mut kind = b.kind;
    if kind.hashes() {
        match routes::hash(&mut src, listeners.as_deref(), &name)? {
            Hash::Key(key, origin) => {
                if key != "source" {
                    policy.param("key", key, None);
                }
                origins.push(origin);
            }
            Hash::Nothing(origin) => {
                src.note(
                    "No hash policy on the routes to this cluster: Envoy hashes a random number into the ring or \
                     table, so requests spread by weight with no affinity (lbsim's `random`).",
                );
                origins.push(origin);
                policy = super::spec::PolicyText::new("random");
                kind = Kind::Random;
            }
            Hash::Assumed => {}
        }
    }
    let unequal = servers.iter().any(|s| s.weight != servers[0].weight);
    match kind {
        Kind::Random if unequal => {
            src.note(
                "RANDOM picks among the healthy hosts without regard to load_balancing_weight: weights written as 1.",
            );
            for s in &mut servers {
                s.weight = 1;
            }
        }
        Kind::LeastRequest if unequal => {
            let here = at(text, &cluster.name);
            src.unsupported(
                here,
                "LEAST_REQUEST with unequal weights: Envoy's weighted least request (EDF over weight / active \
                 requests) is not modelled; lbsim's least_conn (fewest in flight per unit of weight) is used",
            )?;
            policy = super::spec::PolicyText::new("least_conn");
        }
        Kind::RoundRobin if unequal => src.note(
            "ROUND_ROBIN with weights: Envoy orders picks by earliest deadline first, lbsim by smooth weighted round \
             robin; the shares are the same and neither has affinity.",
        ),
        _ => {}
    }
    let policy = policy.check(&src, &servers, at(text, &cluster.name))?;
    Ok(Imported {
        product: Product::Envoy,
        file: path.to_path_buf(),
        section: name,
        servers,
        policy,
        policy_origin: origins,
        notes: src.notes,
        warnings: src.warnings,
        slow_start: b
            .slow_start
            .filter(|_| matches!(kind, Kind::RoundRobin | Kind::LeastRequest)),
    })
}

/// The cluster to import: the one named, or the only one.
fn choose<'a>(
    src: &Source,
    clusters: &'a [Spanned<Cluster>],
    wanted: Option<&str>,
) -> Result<&'a Cluster, ImportError> {
    let names: Vec<&str> = clusters.iter().map(|c| c.value.name.value.as_str()).collect();
    let Some(first) = clusters.first() else {
        return Err(ImportError::whole(src.path, "the file has no clusters"));
    };
    match wanted {
        Some(w) => clusters
            .iter()
            .find(|c| c.value.name.value == w)
            .map(|c| &c.value)
            .ok_or_else(|| {
                src.error(
                    at(src.text, &first.value.name),
                    format!("no cluster named {w:?}; the file has {}", names.join(", ")),
                )
            }),
        None if clusters.len() == 1 => Ok(&first.value),
        None => Err(src.error(
            at(src.text, &clusters[1].value.name),
            format!(
                "the file has {} clusters ({}); choose one with --cluster NAME",
                clusters.len(),
                names.join(", ")
            ),
        )),
    }
}

/// The hosts of the cluster's static load assignment, priority 0.
fn endpoints(src: &mut Source, c: &Cluster, use_hostname: Option<usize>) -> Result<Vec<ImportedServer>, ImportError> {
    let kind = c.discovery.as_ref().map_or("STATIC", |d| d.value.as_str());
    let here = c.discovery.as_ref().map_or(at(src.text, &c.name), |d| at(src.text, d));
    match kind {
        "STATIC" | "STRICT_DNS" | "LOGICAL_DNS" | "EDS" => {}
        "ORIGINAL_DST" => {
            return Err(src.error(
                here,
                "type ORIGINAL_DST: requests go to the address they were sent to, not to a pool lbsim can balance",
            ));
        }
        other => {
            return Err(src.error(
                here,
                format!("unknown cluster type {other:?}; expected STATIC, STRICT_DNS, LOGICAL_DNS or EDS"),
            ));
        }
    }
    if let Some(t) = &c.cluster_type {
        return Err(src.error(
            at(src.text, t),
            "cluster_type: a custom cluster (aggregate, dynamic forward proxy, ...) is not a static pool",
        ));
    }
    if let Some(h) = &c.hosts {
        return Err(src.error(
            at(src.text, h),
            "hosts: the v2 field; write the endpoints as load_assignment",
        ));
    }
    let Some(la) = &c.load_assignment else {
        let why = if kind == "EDS" {
            "an EDS cluster gets its endpoints from the control plane; give its load_assignment \
             (`config_dump?include_eds` shows it)"
        } else {
            "the cluster has no load_assignment"
        };
        return Err(src.error(at(src.text, &c.name), why));
    };
    let mut servers: Vec<ImportedServer> = Vec::new();
    for group in la.value.endpoints.iter().flatten() {
        if let Some(l) = &group.value.leds_cluster_locality_config {
            return Err(src.error(
                at(src.text, l),
                "leds_cluster_locality_config: endpoints from LEDS are not in the file",
            ));
        }
        if let Some(p) = group.value.priority.as_ref().filter(|p| p.value.0 > 0) {
            src.unsupported(
                at(src.text, p),
                format!(
                    "priority {}: failover hosts take traffic only when priority 0 is degraded, which lbsim does not \
                     model; they are left out",
                    p.value.0
                ),
            )?;
            continue;
        }
        for e in group.value.lb_endpoints.iter().flatten() {
            let s = server(src, e, kind != "STATIC", use_hostname)?;
            if let Some(dup) = servers.iter().find(|d| d.name == s.name) {
                return Err(src.error(
                    at(src.text, e),
                    format!("{} is listed twice (first on line {})", s.name, dup.origin.at.line),
                ));
            }
            servers.push(s);
        }
    }
    if kind == "LOGICAL_DNS" && servers.len() > 1 {
        return Err(src.error(here, "a LOGICAL_DNS cluster has exactly one endpoint"));
    }
    if servers.is_empty() {
        return Err(src.error(at(src.text, la), format!("cluster {:?} has no endpoints", c.name.value)));
    }
    Ok(servers)
}

/// One `lb_endpoints` entry as a server.
fn server(
    src: &mut Source,
    e: &Spanned<LbEndpoint>,
    dns: bool,
    use_hostname: Option<usize>,
) -> Result<ImportedServer, ImportError> {
    let here = at(src.text, e);
    if e.value.endpoint_name.is_some() {
        return Err(src.error(
            here,
            "endpoint_name: named endpoints are not in the file; write the endpoint",
        ));
    }
    let Some(endpoint) = &e.value.endpoint else {
        return Err(src.error(here, "an lb_endpoints entry without endpoint"));
    };
    let Some(sa) = endpoint
        .value
        .address
        .as_ref()
        .and_then(|a| a.value.socket_address.as_ref())
    else {
        return Err(src.error(
            at(src.text, endpoint),
            "expected endpoint.address.socket_address (a pipe or internal address is not balanced by address)",
        ));
    };
    let addr_at = at(src.text, &sa.address);
    let Some(port) = &sa.port_value else {
        let at = sa.named_port.as_ref().map_or(addr_at, |n| at(src.text, n));
        return Err(src.error(
            at,
            "expected port_value (named_port is resolved by the cluster's discovery)",
        ));
    };
    if port.value.0 > 65_535 {
        return Err(src.error(
            at(src.text, port),
            format!("port_value {}: expected 0 to 65535", port.value.0),
        ));
    }
    let address = match sa.address.value.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => format!("{a}:{}", port.value.0),
        Ok(IpAddr::V6(a)) => format!("[{a}]:{}", port.value.0),
        Err(_) if dns => {
            src.unsupported(
                addr_at,
                format!(
                    "{}: Envoy hashes the address DNS resolves this name to, which lbsim cannot know; the name is used",
                    sa.address.value
                ),
            )?;
            format!("{}:{}", sa.address.value, port.value.0)
        }
        Err(_) => {
            return Err(src.error(
                addr_at,
                format!("{:?}: a STATIC cluster needs an IP address", sa.address.value),
            ));
        }
    };
    let name = match use_hostname {
        None => address.clone(),
        Some(_) => match &endpoint.value.hostname {
            Some(h) if !h.value.is_empty() => h.value.clone(),
            _ => {
                return Err(src.error(
                    at(src.text, endpoint),
                    format!("use_hostname_for_hashing is on but {address} has no hostname: Envoy would hash \"\""),
                ));
            }
        },
    };
    let weight = match &e.value.load_balancing_weight {
        None => 1,
        Some(w) if (1..=1000).contains(&w.value.0) => w.value.0 as u32,
        Some(w) => {
            return Err(src.error(
                at(src.text, w),
                format!(
                    "load_balancing_weight {}: expected 1 to 128 (lbsim takes up to 1000)",
                    w.value.0
                ),
            ));
        }
    };
    let down = match e.value.health_status.as_ref().map(|h| (h.value.as_str(), h)) {
        None | Some(("UNKNOWN" | "HEALTHY", _)) => false,
        Some(("UNHEALTHY" | "DRAINING" | "TIMEOUT", _)) => true,
        Some(("DEGRADED", h)) => {
            let line = src.place(at(src.text, h)).line;
            src.note(format!(
                "health_status DEGRADED (line {line}): Envoy uses degraded hosts only when too few are healthy; \
                 lbsim marks them down."
            ));
            true
        }
        Some((other, h)) => {
            return Err(src.error(
                at(src.text, h),
                format!("unknown health_status {other:?}; expected UNKNOWN, HEALTHY, UNHEALTHY, DRAINING, TIMEOUT or DEGRADED"),
            ));
        }
    };
    let mut said = address;
    if name != said {
        said = format!("{said} hostname {name}");
    }
    if weight != 1 {
        said.push_str(&format!(" weight {weight}"));
    }
    if let Some(h) = &e.value.health_status {
        said.push_str(&format!(" {}", h.value));
    }
    Ok(ImportedServer {
        name,
        weight,
        down,
        origin: src.origin(addr_at, said),
    })
}

/// Locality weights change routing only with locality-weighted balancing and
/// localities whose weights are not in proportion to their hosts' weights.
fn locality_weights(src: &mut Source, c: &Cluster, weighted: Option<usize>) -> Result<(), ImportError> {
    let groups: Vec<_> = c
        .load_assignment
        .iter()
        .flat_map(|la| la.value.endpoints.iter().flatten())
        .filter(|g| g.value.priority.as_ref().is_none_or(|p| p.value.0 == 0))
        .collect();
    let Some(on) = weighted else {
        if groups.iter().any(|g| g.value.load_balancing_weight.is_some()) {
            src.note("Locality load_balancing_weight is ignored: locality-weighted balancing is not on.");
        }
        return Ok(());
    };
    // Each locality's share of the traffic over its hosts' share of the weight.
    let hosts_weight = |g: &config::LocalityEndpoints| -> u64 {
        g.lb_endpoints
            .iter()
            .flatten()
            .map(|e| e.value.load_balancing_weight.as_ref().map_or(1, |w| w.value.0))
            .sum()
    };
    let ratios: Vec<(u64, u64)> = groups
        .iter()
        .filter(|g| hosts_weight(&g.value) > 0)
        .map(|g| {
            let lw = g.value.load_balancing_weight.as_ref().map_or(0, |w| w.value.0);
            (lw, hosts_weight(&g.value))
        })
        .collect();
    let proportional = ratios.windows(2).all(|w| w[0].0 * w[1].1 == w[1].0 * w[0].1);
    if ratios.len() > 1 && !proportional {
        src.unsupported(
            on,
            "locality-weighted balancing with locality weights out of proportion to their hosts' weights: lbsim \
             weighs hosts alone; the host weights are used",
        )?;
    }
    Ok(())
}

fn cluster_notes(src: &mut Source, c: &Cluster) -> Result<(), ImportError> {
    if let Some(s) = &c.lb_subset_config {
        src.unsupported(
            at(src.text, s),
            "lb_subset_config: subsets route by request metadata, which lbsim's clients do not carry",
        )?;
    }
    if let Some(h) = c.health_checks.as_ref().filter(|h| !h.value.is_empty()) {
        let line = src.place(at(src.text, h)).line;
        src.note(format!(
            "health_checks (line {line}): hosts that fail their checks leave the ring or table; write those \
             failures as [[events]] (action = \"fail\")."
        ));
    }
    if let Some(o) = &c.outlier_detection {
        let line = src.place(at(src.text, o)).line;
        src.note(format!(
            "outlier_detection (line {line}): ejected hosts leave the ring or table like failed ones; write \
             ejections as [[events]]."
        ));
    }
    Ok(())
}
