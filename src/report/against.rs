//! A metric against a parameter: one line per policy through its means, a
//! shaded band in the policy's colour for the 95% confidence interval across
//! replications, and optionally an objective drawn as a dashed horizontal line.
//! Sweep reports chart each metric against each varied key; the capacity
//! planner charts each service-level metric against the number of servers.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{Chart, Drawn, FONT, LINE_HEIGHT, WIDTH, beside_legend, encode, short, tick, top};

/// One value of a line: the mean over replications and its 95% half-width
/// (NaN with one replication: no band).
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub x: f64,
    pub mean: f64,
    pub half_width: f64,
}

/// One policy's line.
pub struct Line {
    pub label: String,
    pub colour: RGBColor,
    pub points: Vec<Point>,
}

/// How the x axis reads.
pub enum XAxis {
    /// Numbers; `whole` marks only whole numbers (counts of servers).
    Numbers { whole: bool },
    /// Named positions 0, 1, 2, ... (values that are not numbers).
    Labels(Vec<String>),
}

/// A level every line should stay under, and how to name it on the chart.
pub struct Objective {
    pub y: f64,
    pub label: String,
}

/// Everything one chart shows.
pub struct Against {
    /// File stem in charts/.
    pub name: String,
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub x_axis: XAxis,
    /// The least value the metric can take (1 for max/mean ratios, else 0): the y axis starts there.
    pub y_floor: f64,
    /// The greatest value the metric can take (100% for shares), where bands stop.
    pub y_ceiling: f64,
    pub lines: Vec<Line>,
    pub objective: Option<Objective>,
}

/// Draws the chart as SVG and PNG.
pub fn render(a: &Against) -> Result<Chart, String> {
    let (svg, png) = encode(
        (WIDTH, LINE_HEIGHT),
        &a.name,
        |root| draw(a, root),
        |root| draw(a, root),
    )?;
    Ok(Chart {
        name: a.name.clone(),
        title: a.title.clone(),
        caption: String::new(),
        section: "",
        svg,
        png,
    })
}

