//! `lbsim import`: a scenario from a real balancer's configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use lbsim::import::{self, Options, Product};
use lbsim::output;

use super::common::{output_error, say, usage_error};

#[derive(Args)]
pub struct ImportArgs {
    /// The configuration: nginx.conf, haproxy.cfg, an Envoy cluster (YAML), a Kubernetes
    /// Service (YAML) or the output of `ipvsadm -Sn`.
    pub config: PathBuf,
    /// The product, when the file does not show which it is.
    #[arg(long, value_name = "PRODUCT", value_parser = parse_product)]
    pub product: Option<Product>,
    /// The nginx upstream, HAProxy backend or listen section, Envoy cluster, Kubernetes
    /// Service or IPVS virtual service to import, when the file has several.
    #[arg(long, value_name = "NAME", visible_aliases = ["backend", "cluster", "service"])]
    pub upstream: Option<String>,
    /// Turn directives that change routing and that lbsim does not model into warnings
    /// (listed in the scenario's header) instead of errors.
    #[arg(long)]
    pub lenient: bool,
    /// Kubernetes: the number of ready endpoints behind the Service.
    #[arg(long, value_name = "N", conflicts_with = "endpoint_slice")]
    pub endpoints: Option<u32>,
    /// Kubernetes: an EndpointSlice (YAML) listing the Service's endpoints.
    #[arg(long, value_name = "FILE")]
    pub endpoint_slice: Option<PathBuf>,
    /// Kubernetes: kube-proxy's mode.
    #[arg(long, value_name = "MODE", value_parser = ["iptables", "nftables", "ipvs"], default_value = "iptables")]
    pub kube_proxy: String,
    /// Where to write the scenario [default: <name>.toml in the current folder].
    #[arg(long, value_name = "FILE", conflicts_with = "print")]
    pub out: Option<PathBuf>,
    /// Print the scenario instead of writing it.
    #[arg(long)]
    pub print: bool,
    /// Replace the scenario file if it exists.
    #[arg(long)]
    pub force: bool,
}

pub fn main(a: ImportArgs) -> ExitCode {
    let options = Options {
        product: a.product,
        section: a.upstream,
        lenient: a.lenient,
        endpoints: a.endpoints,
        endpoint_slice: a.endpoint_slice,
        kube_proxy: Some(a.kube_proxy),
    };
    let imported = match import::import(&a.config, &options) {
        Ok(i) => i,
        Err(e) => return usage_error(e),
    };
    let text = imported.to_toml();
    for (at, w) in &imported.warnings {
        eprintln!("warning: {}:{}:{}: {w}", a.config.display(), at.line, at.column);
    }
    if a.print {
        say(&text);
        return ExitCode::SUCCESS;
    }
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}.toml", file_stem(&imported.section))));
    if out.exists() && !a.force {
        return usage_error(format!(
            "{} exists; pass --force to replace it, or --out FILE to write elsewhere",
            out.display()
        ));
    }
    if let Err(e) = output::write_atomic(&out, text.as_bytes()) {
        return output_error(e);
    }
    say(&format!(
        "{} {:?}: {} servers, policy {}\nscenario in {} (run it with `lbsim run {}`)\n",
        imported.product.name(),
        imported.section,
        imported.servers.len(),
        imported.policy,
        out.display(),
        out.display()
    ));
    ExitCode::SUCCESS
}

/// A section name made safe as a file name.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn parse_product(name: &str) -> Result<Product, String> {
    Product::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Product::ALL.iter().map(|p| p.name()).collect();
        format!("expected one of: {}", names.join(", "))
    })
}
