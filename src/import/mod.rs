//! Importing a real balancer's configuration as a scenario.
//!
//! Operators already have their pool and policy written down, in the syntax of
//! their balancer. Each product module reads one syntax and returns an
//! [`Imported`]: the servers in configuration order (names, weights, which are
//! marked down), the lbsim policy that picks as the product does, and where in
//! the file each came from. [`Imported::to_toml`] turns that into a scenario
//! `lbsim run` accepts as is, every value commented with its origin.
//!
//! What changes where a request goes must be understood or refused: a directive
//! that would change routing and that lbsim does not model is a located error,
//! or with `--lenient` a warning kept in the scenario's header. Directives that
//! do not change routing (timeouts, buffers, logging) are passed over in silence.

mod envoy;
mod haproxy;
mod ipvs;
mod kubernetes;
mod nginx;
mod reading;
mod spec;
mod write;
mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::scenario::ScenarioError;

/// The balancers whose configuration lbsim reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    Nginx,
    Haproxy,
    Envoy,
    Kubernetes,
    Ipvs,
}

impl Product {
    pub const ALL: [Product; 5] = [
        Product::Nginx,
        Product::Haproxy,
        Product::Envoy,
        Product::Kubernetes,
        Product::Ipvs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Product::Nginx => "nginx",
            Product::Haproxy => "haproxy",
            Product::Envoy => "envoy",
            Product::Kubernetes => "kubernetes",
            Product::Ipvs => "ipvs",
        }
    }

    pub fn from_name(name: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.name() == name)
    }

    /// What the file says it is: the product whose syntax it is written in, from
    /// the first words that only one product uses.
    pub fn detect(text: &str) -> Option<Product> {
        for line in text.lines().map(str::trim) {
            let first = line.split_whitespace().next().unwrap_or("");
            match first {
                "upstream" | "http" | "stream" | "events" => return Some(Product::Nginx),
                "backend" | "listen" | "frontend" | "defaults" | "global" => return Some(Product::Haproxy),
                "-A" | "-a" | "ipvsadm" => return Some(Product::Ipvs),
                "kind:" | "apiVersion:" => return Some(Product::Kubernetes),
                _ if line.ends_with(':') || line.starts_with("- ") => {
                    // YAML: Envoy's cluster fields are its own.
                    let envoy = ["load_assignment:", "lb_policy:", "static_resources:", "lb_endpoints:"];
                    if envoy.iter().any(|k| text.contains(k)) {
                        return Some(Product::Envoy);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

/// What the command line adds to a configuration file.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The product, when the file does not say which it is.
    pub product: Option<Product>,
    /// The upstream, backend, cluster or service to import, when the file has several.
    pub section: Option<String>,
    /// Unsupported directives that change routing become warnings, not errors.
    pub lenient: bool,
    /// Kubernetes: the number of ready endpoints behind the Service.
    pub endpoints: Option<u32>,
    /// Kubernetes: an EndpointSlice file giving the endpoints.
    pub endpoint_slice: Option<PathBuf>,
    /// Kubernetes: kube-proxy's mode (iptables, nftables or ipvs).
    pub kube_proxy: Option<String>,
}

/// A place in the configuration file: 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub line: usize,
    pub column: usize,
}

impl Place {
    /// The place of byte `offset` in `text`.
    pub fn of(text: &str, offset: usize) -> Place {
        let before = &text[..offset.min(text.len())];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Place {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// A value with where it came from, for the scenario's comments.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    pub at: Place,
    /// What the file said there, briefly: `ip_hash;`, `balance source`.
    pub said: String,
}

/// One server of the imported pool, in configuration order.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedServer {
    /// The name the product hashes or reports (`10.0.0.1:80`, `web1`).
    pub name: String,
    pub weight: u32,
    /// Configured but taking no requests (nginx `down`, HAProxy `disabled`).
    pub down: bool,
    pub origin: Origin,
}

/// A balancer's pool and policy, read from its configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    pub product: Product,
    /// The configuration file.
    pub file: PathBuf,
    /// The upstream, backend, cluster or service imported: names the scenario.
    pub section: String,
    pub servers: Vec<ImportedServer>,
    /// The lbsim policy specification that picks as the product does.
    pub policy: String,
    /// The directives that decided the policy.
    pub policy_origin: Vec<Origin>,
    /// How values were read, for the header: defaults the product applies,
    /// directives that matter only in cases lbsim does not reach.
    pub notes: Vec<String>,
    /// With `--lenient`: directives that change routing and that lbsim does not
    /// model, each with its place.
    pub warnings: Vec<(Place, String)>,
    /// The product's slow start, when the configuration turns it on for the
    /// policy: the scenario's `[slow_start]`.
    pub slow_start: Option<ImportedSlowStart>,
}

/// A slow-start setting read from the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedSlowStart {
    pub product: crate::pool::slow_start::Product,
    pub window: crate::engine::Time,
    /// Envoy's `aggression` and `min_weight_percent`, when given.
    pub aggression: Option<f64>,
    pub min_weight_percent: Option<f64>,
    pub origin: Origin,
}

/// Why a configuration could not be imported.
#[derive(Debug)]
pub enum ImportError {
    /// Not readable, or not one of the products.
    File(PathBuf, String),
    /// Located in the file, with the line shown.
    At(ScenarioError),
}

impl ImportError {
    /// An error at byte `offset` of the configuration `text`.
    pub fn at(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> ImportError {
        ImportError::At(ScenarioError::at(path, text, offset, message))
    }

    pub fn whole(path: &Path, message: impl Into<String>) -> ImportError {
        ImportError::File(path.to_path_buf(), message.into())
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ImportError::File(p, m) => write!(f, "{}: {m}", p.display()),
            ImportError::At(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ImportError {}

/// Reads the configuration at `path` as `options` say.
pub fn import(path: &Path, options: &Options) -> Result<Imported, ImportError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ImportError::whole(path, format!("cannot read the configuration: {e}")))?;
    let product = match options.product.or_else(|| Product::detect(&text)) {
        Some(p) => p,
        None => {
            let names: Vec<&str> = Product::ALL.iter().map(|p| p.name()).collect();
            return Err(ImportError::whole(
                path,
                format!(
                    "cannot tell which balancer this configuration is for; name it with --product {}",
                    names.join("|")
                ),
            ));
        }
    };
    let imported = parse(product, &text, path, options)?;
    if imported.servers.is_empty() {
        return Err(ImportError::whole(
            path,
            format!("{} {:?} has no servers", product.name(), imported.section),
        ));
    }
    Ok(imported)
}

/// Reads `text` as `product`'s configuration.
fn parse(product: Product, text: &str, path: &Path, options: &Options) -> Result<Imported, ImportError> {
    match product {
        Product::Nginx => nginx::parse(text, path, options),
        Product::Haproxy => haproxy::parse(text, path, options),
        Product::Envoy => envoy::parse(text, path, options),
        Product::Kubernetes => kubernetes::parse(text, path, options),
        Product::Ipvs => ipvs::parse(text, path, options),
    }
}
