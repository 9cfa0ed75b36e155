//! The parts of Envoy's configuration (v3 API, YAML) that decide where a request
//! goes. Every other field is passed over; fields that change routing and that
//! lbsim does not model are read only to be refused at their place.

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::import::yaml::{Count, Spanned};

/// Something present, whatever it holds.
pub type Present = Option<Spanned<IgnoredAny>>;

/// A file's top level: a bootstrap, a `clusters:` list, or one cluster.
#[derive(Deserialize)]
pub struct Top {
    pub static_resources: Option<StaticResources>,
    pub clusters: Option<Vec<Spanned<Cluster>>>,
    /// xDS-managed configuration has no endpoints in the file.
    pub dynamic_resources: Present,
}

#[derive(Deserialize)]
pub struct StaticResources {
    pub clusters: Option<Vec<Spanned<Cluster>>>,
    pub listeners: Option<Vec<Listener>>,
}

#[derive(Deserialize)]
pub struct Cluster {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub discovery: Option<Spanned<String>>,
    pub cluster_type: Present,
    pub lb_policy: Option<Spanned<String>>,
    pub load_balancing_policy: Option<Spanned<LoadBalancingPolicy>>,
    pub ring_hash_lb_config: Option<Spanned<RingHash>>,
    pub maglev_lb_config: Option<Spanned<Maglev>>,
    pub least_request_lb_config: Option<Spanned<LeastRequest>>,
    pub round_robin_lb_config: Option<Spanned<RoundRobin>>,
    pub common_lb_config: Option<CommonLb>,
    pub load_assignment: Option<Spanned<LoadAssignment>>,
    /// The v2 `hosts` list, gone from v3.
    pub hosts: Present,
    pub lb_subset_config: Present,
    pub outlier_detection: Present,
    pub health_checks: Option<Spanned<Vec<IgnoredAny>>>,
}

#[derive(Deserialize)]
pub struct LoadAssignment {
    pub endpoints: Option<Vec<Spanned<LocalityEndpoints>>>,
}

#[derive(Deserialize)]
pub struct LocalityEndpoints {
    pub lb_endpoints: Option<Vec<Spanned<LbEndpoint>>>,
    pub load_balancing_weight: Option<Spanned<Count>>,
    pub priority: Option<Spanned<Count>>,
    pub leds_cluster_locality_config: Present,
}

#[derive(Deserialize)]
pub struct LbEndpoint {
    pub endpoint: Option<Spanned<Endpoint>>,
    pub endpoint_name: Present,
    pub health_status: Option<Spanned<String>>,
    pub load_balancing_weight: Option<Spanned<Count>>,
}

#[derive(Deserialize)]
pub struct Endpoint {
    pub address: Option<Spanned<Address>>,
    pub hostname: Option<Spanned<String>>,
}

#[derive(Deserialize)]
pub struct Address {
    pub socket_address: Option<SocketAddress>,
}

#[derive(Deserialize)]
pub struct SocketAddress {
    pub address: Spanned<String>,
    pub port_value: Option<Spanned<Count>>,
    pub named_port: Present,
}

#[derive(Deserialize)]
pub struct CommonLb {
    pub healthy_panic_threshold: Present,
    pub zone_aware_lb_config: Present,
    pub locality_weighted_lb_config: Present,
    pub consistent_hashing_lb_config: Option<ConsistentHashing>,
}

#[derive(Deserialize)]
pub struct ConsistentHashing {
    pub use_hostname_for_hashing: Option<Spanned<bool>>,
    pub hash_balance_factor: Option<Spanned<Count>>,
}

#[derive(Deserialize)]
pub struct RingHash {
    pub minimum_ring_size: Option<Spanned<Count>>,
    pub maximum_ring_size: Option<Spanned<Count>>,
    pub hash_function: Option<Spanned<String>>,
}

#[derive(Deserialize)]
pub struct Maglev {
    pub table_size: Option<Spanned<Count>>,
}

#[derive(Deserialize)]
pub struct LeastRequest {
    pub choice_count: Option<Spanned<Count>>,
    pub slow_start_config: Option<Spanned<SlowStartConfig>>,
}

#[derive(Deserialize)]
pub struct RoundRobin {
    pub slow_start_config: Option<Spanned<SlowStartConfig>>,
}

/// `slow_start_config` (Cluster.SlowStartConfig).
#[derive(Deserialize)]
pub struct SlowStartConfig {
    /// A protobuf Duration as JSON writes it: `"30s"`.
    pub slow_start_window: Option<Spanned<String>>,
    pub aggression: Option<RuntimeDouble>,
    pub min_weight_percent: Option<PercentValue>,
}

