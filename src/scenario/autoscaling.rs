//! `[autoscaling]`: the section as written, its defaults, and the slots it
//! declares for the servers it may add.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::ScenarioError;
use super::units::Duration;
use crate::engine::time::{SECOND, Time};
use crate::pool::autoscale::{Autoscaling, Metric, Product};
use crate::pool::{Presence, Server, ServerId};

/// `[autoscaling]` as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingFile {
    /// `kubernetes-hpa` (default) or `aws-target-tracking`.
    #[serde(default)]
    pub product: Option<Product>,
    /// `utilization` (default: busy share of the workers) or `requests_per_server` (per second).
    #[serde(default)]
    pub metric: Option<Metric>,
    /// The metric's target: a share for utilisation, requests per second per server.
    #[schemars(with = "f64")]
    pub target: Spanned<f64>,
    #[schemars(with = "u32")]
    pub min: Spanned<u32>,
    #[schemars(with = "u32")]
    pub max: Spanned<u32>,
    /// From the decision to the new server taking traffic (default 30 s for
    /// Kubernetes, 300 s for AWS).
    #[serde(default)]
    pub provisioning: Option<Duration>,
    /// From a scale-in decision to the server's removal (default 30 s for Kubernetes'
    /// terminationGracePeriodSeconds, 300 s for AWS's deregistration delay).
    #[serde(default)]
    #[schemars(with = "Option<Duration>")]
    pub drain: Option<Spanned<Duration>>,
    /// HPA's tolerance (default 0.1).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub tolerance: Option<Spanned<f64>>,
    /// HPA's scale-down stabilisation window (default 300 s).
    #[serde(default)]
    pub stabilization: Option<Duration>,
    /// Between evaluations (default 15 s, HPA's sync period; AWS: 60 s, the metric's period).
    #[serde(default)]
    #[schemars(with = "Option<Duration>")]
    pub period: Option<Spanned<Duration>>,
    /// AWS's instance warm-up from its first traffic (InService; default 300 s).
    #[serde(default)]
    pub warmup: Option<Duration>,
}

/// Reads the section and declares `max − initial` slots named `auto1`, `auto2`, …
/// after the scenario's servers, absent until the controller adds them.
pub(super) fn resolve(
    f: &Spanned<AutoscalingFile>,
    servers: &mut Vec<(Server, usize)>,
    workers: u32,
    duration: Time,
    err: &dyn Fn(usize, String) -> ScenarioError,
) -> Result<Autoscaling, ScenarioError> {
    let at = f.span().start;
    let f = f.get_ref();
    let product = f.product.unwrap_or(Product::KubernetesHpa);
    let metric = f.metric.unwrap_or(Metric::Utilization);
    let aws = product == Product::AwsTargetTracking;
    let (min, max) = (*f.min.get_ref(), *f.max.get_ref());
    if min == 0 {
        return Err(err(f.min.span().start, "min must be at least 1, e.g. 2".into()));
    }
    if min > max {
        return Err(err(
            f.max.span().start,
            format!("max = {max} is below min = {min}: give max ≥ min"),
        ));
    }
    let target = *f.target.get_ref();
    if target.is_nan() || target <= 0.0 || (metric == Metric::Utilization && target > 1.0) {
        return Err(err(
            f.target.span().start,
            match metric {
                Metric::Utilization => "a utilization target is a share in (0, 1], e.g. 0.6".into(),
                Metric::RequestsPerServer => "target must be more than 0 requests per second, e.g. 50".into(),
            },
        ));
    }
    let tolerance = f.tolerance.as_ref().map_or(0.1, |t| *t.get_ref());
    if let Some(t) = &f.tolerance
        && !(0.0..1.0).contains(t.get_ref())
    {
        return Err(err(
            t.span().start,
            "tolerance is a share in [0, 1), e.g. 0.1 (HPA's default)".into(),
        ));
    }
    let drain = f
        .drain
        .as_ref()
        .map_or(if aws { 300 } else { 30 } * SECOND, |d| d.get_ref().0);
    if let Some(d) = &f.drain
        && d.get_ref().0 >= duration
    {
        return Err(err(
            d.span().start,
            format!(
                "a drain of {} s is not shorter than the run ({} s): give a shorter drain",
                crate::output::num(d.get_ref().0 as f64 / 1e9),
                crate::output::num(duration as f64 / 1e9)
            ),
        ));
    }
    let period = f
        .period
        .as_ref()
        .map_or(if aws { 60 } else { 15 } * SECOND, |p| p.get_ref().0);
    if let Some(p) = &f.period
        && (p.get_ref().0 == 0 || p.get_ref().0 >= duration)
    {
        return Err(err(
            p.span().start,
            "period must be longer than 0 and shorter than the run, e.g. \"15s\"".into(),
        ));
    }
    let slots_before: Vec<ServerId> = (0..servers.len() as ServerId).collect();
    let initial = (slots_before.len() as u32).clamp(min, max);
    if initial as usize != slots_before.len() {
        return Err(err(
            at,
            format!(
                "the pool starts with {} servers, outside [min, max] = [{min}, {max}]",
                slots_before.len()
            ),
        ));
    }
    let mut slots = slots_before;
    let mut k = 0;
    while slots.len() < max as usize {
        k += 1;
        let name = format!("auto{k}");
        if servers.iter().any(|(s, _)| s.name == name) {
            continue;
        }
        slots.push(servers.len() as ServerId);
        servers.push((
            Server {
                name,
                weight: 1,
                presence: Presence::Absent,
            },
            at,
        ));
    }
    Ok(Autoscaling {
        product,
        metric,
        target,
        min,
        max,
        provisioning: f.provisioning.map_or(if aws { 300 } else { 30 } * SECOND, |p| p.0),
        drain,
        period,
        tolerance,
        stabilization: f.stabilization.map_or(300 * SECOND, |s| s.0),
        warmup: f.warmup.map_or(300 * SECOND, |w| w.0),
        workers,
        slots,
        initial,
    })
}

/// The line `lbsim validate` prints.
pub fn describe(a: &Autoscaling) -> String {
    let secs = |t: Time| crate::output::num(t as f64 / 1e9);
    let (product, rule) = match a.product {
        Product::KubernetesHpa => (
            "Kubernetes HPA",
            format!(
                "every {} s, tolerance {}, scale-down window {} s",
                secs(a.period),
                crate::output::num(a.tolerance),
                secs(a.stabilization)
            ),
        ),
        Product::AwsTargetTracking => (
            "AWS target tracking",
            format!(
                "{} s datapoints, out after {} above, in after {} below, {} s warm-up",
                secs(a.period),
                crate::pool::autoscale::AWS_HIGH_DATAPOINTS,
                crate::pool::autoscale::AWS_LOW_DATAPOINTS,
                secs(a.warmup)
            ),
        ),
    };
    let metric = match a.metric {
        Metric::Utilization => format!("utilization {}%", crate::output::num(a.target * 100.0)),
        Metric::RequestsPerServer => format!("{} requests/s per server", crate::output::num(a.target)),
    };
    format!(
        "  autoscaling   {product} on {metric}: {} to {} servers (from {}), {rule}; {} s to provision, {} s drain\n",
        a.min,
        a.max,
        a.initial,
        secs(a.provisioning),
        secs(a.drain)
    )
}