fn draw<DB: DrawingBackend>(a: &Against, root: &DrawingArea<DB, Shift>) -> Drawn
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let area = root.titled(&a.title, (FONT, 24))?;
    let items: Vec<(String, RGBColor)> = a.lines.iter().map(|l| (l.label.clone(), l.colour)).collect();
    // The legend's swatch is a stretch of line: room for it beyond a swatch's.
    let (plot, legend_area) = beside_legend(&area, &items, 14)?;
    let points = || a.lines.iter().flat_map(|l| &l.points).filter(|p| p.mean.is_finite());
    let (mut x_lo, mut x_hi) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.x), hi.max(p.x))
    });
    if let XAxis::Labels(names) = &a.x_axis {
        (x_lo, x_hi) = (0.0, names.len().saturating_sub(1) as f64);
    }
    if !x_lo.is_finite() {
        (x_lo, x_hi) = (0.0, 1.0);
    }
    // A margin either side, so the end markers are not cut by the axes.
    let pad = if x_hi > x_lo { (x_hi - x_lo) * 0.04 } else { 0.5 };
    // A band is cut at the metric's bounds: an interval of a utilisation does not reach 110%.
    let high = |p: &Point| (p.mean + if p.half_width.is_finite() { p.half_width } else { 0.0 }).min(a.y_ceiling);
    let highs = points().map(high);
    let natural = top(highs.chain(a.objective.as_ref().map(|o| o.y)), a.y_floor);
    // Values far above the objective (an overloaded count's latency) would flatten
    // everything near it: the axis stops at three times the objective, and what
    // lies above is drawn along the top edge, as a note on the chart says.
    let cap = a.objective.as_ref().map(|o| a.y_floor + (o.y - a.y_floor) * 3.0);
    let (y_hi, capped) = match cap {
        Some(c) if c > a.y_floor && natural > c => (c, true),
        _ => (natural, false),
    };
    let clamp = |y: f64| y.min(y_hi);
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .margin_right(24)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x_lo - pad..x_hi + pad, a.y_floor..y_hi)?;
    let label_at = |x: &f64| -> String {
        let i = x.round();
        let whole = (x - i).abs() < 1e-9;
        match &a.x_axis {
            XAxis::Numbers { whole: false } => tick(x),
            XAxis::Numbers { whole: true } if whole => format!("{i}"),
            XAxis::Labels(names) if whole && i >= 0.0 => names.get(i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        }
    };
    // Enough decimals that neighbouring ticks differ, however narrow the range.
    let step = (y_hi - a.y_floor) / 10.0;
    let decimals = if step >= 1.0 {
        0
    } else {
        ((-step.log10()).ceil() as usize).min(6)
    };
    let y_label = |y: &f64| {
        let s = format!("{y:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    let x_labels = match &a.x_axis {
        XAxis::Labels(names) => names.len().max(1),
        // Whole numbers: a tick per number when there are few, else plotters' round steps.
        XAxis::Numbers { whole: true } if x_hi - x_lo <= 16.0 => (x_hi - x_lo) as usize + 1,
        XAxis::Numbers { .. } => 10,
    };
    chart
        .configure_mesh()
        .x_desc(a.x_desc.as_str())
        .y_desc(a.y_desc.as_str())
        .x_labels(x_labels)
        .x_label_formatter(&label_at)
        .y_label_formatter(&y_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    // Bands first, so every line is drawn over every band.
    for line in &a.lines {
        let banded: Vec<&Point> = line
            .points
            .iter()
            .filter(|p| p.mean.is_finite() && p.half_width.is_finite())
            .collect();
        if banded.len() < 2 {
            continue;
        }
        let upper = banded.iter().map(|p| (p.x, clamp(high(p))));
        let lower = banded
            .iter()
            .rev()
            .map(|p| (p.x, clamp((p.mean - p.half_width).max(a.y_floor))));
        let outline: Vec<(f64, f64)> = upper.chain(lower).collect();
        chart.draw_series([Polygon::new(outline, line.colour.mix(0.18).filled())])?;
    }
    for line in &a.lines {
        let shown: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter(|p| p.mean.is_finite())
            .map(|p| (p.x, clamp(p.mean)))
            .collect();
        chart.draw_series(LineSeries::new(shown.iter().copied(), line.colour.stroke_width(2)))?;
    }
    // Markers on top of every line, each policy its own shape, so lines that
    // coincide still show every policy.
    for (i, line) in a.lines.iter().enumerate() {
        for p in line.points.iter().filter(|p| p.mean.is_finite()) {
            marker(
                root,
                chart.plotting_area().map_coordinate(&(p.x, clamp(p.mean))),
                i,
                line.colour,
            )?;
        }
    }
    if capped {
        let style = TextStyle::from((FONT, 14)).color(&RGBColor(60, 60, 60));
        let note = format!("values above {} are drawn along the top edge", tick(&y_hi));
        let tag = EmptyElement::at((x_lo - pad, y_hi)) + Text::new(note, (8, 14), style);
        chart.draw_series([tag])?;
    }
    if let Some(o) = &a.objective {
        let ink = RGBColor(60, 60, 60);
        chart.draw_series(DashedLineSeries::new(
            [(x_lo - pad, o.y), (x_hi + pad, o.y)],
            10,
            6,
            ink.stroke_width(2),
        ))?;
        // Right-aligned just above the line, where the lines usually have fallen below it.
        let style = TextStyle::from((FONT, 15))
            .color(&ink)
            .pos(Pos::new(HPos::Right, VPos::Bottom));
        let tag = EmptyElement::at((x_hi + pad, o.y)) + Text::new(o.label.clone(), (-8, -4), style);
        chart.draw_series([tag])?;
    }
    legend(&legend_area, &a.lines)
}

/// The marker of the line at position `i`, centred on pixel `at` of `area`.
fn marker<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, at: (i32, i32), i: usize, colour: RGBColor) -> Drawn
where
    DB::ErrorType: 'static,
{
    let (x, y) = at;
    match i % 4 {
        0 => area.draw(&Circle::new(at, 5, colour.filled()))?,
        1 => area.draw(&Rectangle::new([(x - 4, y - 4), (x + 4, y + 4)], colour.filled()))?,
        2 => area.draw(&TriangleMarker::new(at, 6, colour.filled()))?,
        _ => area.draw(&Cross::new(at, 5, colour.stroke_width(3)))?,
    }
    Ok(())
}

/// A short stretch of each line with its marker, and its label, top to bottom.
fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, lines: &[Line]) -> Drawn
where
    DB::ErrorType: 'static,
{
    let height = area.dim_in_pixel().1 as i32;
    // Rows shrink so that even a long list of policies fits.
    let row = ((height - 40) / lines.len().max(1) as i32).clamp(14, 24);
    for (i, line) in lines.iter().enumerate() {
        let y = 26 + row * i as i32;
        area.draw(&PathElement::new([(6, y), (32, y)], line.colour.stroke_width(2)))?;
        marker(area, (19, y), i, line.colour)?;
        let style = TextStyle::from((FONT, 14)).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(short(&line.label), (40, y), style))?;
    }
    Ok(())
}
