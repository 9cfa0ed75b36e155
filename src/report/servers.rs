//! The pool's size over time beside the load that sized it, for runs with
//! `[autoscaling]`: requests per second above, servers serving and requested
//! below, on one time axis, from autoscale.csv's first replication.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{Drawn, FONT, tick, top};
use super::data::{RunData, ScalePoint};
use super::lines::time_unit;

/// The load line, and the servers the autoscaler asked for (dashed grey) and
/// those serving (solid), as steps: the count holds between evaluations.
pub(super) fn servers_chart<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &RunData) -> Drawn
where
    DB::ErrorType: 'static,
{
    let (scale, unit) = time_unit(d);
    let end = d.duration_s / scale;
    let (upper, lower) = area.split_vertically(area.dim_in_pixel().1 * 2 / 5);
    let points = &d.autoscale;
    let load = top(points.iter().map(|p| p.requests_per_s), 0.0);
    let mut chart = axes(&upper, (end, load), ("", "requests/s"))?;
    let ink = RGBColor(60, 60, 60);
    chart.draw_series(LineSeries::new(
        points.iter().map(|p| (p.time_s / scale, p.requests_per_s)),
        ink.stroke_width(2),
    ))?;
    let most = points.iter().map(|p| p.serving.max(p.requested)).fold(1.0, f64::max);
    let mut chart = axes(&lower, (end, most.ceil() + 1.0), (&format!("time ({unit})"), "servers"))?;
    let requested = RGBColor(150, 150, 150);
    let serving = RGBColor(31, 119, 180);
    chart
        .draw_series(DashedLineSeries::new(
            steps(points, scale, end, |p| p.requested),
            6,
            4,
            requested.stroke_width(2),
        ))?
        .label("requested")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], requested.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            steps(points, scale, end, |p| p.serving),
            serving.stroke_width(2),
        ))?
        .label("serving")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], serving.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// Axes from 0 to `x` and to `y` on `area`, described by `desc` (x, y).
fn axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    (x, y): (f64, f64),
    desc: (&str, &str),
) -> Result<Plot<'a, DB>, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(if desc.0.is_empty() { 30 } else { 50 })
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..x, 0.0..y)?;
    chart
        .configure_mesh()
        .x_desc(desc.0)
        .y_desc(desc.1)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    Ok(chart)
}

type Plot<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// A count held from each evaluation to the next, as a step line to `end`.
fn steps(points: &[ScalePoint], scale: f64, end: f64, value: impl Fn(&ScalePoint) -> f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2 + 1);
    for (i, p) in points.iter().enumerate() {
        let x = p.time_s / scale;
        if i > 0 {
            out.push((x, value(&points[i - 1])));
        }
        out.push((x, value(p)));
    }
    if let Some(last) = points.last() {
        out.push((end, value(last)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_holds_until_the_next_evaluation() {
        let p = |t: f64, n: f64| ScalePoint {
            time_s: t,
            serving: n,
            requested: n,
            requests_per_s: 0.0,
        };
        let got = steps(&[p(15.0, 2.0), p(30.0, 3.0)], 1.0, 60.0, |p| p.serving);
        assert_eq!(got, [(15.0, 2.0), (30.0, 2.0), (30.0, 3.0), (60.0, 3.0)]);
    }
}
