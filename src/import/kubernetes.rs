//! Kubernetes: a Service (from a file of one or more documents, or a `List`), its
//! endpoints (from `--endpoints N`, an EndpointSlice file, or EndpointSlices in
//! the same file), and kube-proxy's mode, as the pool and policy kube-proxy
//! programs for the Service's ClusterIP.
//!
//! Endpoints are named `IP:port` with the Service's target port, and listed in
//! kube-proxy's order, sorted by that text. With `--endpoints N` they are pod
//! addresses 10.244.0.1, 10.244.0.2, ... (the first node's pod range of a
//! kubeadm cluster with flannel's 10.244.0.0/16). Which endpoint a client gets
//! does not depend on the names in iptables and nftables mode (a random split,
//! then the client's affinity record); in IPVS mode round robin follows the
//! sorted order, so only the order matters.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use super::reading::Source;
use super::spec::PolicyText;
use super::yaml::{self, PortRef, Spanned, at};
use super::{ImportError, Imported, ImportedServer, Options, Product};

/// Any Kubernetes object; the fields of a Service and of an EndpointSlice.
#[derive(Deserialize)]
struct Object {
    kind: Option<Spanned<String>>,
    #[serde(default)]
    metadata: Metadata,
    spec: Option<ServiceSpec>,
    items: Option<Vec<Spanned<Object>>>,
    #[serde(rename = "addressType")]
    address_type: Option<Spanned<String>>,
    endpoints: Option<Vec<Spanned<SliceEndpoint>>>,
    ports: Option<Vec<SlicePort>>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    name: Option<Spanned<String>>,
    namespace: Option<Spanned<String>>,
    #[serde(default)]
    labels: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    annotations: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceSpec {
    #[serde(rename = "type")]
    kind: Option<Spanned<String>>,
    #[serde(rename = "clusterIP")]
    cluster_ip: Option<Spanned<String>>,
    ports: Option<Vec<Spanned<ServicePort>>>,
    session_affinity: Option<Spanned<String>>,
    session_affinity_config: Option<AffinityConfig>,
    external_traffic_policy: Option<Spanned<String>>,
    internal_traffic_policy: Option<Spanned<String>>,
    traffic_distribution: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AffinityConfig {
    #[serde(rename = "clientIP")]
    client_ip: Option<ClientIpConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientIpConfig {
    timeout_seconds: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicePort {
    name: Option<String>,
    port: Spanned<PortRef>,
    target_port: Option<Spanned<PortRef>>,
}

#[derive(Deserialize)]
struct SliceEndpoint {
    addresses: Vec<Spanned<String>>,
    conditions: Option<Conditions>,
}

#[derive(Deserialize)]
struct Conditions {
    ready: Option<bool>,
    serving: Option<bool>,
    terminating: Option<bool>,
}

#[derive(Deserialize)]
struct SlicePort {
    name: Option<String>,
    port: Option<Spanned<PortRef>>,
}

const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

pub fn parse(text: &str, path: &Path, options: &Options) -> Result<Imported, ImportError> {
    let mut src = Source::new(path, text, options.lenient);
    let objects = flatten(yaml::parse_all::<Spanned<Object>>(&src)?);
    let services: Vec<&Spanned<Object>> = objects.iter().filter(|o| kind_is(o, "Service")).collect();
    let service = choose(&src, &services, options.section.as_deref())?;
    let name = service.value.metadata.name.as_ref().expect("chosen by name");
    let spec = service
        .value
        .spec
        .as_ref()
        .ok_or_else(|| src.error(at(text, name), "the Service has no spec"))?;
    check_kind(&src, spec)?;
    let port = first_port(&mut src, service, spec)?;
    let mode = options.kube_proxy.as_deref().unwrap_or("iptables");

    let mut servers = match (&options.endpoint_slice, options.endpoints) {
        (Some(file), _) => {
            let slice_text = std::fs::read_to_string(file)
                .map_err(|e| ImportError::whole(file, format!("cannot read the EndpointSlice: {e}")))?;
            let mut slice_src = Source::new(file, &slice_text, options.lenient);
            let slices = flatten(yaml::parse_all::<Spanned<Object>>(&slice_src)?);
            let mut servers = from_slices(&mut slice_src, &slices, service, port.name.as_deref())?;
            src.notes.append(&mut slice_src.notes);
            // Cited with their own file, which the writer prints as said.
            for s in &mut servers {
                let at = s.origin.at;
                s.origin.said = format!("{}:{}: {}", file.display(), at.line, s.origin.said);
                s.origin.at = super::Place { line: 0, column: 0 };
            }
            servers
        }
        (None, Some(n)) => numbered(&mut src, n, &port)?,
        (None, None) => {
            let here: Vec<&Spanned<Object>> = objects.iter().filter(|o| kind_is(o, "EndpointSlice")).collect();
            if here.is_empty() {
                return Err(src.error(
                    at(text, name),
                    format!(
                        "Service {:?} lists no endpoints: give --endpoints N (N ready pods) or --endpoint-slice FILE",
                        name.value
                    ),
                ));
            }
            from_slice_refs(&mut src, &here, service, port.name.as_deref())?
        }
    };
    // kube-proxy's order: by "IP:port" text.
    servers.sort_by(|a, b| a.name.cmp(&b.name));

    let (policy, origins) = affinity(&mut src, spec, mode)?;
    traffic_policies(&mut src, service, spec)?;
    src.note(format!(
        "kube-proxy mode {mode} (from --kube-proxy; iptables unless given). Endpoints in kube-proxy's order, sorted \
         by IP:port."
    ));
    let policy = policy.check(&src, &servers, at(text, name))?;
    Ok(Imported {
        product: Product::Kubernetes,
        file: path.to_path_buf(),
        section: name.value.clone(),
        servers,
        policy,
        policy_origin: origins,
        notes: src.notes,
        warnings: src.warnings,
        slow_start: None,
    })
}

/// The documents with `List` items spliced in.
fn flatten(objects: Vec<Spanned<Object>>) -> Vec<Spanned<Object>> {
    let mut out = Vec::new();
    for mut o in objects {
        match o.value.items.take() {
            Some(items) => out.extend(flatten(items)),
            None => out.push(o),
        }
    }
    out
}

fn kind_is(o: &Spanned<Object>, kind: &str) -> bool {
    o.value.kind.as_ref().is_some_and(|k| k.value == kind)
}

fn choose<'a>(
    src: &Source,
    services: &[&'a Spanned<Object>],
    wanted: Option<&str>,
) -> Result<&'a Spanned<Object>, ImportError> {
    for s in services {
        if s.value.metadata.name.is_none() {
            return Err(src.error(at(src.text, s), "a Service without metadata.name"));
        }
    }
    let name = |s: &Spanned<Object>| s.value.metadata.name.as_ref().expect("checked").value.clone();
    let names: Vec<String> = services.iter().map(|s| name(s)).collect();
    match (wanted, services) {
        (_, []) => Err(ImportError::whole(src.path, "no document of kind Service in the file")),
        (Some(w), _) => services.iter().find(|s| name(s) == w).copied().ok_or_else(|| {
            src.error(
                at(src.text, services[0].value.metadata.name.as_ref().expect("checked")),
                format!("no Service named {w:?}; the file has {}", names.join(", ")),
            )
        }),
        (None, [one]) => Ok(one),
        (None, [_, second, ..]) => Err(src.error(
            at(src.text, second.value.metadata.name.as_ref().expect("checked")),
            format!(
                "the file has {} Services ({}); choose one with --service NAME",
                names.len(),
                names.join(", ")
            ),
        )),
    }
}

fn check_kind(src: &Source, spec: &ServiceSpec) -> Result<(), ImportError> {
    if let Some(t) = spec.kind.as_ref().filter(|t| t.value == "ExternalName") {
        return Err(src.error(
            at(src.text, t),
            "type ExternalName: a DNS alias, with no endpoints for kube-proxy to balance",
        ));
    }
    if let Some(ip) = spec.cluster_ip.as_ref().filter(|ip| ip.value == "None") {
        return Err(src.error(
            at(src.text, ip),
            "clusterIP: None (a headless Service): clients pick pods from DNS, kube-proxy balances nothing",
        ));
    }
    Ok(())
}

/// The Service port lbsim models: its name, number and target port.
struct Port {
    name: Option<String>,
    number: u64,
    target: PortRef,
}

fn first_port(src: &mut Source, service: &Spanned<Object>, spec: &ServiceSpec) -> Result<Port, ImportError> {
    let Some(p) = spec.ports.as_ref().and_then(|p| p.first()) else {
        return Err(src.error(at(src.text, service), "the Service has no ports"));
    };
    let number = match &p.value.port.value {
        PortRef::Number(n) if (1..=65_535).contains(n) => *n,
        _ => return Err(src.error(at(src.text, &p.value.port), "port: expected a number from 1 to 65535")),
    };
    let count = spec.ports.as_ref().map_or(0, Vec::len);
    if count > 1 {
        src.note(format!(
            "The Service has {count} ports; kube-proxy balances each on its own, with the same endpoints and \
             affinity settings. lbsim models the first ({number})."
        ));
    }
    let target = p
        .value
        .target_port
        .as_ref()
        .map_or(PortRef::Number(number), |t| t.value.clone());
    Ok(Port {
        name: p.value.name.clone(),
        number,
        target,
    })
}

/// `--endpoints N`: N ready pods at 10.244.0.1, 10.244.0.2, ...
fn numbered(src: &mut Source, n: u32, port: &Port) -> Result<Vec<ImportedServer>, ImportError> {
    if n == 0 {
        return Err(ImportError::whole(
            src.path,
            "--endpoints 0: a Service needs at least one ready endpoint",
        ));
    }
    if n > 65_000 {
        return Err(ImportError::whole(src.path, format!("--endpoints {n}: at most 65000")));
    }
    let target = match &port.target {
        PortRef::Number(t) => *t,
        PortRef::Name(name) => {
            src.note(format!(
                "targetPort {name:?} is a container port's name; the endpoints are written with the Service \
                 port {} (names only order them).",
                port.number
            ));
            port.number
        }
    };
    Ok((0..n)
        .map(|i| ImportedServer {
            name: format!("10.244.{}.{}:{target}", i / 254, i % 254 + 1),
            weight: 1,
            down: false,
            origin: super::Origin {
                at: super::Place { line: 0, column: 0 },
                said: format!("--endpoints {n}"),
            },
        })
        .collect())
}

fn from_slices(
    src: &mut Source,
    objects: &[Spanned<Object>],
    service: &Spanned<Object>,
    port_name: Option<&str>,
) -> Result<Vec<ImportedServer>, ImportError> {
    let slices: Vec<&Spanned<Object>> = objects.iter().filter(|o| kind_is(o, "EndpointSlice")).collect();
    if slices.is_empty() {
        return Err(ImportError::whole(
            src.path,
            "no document of kind EndpointSlice in the file",
        ));
    }
    from_slice_refs(src, &slices, service, port_name)
}

/// The endpoints of the slices labelled with the Service's name.
fn from_slice_refs(
    src: &mut Source,
    slices: &[&Spanned<Object>],
    service: &Spanned<Object>,
    port_name: Option<&str>,
) -> Result<Vec<ImportedServer>, ImportError> {
    let name = &service.value.metadata.name.as_ref().expect("chosen by name").value;
    let namespace = service.value.metadata.namespace.as_ref().map(|n| n.value.as_str());
    let mine: Vec<&&Spanned<Object>> = slices
        .iter()
        .filter(|s| {
            s.value
                .metadata
                .labels
                .get(SERVICE_NAME_LABEL)
                .is_some_and(|l| &l.value == name)
        })
        .collect();
    if mine.is_empty() {
        let s = slices[0];
        return Err(match s.value.metadata.labels.get(SERVICE_NAME_LABEL) {
            Some(l) => src.error(
                at(src.text, l),
                format!("this EndpointSlice belongs to Service {:?}, not {name:?}", l.value),
            ),
            None => src.error(
                at(src.text, s),
                format!("the EndpointSlice has no {SERVICE_NAME_LABEL} label naming Service {name:?}"),
            ),
        });
    }
    let mut ready = Vec::new();
    let mut fallback = Vec::new();
    for s in mine {
        if let (Some(theirs), Some(ours)) = (&s.value.metadata.namespace, namespace)
            && theirs.value != ours
        {
            return Err(src.error(
                at(src.text, theirs),
                format!(
                    "this EndpointSlice is in namespace {:?}, the Service in {ours:?}",
                    theirs.value
                ),
            ));
        }
        slice_endpoints(src, s, port_name, &mut ready, &mut fallback)?;
    }
    if !ready.iter().any(|s: &ImportedServer| !s.down) {
        if fallback.is_empty() {
            return Err(src.error(
                at(src.text, slices[0]),
                format!("Service {name:?} has no ready endpoints: kube-proxy rejects its connections"),
            ));
        }
        src.note(
            "No endpoint is ready: kube-proxy sends to the serving, terminating ones, as it does when nothing \
             else is left (Kubernetes 1.28 and later).",
        );
        ready.retain(|s| !fallback.iter().any(|f: &ImportedServer| f.name == s.name));
        for f in &mut fallback {
            f.down = false;
        }
        ready.append(&mut fallback);
    }
    if ready.iter().any(|s| s.down) {
        src.note(
            "Endpoints that are not ready are left out by kube-proxy; they are listed as down, so [[events]] can \
             bring them in (action = \"recover\").",
        );
    }
    Ok(ready)
}

fn slice_endpoints(
    src: &mut Source,
    slice: &Spanned<Object>,
    port_name: Option<&str>,
    out: &mut Vec<ImportedServer>,
    fallback: &mut Vec<ImportedServer>,
) -> Result<(), ImportError> {
    let family = slice.value.address_type.as_ref();
    if let Some(f) = family.filter(|f| f.value == "FQDN") {
        return Err(src.error(
            at(src.text, f),
            "addressType FQDN: kube-proxy balances IPv4 and IPv6 slices only",
        ));
    }
    let wanted = port_name.unwrap_or("");
    let port = slice
        .value
        .ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref().unwrap_or("") == wanted)
        .and_then(|p| p.port.as_ref());
    let port = match port.map(|p| (&p.value, p)) {
        Some((PortRef::Number(n), _)) if (1..=65_535).contains(n) => *n,
        Some((_, p)) => return Err(src.error(at(src.text, p), "port: expected a number from 1 to 65535")),
        None => {
            return Err(src.error(
                at(src.text, slice),
                format!("the EndpointSlice has no port named {wanted:?}, the Service port's name"),
            ));
        }
    };
    for e in slice.value.endpoints.iter().flatten() {
        let Some(address) = e.value.addresses.first() else {
            return Err(src.error(at(src.text, e), "an endpoint without addresses"));
        };
        let name = match address.value.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => format!("{a}:{port}"),
            Ok(IpAddr::V6(a)) => format!("[{a}]:{port}"),
            Err(_) => {
                return Err(src.error(
                    at(src.text, address),
                    format!("{:?}: expected an IP address", address.value),
                ));
            }
        };
        if out.iter().chain(fallback.iter()).any(|s| s.name == name) {
            src.note(format!("{name} is in more than one slice; kube-proxy uses it once."));
            continue;
        }
        let c = e.value.conditions.as_ref();
        let ready = c.and_then(|c| c.ready).unwrap_or(true);
        let serving = c.and_then(|c| c.serving).unwrap_or(ready);
        let terminating = c.and_then(|c| c.terminating).unwrap_or(false);
        let state = match (ready, serving, terminating) {
            (true, _, _) => "ready",
            (false, true, true) => "serving, terminating",
            (false, _, true) => "terminating",
            (false, _, false) => "not ready",
        };
        let server = ImportedServer {
            name,
            weight: 1,
            down: !ready,
            origin: src.origin(at(src.text, address), format!("{} ({state})", address.value)),
        };
        if !ready && serving && terminating {
            fallback.push(server.clone());
        }
        out.push(server);
    }
    Ok(())
}

/// `sessionAffinity` as kube-proxy implements it in `mode`.
fn affinity(src: &mut Source, spec: &ServiceSpec, mode: &str) -> Result<(PolicyText, Vec<super::Origin>), ImportError> {
    let affinity = spec.session_affinity.as_ref();
    let value = affinity.map_or("None", |a| a.value.as_str());
    let mut origins: Vec<super::Origin> = affinity
        .map(|a| src.origin(at(src.text, a), format!("sessionAffinity: {}", a.value)))
        .into_iter()
        .collect();
    match value {
        "ClientIP" => {
            let mut p = PolicyText::new("k8s.client_ip");
            p.param("mode", mode, None);
            let timeout = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds.as_ref());
            match timeout {
                Some(t) => {
                    let here = at(src.text, t);
                    p.param("timeout", t.value, Some(here));
                    origins.push(src.origin(here, format!("timeoutSeconds: {}", t.value)));
                }
                None => src.note("timeoutSeconds not given: Kubernetes' default, 10800 (3 hours)."),
            }
            Ok((p, origins))
        }
        "None" => {
            let (name, how) = match mode {
                "ipvs" => ("ipvs.rr", "IPVS round robin (kube-proxy's default --ipvs-scheduler rr)"),
                "nftables" => ("random", "numgen random mod the endpoint count: a uniform random pick"),
                _ => (
                    "random",
                    "a chain of statistic rules with probabilities 1/n, 1/(n-1), ...: a uniform random pick",
                ),
            };
            src.note(format!(
                "Without affinity kube-proxy ({mode}) picks by {how}; lbsim's {name}."
            ));
            Ok((PolicyText::new(name), origins))
        }
        other => Err(src.error(
            at(src.text, affinity.expect("a value was read")),
            format!("unknown sessionAffinity {other:?}; expected None or ClientIP"),
        )),
    }
}