/// A `RuntimeDouble`: the value, unless a runtime key overrides it.
#[derive(Deserialize)]
pub struct RuntimeDouble {
    pub default_value: Option<Spanned<f64>>,
}

/// A `type.v3.Percent`.
#[derive(Deserialize)]
pub struct PercentValue {
    pub value: Option<Spanned<f64>>,
}

/// `load_balancing_policy`: extensions in order of preference.
#[derive(Deserialize)]
pub struct LoadBalancingPolicy {
    pub policies: Vec<Spanned<PolicyEntry>>,
}

#[derive(Deserialize)]
pub struct PolicyEntry {
    pub typed_extension_config: Spanned<TypedExtension>,
}

#[derive(Deserialize)]
pub struct TypedExtension {
    pub typed_config: Spanned<TypedLb>,
}

/// The fields of the load-balancing extensions lbsim reads, all in one: each
/// `@type` has its own subset.
#[derive(Deserialize)]
pub struct TypedLb {
    #[serde(rename = "@type")]
    pub type_url: Spanned<String>,
    pub minimum_ring_size: Option<Spanned<Count>>,
    pub maximum_ring_size: Option<Spanned<Count>>,
    pub hash_function: Option<Spanned<String>>,
    pub use_hostname_for_hashing: Option<Spanned<bool>>,
    pub hash_balance_factor: Option<Spanned<Count>>,
    pub consistent_hashing_lb_config: Option<ConsistentHashing>,
    pub table_size: Option<Spanned<Count>>,
    pub choice_count: Option<Spanned<Count>>,
    pub slow_start_config: Option<Spanned<SlowStartConfig>>,
    pub locality_lb_config: Option<Spanned<LocalityLb>>,
    pub locality_weighted_lb_config: Present,
    /// `wrr_locality`: the policy it applies within each locality.
    pub endpoint_picking_policy: Option<Spanned<LoadBalancingPolicy>>,
}

#[derive(Deserialize)]
pub struct LocalityLb {
    pub zone_aware_lb_config: Present,
    pub locality_weighted_lb_config: Present,
}

#[derive(Deserialize)]
pub struct Listener {
    pub filter_chains: Option<Vec<FilterChain>>,
}

#[derive(Deserialize)]
pub struct FilterChain {
    pub filters: Option<Vec<Filter>>,
}

#[derive(Deserialize)]
pub struct Filter {
    pub typed_config: Option<FilterConfig>,
}

/// An HTTP connection manager's or a TCP proxy's configuration.
#[derive(Deserialize)]
pub struct FilterConfig {
    pub route_config: Option<RouteConfig>,
    pub rds: Option<Spanned<IgnoredAny>>,
    /// TCP proxy: its cluster, and the hash policy it gives that cluster.
    pub cluster: Option<Spanned<String>>,
    pub weighted_clusters: Option<WeightedClusters>,
    pub hash_policy: Option<Spanned<Vec<Spanned<HashPolicy>>>>,
}

#[derive(Deserialize)]
pub struct RouteConfig {
    pub virtual_hosts: Option<Vec<VirtualHost>>,
}

#[derive(Deserialize)]
pub struct VirtualHost {
    pub routes: Option<Vec<Route>>,
}

#[derive(Deserialize)]
pub struct Route {
    pub route: Option<Spanned<RouteAction>>,
}

#[derive(Deserialize)]
pub struct RouteAction {
    pub cluster: Option<Spanned<String>>,
    pub weighted_clusters: Option<WeightedClusters>,
    pub hash_policy: Option<Spanned<Vec<Spanned<HashPolicy>>>>,
}

#[derive(Deserialize)]
pub struct WeightedClusters {
    pub clusters: Vec<WeightedCluster>,
}

#[derive(Deserialize)]
pub struct WeightedCluster {
    pub name: Spanned<String>,
}

/// One hash policy, of a route (`header`, `cookie`, `connection_properties`,
/// `query_parameter`, `filter_state`) or of a TCP proxy (`source_ip`, `filter_state`).
#[derive(Deserialize)]
pub struct HashPolicy {
    pub header: Option<Spanned<Header>>,
    pub cookie: Option<Spanned<Cookie>>,
    pub connection_properties: Option<Spanned<ConnectionProperties>>,
    pub query_parameter: Present,
    pub filter_state: Present,
    pub source_ip: Present,
}

#[derive(Deserialize)]
pub struct Header {
    pub header_name: String,
}

#[derive(Deserialize)]
pub struct Cookie {
    pub name: String,
}

#[derive(Deserialize)]
pub struct ConnectionProperties {
    pub source_ip: Option<bool>,
}
