//! What every chart is drawn on: the chart's size and font, both backends (SVG
//! and PNG) from one drawing function, axis ticks and labels, and the legend
//! beside the plot. Chart kinds and their drawing functions build on this.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;

/// One rendered chart.
pub struct Chart {
    /// File stem in charts/, and the anchor in report.html.
    pub name: String,
    pub title: String,
    /// How to read it, under the chart in report.html.
    pub caption: String,
    /// The heading report.html shows it under; empty for pages of one kind of chart.
    pub section: &'static str,
    pub svg: String,
    pub png: Vec<u8>,
}

pub type Drawn = Result<(), Box<dyn Error>>;
/// A plot and the legend beside it.
type Split<DB> = (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>);

pub const WIDTH: u32 = 1200;
pub const LINE_HEIGHT: u32 = 600;
pub const FONT: &str = "sans-serif";
/// Longest label shown in a legend or on an axis; longer ones end in "…".
const MAX_LABEL: usize = 64;

/// Draws a chart of `size` once as SVG text and once as PNG bytes, with the
/// same drawing code given for each backend; `name` says which chart failed.
pub fn encode(
    size: (u32, u32),
    name: &str,
    svg_draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Drawn,
    png_draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Drawn,
) -> Result<(String, Vec<u8>), String> {
    let fail = |e: Box<dyn Error>| format!("drawing {name}: {e}");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        svg_draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        png_draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &rgb,
        size.0,
        size.1,
        image::ColorType::Rgb8,
    )
    .map_err(|e| fail(e.into()))?;
    Ok((svg, png))
}

/// An axis tick: at most two decimals, trailing zeros dropped ("700", "0.25").
pub fn tick(v: &f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

pub fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        label.to_string()
    } else {
        let cut: String = label.chars().take(MAX_LABEL - 1).collect();
        format!("{cut}…")
    }
}

/// Splits `area` into the plot and, on its right, room for the legend's widest entry.
pub fn beside_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor)],
    extra: u32,
) -> Result<Split<DB>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from((FONT, 14));
    let mut widest = 0;
    for (label, _) in items {
        widest = widest.max(area.estimate_text_size(&short(label), &style)?.0);
    }
    let width = area.dim_in_pixel().0;
    let legend = (widest + 50 + extra).min(width / 2);
    Ok(area.split_horizontally(width - legend))
}

/// A colour swatch and label per item, top to bottom.
pub fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, items: &[(String, RGBColor)]) -> Drawn
where
    DB::ErrorType: 'static,
{
    let height = area.dim_in_pixel().1 as i32;
    // Rows shrink so that even a long list of policies fits.
    let row = ((height - 40) / items.len().max(1) as i32).clamp(12, 24);
    for (i, (label, colour)) in items.iter().enumerate() {
        let y = 20 + row * i as i32;
        area.draw(&Rectangle::new([(10, y), (26, y + 12)], colour.filled()))?;
        area.draw(&Text::new(short(label), (32, y - 1), (FONT, 14)))?;
    }
    Ok(())
}

/// Upper bound for a y axis showing `values`, with headroom; at least `floor + 1`.
pub fn top(values: impl Iterator<Item = f64>, floor: f64) -> f64 {
    let max = values.filter(|x| x.is_finite()).fold(floor, f64::max);
    if max > floor {
        floor + (max - floor) * 1.15
    } else {
        floor + 1.0
    }
}