fn traffic_policies(src: &mut Source, service: &Spanned<Object>, spec: &ServiceSpec) -> Result<(), ImportError> {
    if let Some(e) = &spec.external_traffic_policy {
        let line = src.place(at(src.text, e)).line;
        src.note(format!(
            "externalTrafficPolicy {} (line {line}): applies to traffic arriving at a node port or load balancer; \
             lbsim models the ClusterIP path, over every endpoint.",
            e.value
        ));
    }
    if let Some(i) = spec.internal_traffic_policy.as_ref().filter(|i| i.value == "Local") {
        src.unsupported(
            at(src.text, i),
            "internalTrafficPolicy Local: each client reaches only the endpoints on its own node, which lbsim does \
             not place",
        )?;
    }
    if let Some(t) = &spec.traffic_distribution {
        src.unsupported(
            at(src.text, t),
            format!(
                "trafficDistribution {}: kube-proxy prefers endpoints in the client's zone, which lbsim does not \
                 place",
                t.value
            ),
        )?;
    }
    for key in [
        "service.kubernetes.io/topology-mode",
        "service.kubernetes.io/topology-aware-hints",
    ] {
        if let Some(a) = service.value.metadata.annotations.get(key)
            && !a.value.eq_ignore_ascii_case("disabled")
        {
            src.unsupported(
                at(src.text, a),
                format!("{key}: topology-aware routing keeps clients in their zone, which lbsim does not place"),
            )?;
        }
    }
    Ok(())
}
