//! Checks that a chart file is a valid picture of a sensible size: a PNG by its
//! signature and header, an SVG by its one well-nested root element.
//!
//! A test module includes this with `mod pictures;`.
#![allow(dead_code)]

use std::fs;
use std::path::Path;

/// Width and height from a PNG's signature and IHDR chunk.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 33, "too short for a PNG");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "IHDR first");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Checks that `svg` is one well-nested <svg> element and returns its size.
pub fn svg_size(svg: &str) -> (u32, u32) {
    let svg = svg.trim();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "one <svg> element");
    let mut open: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>').expect("every tag closes");
        let tag = &rest[start + 1..end];
        let name = |t: &str| {
            t.split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap()
                .to_string()
        };
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(open.pop().map(name), Some(name(closing)), "tags nest");
        } else if !tag.ends_with('/') {
            open.push(tag);
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    let attr = |a: &str| -> u32 {
        let at = svg.find(&format!(" {a}=\"")).expect(a) + a.len() + 3;
        svg[at..at + svg[at..].find('"').unwrap()]
            .parse()
            .expect("a whole number")
    };
    (attr("width"), attr("height"))
}

/// Checks that `out` holds exactly the charts `names` (PNG and SVG each, of
/// one sensible size, with text), and that its report.html shows each once,
/// inline, and refers to nothing outside itself.
pub fn check_charts(out: &Path, names: &[&str]) {
    let mut written: Vec<String> = fs::read_dir(out.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut want: Vec<String> = names
        .iter()
        .flat_map(|n| [format!("{n}.png"), format!("{n}.svg")])
        .collect();
    want.sort();
    assert_eq!(written, want);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    for name in names {
        let png = fs::read(out.join(format!("charts/{name}.png"))).unwrap();
        let (w, h) = png_size(&png);
        assert!(
            (600..=4000).contains(&w) && (200..=4000).contains(&h),
            "{name}.png is {w}×{h}"
        );
        assert!(png.len() > 10_000, "{name}.png holds a drawing, not a blank");
        let svg = fs::read_to_string(out.join(format!("charts/{name}.svg"))).unwrap();
        assert_eq!(svg_size(&svg), (w, h), "{name}: SVG and PNG have one size");
        assert!(
            svg.matches("<text").count() >= 5,
            "{name}.svg has a title, labels and a legend"
        );
        assert!(
            html.contains(&format!("<figure id=\"{name}\">")),
            "report.html shows {name}"
        );
    }
    assert_eq!(html.matches("<svg").count(), names.len(), "every chart inline, once");
    for outside in ["http://", "https://", " src=", " href=", "<script", "<link"] {
        assert!(!html.contains(outside), "report.html refers outside itself: {outside}");
    }
}
