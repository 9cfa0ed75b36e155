//! What a ring hash or Maglev cluster hashes: the `hash_policy` of the routes (or
//! TCP proxies) that send to it, read from the listeners in the same file.
//!
//! A bare cluster, or a bootstrap whose routes come from RDS, gives no hash
//! policy: lbsim then assumes `connection_properties: {source_ip: true}` (the
//! client address, `key=source`) and says so. Routes that send to the cluster
//! without a hash policy leave Envoy with no hash, and it picks at random.

use super::config::{FilterConfig, HashPolicy, Listener, WeightedClusters};
use crate::import::reading::Source;
use crate::import::yaml::{Spanned, at};
use crate::import::{ImportError, Origin};

/// What requests to the cluster hash.
pub enum Hash {
    /// An lbsim key (`source`, `session`), from these lines.
    Key(&'static str, Origin),
    /// No hash policy: Envoy picks a random host.
    Nothing(Origin),
    /// Nothing in the file says; the client address is assumed.
    Assumed,
}

/// The hash of requests routed to `cluster`.
pub fn hash(src: &mut Source, listeners: Option<&[Listener]>, cluster: &str) -> Result<Hash, ImportError> {
    let mut routes = Vec::new();
    let mut rds = false;
    let configs = listeners
        .unwrap_or_default()
        .iter()
        .flat_map(|l| l.filter_chains.iter().flatten())
        .flat_map(|c| c.filters.iter().flatten())
        .filter_map(|f| f.typed_config.as_ref());
    let mut any_routes = false;
    for config in configs {
        rds |= config.rds.is_some();
        any_routes |= config.route_config.is_some() || config.cluster.is_some();
        collect(src.text, config, cluster, &mut routes);
    }
    let Some(first) = routes.first() else {
        let why = if rds {
            "its routes come from RDS"
        } else if any_routes {
            "no route in the file sends to it"
        } else {
            "the file has no route configuration"
        };
        src.note(format!(
            "hash_policy: {why}, so lbsim assumes the client address is hashed (connection_properties \
             source_ip, key=source). A header or cookie hash policy is key=session."
        ));
        return Ok(Hash::Assumed);
    };
    let chosen = one_route(src, first)?;
    for other in &routes[1..] {
        let theirs = one_route(src, other)?;
        if theirs.key() != chosen.key() {
            let line = |h: &Hash| h.origin().map_or(0, |o| o.at.line);
            src.unsupported(
                other.0,
                format!(
                    "routes to cluster {cluster:?} hash differently (line {} and line {}); lbsim models one hash per \
                     cluster",
                    line(&chosen),
                    line(&theirs)
                ),
            )?;
        }
    }
    Ok(chosen)
}

impl Hash {
    fn key(&self) -> Option<&'static str> {
        match self {
            Hash::Key(k, _) => Some(k),
            _ => None,
        }
    }

    fn origin(&self) -> Option<&Origin> {
        match self {
            Hash::Key(_, o) | Hash::Nothing(o) => Some(o),
            Hash::Assumed => None,
        }
    }
}

/// A route to the cluster: where it is, and its hash policies.
type RouteTo<'a> = (usize, Option<&'a Spanned<Vec<Spanned<HashPolicy>>>>);

fn sends_to(cluster: &str, direct: Option<&Spanned<String>>, weighted: Option<&WeightedClusters>) -> bool {
    direct.is_some_and(|c| c.value == cluster)
        || weighted.is_some_and(|w| w.clusters.iter().any(|c| c.name.value == cluster))
}

fn collect<'a>(text: &str, config: &'a FilterConfig, cluster: &str, out: &mut Vec<RouteTo<'a>>) {
    // A TCP proxy routes every connection to its cluster.
    if sends_to(cluster, config.cluster.as_ref(), config.weighted_clusters.as_ref()) {
        let place = config.cluster.as_ref().map_or(0, |c| at(text, c));
        out.push((place, config.hash_policy.as_ref()));
    }
    let routes = config
        .route_config
        .iter()
        .flat_map(|r| r.virtual_hosts.iter().flatten())
        .flat_map(|v| v.routes.iter().flatten())
        .filter_map(|r| r.route.as_ref());
    for r in routes {
        if sends_to(cluster, r.value.cluster.as_ref(), r.value.weighted_clusters.as_ref()) {
            out.push((at(text, r), r.value.hash_policy.as_ref()));
        }
    }
}

fn one_route(src: &mut Source, route: &RouteTo) -> Result<Hash, ImportError> {
    let (place, policies) = route;
    let policies = match policies {
        Some(p) if !p.value.is_empty() => p,
        _ => {
            return Ok(Hash::Nothing(
                src.origin(*place, "a route without hash_policy: Envoy picks a random host"),
            ));
        }
    };
    if policies.value.len() > 1 {
        src.unsupported(
            at(src.text, &policies.value[1]),
            "several hash policies: Envoy combines their hashes, lbsim hashes one key; the first is used",
        )?;
    }
    one_policy(src, &policies.value[0])
}

fn one_policy(src: &mut Source, p: &Spanned<HashPolicy>) -> Result<Hash, ImportError> {
    let v = &p.value;
    if let Some(h) = &v.header {
        let here = at(src.text, h);
        return Ok(Hash::Key(
            "session",
            src.origin(here, format!("hash_policy header {}", h.value.header_name)),
        ));
    }
    if let Some(c) = &v.cookie {
        let here = at(src.text, c);
        return Ok(Hash::Key(
            "session",
            src.origin(here, format!("hash_policy cookie {}", c.value.name)),
        ));
    }
    if let Some(c) = v
        .connection_properties
        .as_ref()
        .filter(|c| c.value.source_ip == Some(true))
    {
        let here = at(src.text, c);
        return Ok(Hash::Key(
            "source",
            src.origin(here, "hash_policy connection_properties source_ip"),
        ));
    }
    if let Some(s) = &v.source_ip {
        let here = at(src.text, s);
        return Ok(Hash::Key("source", src.origin(here, "hash_policy source_ip")));
    }
    let here = at(src.text, p);
    if v.query_parameter.is_some() {
        src.unsupported(
            here,
            "hash_policy query_parameter: lbsim's clients carry no query string; modelled as a session id (key=session)",
        )?;
        return Ok(Hash::Key("session", src.origin(here, "hash_policy query_parameter")));
    }
    if v.filter_state.is_some() {
        src.unsupported(
            here,
            "hash_policy filter_state: lbsim has no filter state to hash; modelled as the client address (key=source)",
        )?;
        return Ok(Hash::Key("source", src.origin(here, "hash_policy filter_state")));
    }
    Err(src.error(
        here,
        "hash_policy: expected header, cookie, connection_properties (source_ip: true), source_ip, query_parameter \
         or filter_state",
    ))
}
