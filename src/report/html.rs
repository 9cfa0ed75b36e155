//! report.html: one self-contained page (styles and SVG charts inline, no
//! scripts, no links outside the file) that can be mailed or attached to a ticket.
//! Built only from the run folder's files, in a fixed order, so the same folder
//! always gives the same bytes.

use super::charts::Chart;
use super::data::RunData;
use super::verdict;

const STYLE: &str = "body{font-family:sans-serif;max-width:1240px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0}\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}\
td.swatch{width:14px;padding:0}\
dl.params{display:grid;grid-template-columns:max-content auto;gap:2px 16px}\
dl.params dt{font-weight:bold}dl.params dd{margin:0}\
figure{margin:2em 0}figure svg{max-width:100%;height:auto}\
figcaption{color:#555;font-size:90%}";

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

/// run.json's values worth showing, as text; timings are left out so that
/// the same scenario and seed give the same page.
fn parameters(d: &RunData) -> Vec<(String, String)> {
    const SKIP: [&str; 4] = ["wall_time_s", "events_per_s", "requests_routed_per_s", "threads"];
    let Some(map) = d.meta.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter(|(k, _)| !SKIP.contains(&k.as_str()))
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

fn comparison(d: &RunData) -> String {
    let mut out = String::from(
        "<table>\n<tr><th></th><th>policy</th><th>sessions lost %</th><th>losses / 1k requests</th>\
         <th>users hit %</th><th>requests max/mean</th><th>p99 ms</th></tr>\n",
    );
    for (p, name) in d.policies.iter().enumerate() {
        let s = &d.summary[p];
        let c = super::palette::policy(p);
        let cells = [
            verdict::estimate(&s.sessions_lost_pct, Some(2), ""),
            verdict::estimate(&s.losses_per_1k, Some(2), ""),
            verdict::estimate(&s.users_affected_pct, Some(2), ""),
            verdict::estimate(&s.requests_max_mean, Some(3), ""),
            verdict::estimate(&s.p99_ms, Some(1), ""),
        ];
        out.push_str(&format!(
            "<tr><td class=\"swatch\" style=\"background:#{:02x}{:02x}{:02x}\"></td><td>{}</td>",
            c.0,
            c.1,
            c.2,
            escape(name)
        ));
        for cell in cells {
            out.push_str(&format!("<td>{}</td>", escape(&cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// The whole page.
pub fn render(d: &RunData, charts: &[Chart]) -> String {
    let name = escape(d.scenario());
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>lbsim report: {name}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<h1>lbsim report: {name}</h1>\n"
    );
    out.push_str("<h2>Parameters</h2>\n<dl class=\"params\">\n");
    for (k, v) in parameters(d) {
        out.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", escape(&k), escape(&v)));
    }
    out.push_str("</dl>\n<h2>Comparison</h2>\n");
    if d.replications > 1 {
        out.push_str(&format!(
            "<p>Each cell is the mean over {} replications ± the 95% confidence half-width.</p>\n",
            d.replications
        ));
    }
    out.push_str(&comparison(d));
    out.push_str("<h2>Verdicts</h2>\n<ul>\n");
    for (p, policy) in d.policies.iter().enumerate() {
        out.push_str(&format!(
            "<li><b>{}</b> {}</li>\n",
            escape(policy),
            escape(&verdict::sentence(d, p))
        ));
    }
    out.push_str("</ul>\n<h2>Charts</h2>\n");
    for c in charts {
        // Inline SVG takes its namespace from HTML: the page then names no URL at all.
        let svg = c.svg.trim().replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
        out.push_str(&format!(
            "<figure id=\"{0}\">\n{1}\n<figcaption>{2} (also charts/{0}.png and charts/{0}.svg)</figcaption>\n</figure>\n",
            c.name,
            svg,
            escape(&c.title)
        ));
    }
    out.push_str("</body>\n</html>\n");
    out
}
