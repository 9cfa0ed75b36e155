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
pub(super) fn figures(charts: &[Chart]) -> String {
    let mut out = String::new();
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
    out
}

fn comparison(d: &RunData) -> String {
    let mut out = String::from(
        "<table>\n<tr><th></th><th>policy</th><th>sessions lost %</th><th>losses / 1k requests</th>\
         <th>users hit %</th><th>requests max/mean</th><th>p99 ms over the run</th></tr>\n",
    );
    for (p, name) in d.policies.iter().enumerate() {
        let s = &d.summary[p];
        let cells = [
            verdict::estimate(&s.sessions_lost_pct, Some(2), ""),
            verdict::estimate(&s.losses_per_1k, Some(2), ""),
            verdict::estimate(&s.users_affected_pct, Some(2), ""),
            verdict::estimate(&s.requests_max_mean, Some(3), ""),
            verdict::estimate(&s.p99_ms, Some(1), ""),
        ];
        out.push_str(&format!("<tr>{}<td>{}</td>", swatch(p), escape(name)));
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
    let mut out = open(&format!("lbsim report: {}", d.scenario()));
    out.push_str("<h2>Parameters</h2>\n");
    out.push_str(&parameters(&d.meta));
    out.push_str("<h2>Comparison</h2>\n");
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
    out.push_str(&figures(charts));
    out.push_str(CLOSE);
    out
}
