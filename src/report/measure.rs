//! The summary metrics that sweep and plan charts put against a parameter: the
//! column each is read from, and how a chart and a sentence name it.

/// One metric of sweep.csv or plan.csv.
pub struct Measure {
    /// Its column in summary.csv and sweep.csv, and its name in plan.csv.
    pub column: &'static str,
    /// What the chart's title calls it.
    pub title: &'static str,
    /// What a sentence calls it.
    pub words: &'static str,
    /// The y axis, with its unit.
    pub axis: &'static str,
    /// Its least possible value, where the y axis starts.
    pub floor: f64,
    /// Its greatest possible value, as charted (a confidence band stops there).
    pub ceiling: f64,
    /// Charts and sentences show `scale ×` the stored value (fractions as percentages).
    pub scale: f64,
    pub unit: &'static str,
    pub decimals: usize,
}

pub const LOSS: Measure = Measure {
    column: "sessions_lost_pct",
    words: "sessions lost",
    title: "Sessions lost",
    axis: "sessions lost (%)",
    floor: 0.0,
    ceiling: 100.0,
    scale: 1.0,
    unit: "%",
    decimals: 2,
};

pub const UNSERVED: Measure = Measure {
    column: "not_served_pct",
    words: "requests not served",
    title: "Requests not served",
    axis: "requests dropped or unroutable (%)",
    floor: 0.0,
    ceiling: 100.0,
    scale: 1.0,
    unit: "%",
    decimals: 2,
};

pub const IMBALANCE: Measure = Measure {
    column: "requests_max_mean",
    words: "busiest server's requests over the mean",
    title: "Request imbalance",
    axis: "requests on the busiest server / mean (1 = even)",
    floor: 1.0,
    ceiling: f64::INFINITY,
    scale: 1.0,
    unit: "×",
    decimals: 2,
};

pub const P99: Measure = Measure {
    column: "latency_p99_ms",
    words: "p99 latency over the run",
    title: "p99 latency over the whole run",
    axis: "p99 latency over the run (ms)",
    floor: 0.0,
    ceiling: f64::INFINITY,
    scale: 1.0,
    unit: " ms",
    decimals: 0,
};

pub const P99_WORST: Measure = Measure {
    column: "latency_p99_ms_worst_window",
    words: "p99 latency in the worst window",
    title: "p99 latency in the worst window",
    axis: "p99 latency in the worst window (ms)",
    floor: 0.0,
    ceiling: f64::INFINITY,
    scale: 1.0,
    unit: " ms",
    decimals: 0,
};

pub const UTILISATION_WORST: Measure = Measure {
    column: "utilisation_max_worst_window",
    words: "busiest server's utilisation in the worst window",
    title: "Busiest server's utilisation in the worst window",
    axis: "busiest server's utilisation in the worst window (% of worker time)",
    floor: 0.0,
    ceiling: 100.0,
    scale: 100.0,
    unit: "%",
    decimals: 0,
};

pub const PEAK_UTILISATION: Measure = Measure {
    column: "utilisation_max",
    words: "busiest server's utilisation averaged over the run",
    title: "Busiest server's utilisation, averaged over the run",
    axis: "busiest server's mean utilisation over the run (% of worker time)",
    floor: 0.0,
    ceiling: 100.0,
    scale: 100.0,
    unit: "%",
    decimals: 0,
};

/// The metrics a sweep report charts, in order.
pub const SWEPT: [&Measure; 4] = [&LOSS, &IMBALANCE, &P99, &PEAK_UTILISATION];

/// The metric read from `column`, if charts know it.
pub fn by_column(column: &str) -> Option<&'static Measure> {
    [
        &LOSS,
        &IMBALANCE,
        &P99,
        &PEAK_UTILISATION,
        &UNSERVED,
        &P99_WORST,
        &UTILISATION_WORST,
    ]
    .into_iter()
    .find(|m| m.column == column)
}
