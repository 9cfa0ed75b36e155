//! report.html: one self-contained page (styles and SVG charts inline, no
//! scripts, no links outside the file) that can be mailed or attached to a ticket.
//! Built only from the run folder's files, in a fixed order, so the same folder
//! always gives the same bytes.

use super::canvas::Chart;
use super::data::{RunData, Summary};
use super::verdict;
use crate::metrics::stats::Estimate;

/// The page's whole stylesheet: readable on screen, and on paper (A4, charts kept
/// whole on a page, no background needed to tell the best values).
const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;max-width:1100px;\
margin:2em auto;padding:0 1.2em;color:#1f2328;line-height:1.45}\
h1{font-size:1.7em;margin-bottom:.1em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #d0d7de;\
padding-bottom:.2em}\
p.sub{color:#59636e;margin-top:0}\
p.answer{font-size:1.1em;background:#f6f8fa;border-left:4px solid #1f6feb;padding:.8em 1em}\
table{border-collapse:collapse;margin:1em 0;font-variant-numeric:tabular-nums}\
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right}td{white-space:nowrap}\
th{background:#f6f8fa}th:first-child,td:first-child{text-align:left}\
td.swatch{width:14px;padding:0}td.name,th.name{text-align:left}td.name{white-space:normal}\
td.best{font-weight:bold;background:#dafbe1}\
dl.params{display:grid;grid-template-columns:max-content auto;gap:2px 16px}\
dl.params dt{font-weight:bold}dl.params dd{margin:0}\
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}\
figcaption{color:#59636e;font-size:90%}\
p.note{color:#59636e;font-size:90%}\
@page{size:A4;margin:14mm}\
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt}\
h2{break-after:avoid}figure,table,p.answer{break-inside:avoid}\
td.best{background:none;text-decoration:underline}\
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

/// Text made safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// run.json's values worth showing, as a list; timings are left out so that
/// the same scenario and seed give the same page.
pub(super) fn parameters(meta: &serde_json::Value) -> String {
    const SKIP: [&str; 5] = [
        "wall_time_s",
        "events_per_s",
        "requests_routed_per_s",
        "threads",
        "wall_s",
    ];
    let mut out = String::from("<dl class=\"params\">\n");
    for (k, v) in meta.as_object().into_iter().flatten() {
        if SKIP.contains(&k.as_str()) {
            continue;
        }
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        out.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", escape(k), escape(&text)));
    }
    out.push_str("</dl>\n");
    out
}

/// The start of a page titled `title`, up to its heading.
pub(super) fn open(title: &str) -> String {
    let title = escape(title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    )
}

/// The end of a page.
pub(super) const CLOSE: &str = "</body>\n</html>\n";

/// A table cell filled with the colour of the policy at position `p`.
pub(super) fn swatch(p: usize) -> String {
    let c = super::palette::policy(p);
    format!(
        "<td class=\"swatch\" style=\"background:#{:02x}{:02x}{:02x}\"></td>",
        c.0, c.1, c.2
    )
}

/// Every chart as an inline SVG figure with its caption.
pub(super) fn figures<'a>(charts: impl IntoIterator<Item = &'a Chart>) -> String {
    let mut out = String::new();
    for c in charts {
        // Inline SVG takes its namespace from HTML: the page then names no URL at all.
        let svg = c.svg.trim().replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
        let caption = if c.caption.is_empty() {
            escape(&c.title)
        } else {
            format!("<b>{}.</b> {}", escape(&c.title), escape(&c.caption))
        };
        out.push_str(&format!(
            "<figure id=\"{0}\">\n{1}\n<figcaption>{2} (also charts/{0}.png and charts/{0}.svg)</figcaption>\n</figure>\n",
            c.name, svg, caption
        ));
    }
    out
}

/// The comparison table's columns: heading, the values, decimals, and whether
/// lower is better (every column here: losses, imbalance and latency).
type Column<'a> = (&'a str, fn(&Summary) -> &[f64], usize);

const COLUMNS: [Column<'static>; 5] = [
    ("sessions lost %", |s| &s.sessions_lost_pct, 2),
    ("losses / 1k requests", |s| &s.losses_per_1k, 2),
    ("users hit %", |s| &s.users_affected_pct, 2),
    ("busiest server / fair share", |s| &s.requests_max_mean, 3),
    ("p99 ms over the run", |s| &s.p99_ms, 1),
];

/// The policies side by side, the best (lowest) mean of each column marked.
fn comparison(d: &RunData) -> String {
    let shown: Vec<&Column> = COLUMNS
        .iter()
        .filter(|(_, values, _)| d.summary.iter().any(|s| Estimate::of(values(s)).mean.is_finite()))
        .collect();
    let mut out = String::from("<table>\n<tr><th></th><th class=\"name\">policy</th>");
    for (head, _, _) in &shown {
        out.push_str(&format!("<th>{}</th>", escape(head)));
    }
    out.push_str("</tr>\n");
    let best: Vec<f64> = shown
        .iter()
        .map(|(_, values, _)| {
            d.summary
                .iter()
                .map(|s| Estimate::of(values(s)).mean)
                .filter(|m| m.is_finite())
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    for (p, name) in d.policies.iter().enumerate() {
        let s = &d.summary[p];
        out.push_str(&format!("<tr>{}<td class=\"name\">{}</td>", swatch(p), escape(name)));
        for ((_, values, decimals), best) in shown.iter().zip(&best) {
            let cell = escape(&verdict::estimate(values(s), Some(*decimals), ""));
            // Equal at the decimals shown counts as equally best.
            let mean = Estimate::of(values(s)).mean;
            let scale = 10f64.powi(*decimals as i32);
            if (mean * scale).round() == (best * scale).round() {
                out.push_str(&format!("<td class=\"best\">{cell}</td>"));
            } else {
                out.push_str(&format!("<td>{cell}</td>"));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// The scenario as a reader says it: durations in their units, counts with
/// thousands separators, the file and its hash last.
fn scenario(d: &RunData) -> String {
    let m = &d.meta;
    let text = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let count = |k: &str| m.get(k).and_then(|v| v.as_u64());
    let secs = |k: &str| m.get(k).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
    let reps = d.replications.max(1) as u64;
    let mut rows: Vec<(&str, String)> = Vec::new();
    let mut simulated = spoken(secs("duration_s"));
    let warmup = secs("warmup_s");
    if warmup > 0.0 {
        simulated.push_str(&format!(
            ", of which the first {} warm up and are not measured",
            spoken(warmup)
        ));
    }
    rows.push(("simulated time", simulated));
    if let Some(u) = count("users") {
        rows.push(("users", format!("{} per replication", verdict::thousands(u / reps))));
    }
    if let Some(v) = count("sessions") {
        rows.push((
            "sessions (visits)",
            format!("{} per replication", verdict::thousands(v / reps)),
        ));
    }
    if let Some(r) = count("requests_routed") {
        let per_policy = r / reps / d.policies.len().max(1) as u64;
        rows.push((
            "requests",
            format!("{} per policy and replication", verdict::thousands(per_policy)),
        ));
    }
    rows.push(("servers", d.servers.len().to_string()));
    let changes = match d.events.len() {
        0 => "none".to_string(),
        _ => d
            .events
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}",
                    e.clock.strip_suffix(":00").unwrap_or(&e.clock),
                    e.action,
                    e.server
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    };
    rows.push(("pool changes", changes));
    rows.push(("policies compared", d.policies.len().to_string()));
    rows.push((
        "replications",
        if reps > 1 {
            format!("{reps} (independent runs; ± is the 95% confidence half-width of the mean)")
        } else {
            "1 (run more with --replications N for confidence intervals)".to_string()
        },
    ));
    rows.push(("measured in windows of", spoken(d.window_s)));
    rows.push(("seed", m.get("seed").map_or(String::new(), |s| s.to_string())));
    rows.push((
        "scenario file",
        format!("{} (XXH3 {})", text("scenario_file"), text("scenario_xxh3")),
    ));
    rows.push(("lbsim", text("lbsim_version")));
    let mut out = String::from("<dl class=\"params\">\n");
    for (k, v) in rows {
        out.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", escape(k), escape(&v)));
    }
    out.push_str("</dl>\n");
    out
}

/// "1 day", "6 h", "15 min", "90 s": a length of time as people say it.
pub(super) fn spoken(secs: f64) -> String {
    if !secs.is_finite() {
        return "-".into();
    }
    if secs >= 86_400.0 && secs % 86_400.0 == 0.0 {
        let days = secs / 86_400.0;
        return if days == 1.0 {
            "1 day".into()
        } else {
            format!("{days} days")
        };
    }
    super::charts::minutes(secs)
}

/// The whole page: the answer, the scenario, the comparison, a verdict per
/// policy, then the charts under the question each answers.
pub fn render(d: &RunData, charts: &[Chart]) -> String {
    let mut out = open(&format!("Capacity report: {}", d.scenario()));
    out.push_str(&format!(
        "<p class=\"sub\">{} policies compared on the same simulated clients; made by lbsim from the run's files.</p>\n",
        d.policies.len()
    ));
    out.push_str("<h2>The answer</h2>\n");
    out.push_str(&format!("<p class=\"answer\">{}</p>\n", escape(&verdict::answer(d))));
    out.push_str("<h2>The scenario</h2>\n");
    out.push_str(&scenario(d));
    out.push_str("<h2>The policies compared</h2>\n");
    if d.replications > 1 {
        out.push_str(&format!(
            "<p>Each cell is the mean over {} replications ± the 95% confidence half-width.</p>\n",
            d.replications
        ));
    }
    out.push_str(&comparison(d));
    out.push_str("<p class=\"note\">The best value of each column is marked; lower is better in every column.</p>\n");
    out.push_str("<ul>\n");
    for (p, policy) in d.policies.iter().enumerate() {
        out.push_str(&format!(
            "<li><b>{}</b> {}</li>\n",
            escape(policy),
            escape(&verdict::sentence(d, p))
        ));
    }
    out.push_str("</ul>\n");
    let mut sections: Vec<&str> = Vec::new();
    for c in charts {
        if !sections.contains(&c.section) {
            sections.push(c.section);
        }
    }
    for section in sections {
        if !section.is_empty() {
            out.push_str(&format!("<h2>{}</h2>\n", escape(section)));
        }
        out.push_str(&figures(charts.iter().filter(|c| c.section == section)));
    }
    out.push_str(CLOSE);
    out
}
