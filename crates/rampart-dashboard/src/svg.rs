//! Charts as inline SVG, drawn on the server: the report stays one file that needs no script
//! and no network, and the dashboard ships no JavaScript. Written here rather than with a
//! plotting crate because a line chart with a legend is a page of code, and the markup carries
//! what the tests and screen readers read: every point is a `<circle>` with its series, date
//! and value as data attributes and a `<title>`, and every chart has a data table beside it.

use maud::{Markup, html};

use crate::view::Chart;

/// Width and height of the drawing (the SVG scales to its box).
const W: f64 = 640.0;
const H: f64 = 220.0;
/// Margins: left (axis labels), right, top, bottom (dates).
const ML: f64 = 48.0;
const MR: f64 = 12.0;
const MT: f64 = 12.0;
const MB: f64 = 28.0;

/// The palette, one class per series position (colours in the page's style sheet, chosen to
/// stay apart for the common colour-vision deficiencies).
pub const SERIES_CLASSES: usize = 6;

/// A date for an axis or a tooltip: `2026-11-02`.
pub fn date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// A value as the charts print it: integers plain, others to one decimal.
pub fn value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A "nice" upper bound for the value axis.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let exp = max.log10().floor();
    let base = 10f64.powf(exp);
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if max <= m * base {
            return m * base;
        }
    }
    10.0 * base
}

/// Draws a chart: lines with their points, axes, a legend and the data as a table.
pub fn line_chart(c: &Chart, from: i64, to: i64) -> Markup {
    let all = c.series.iter().flat_map(|s| s.points.iter());
    let max = nice_max(all.clone().map(|p| p.value).fold(0.0, f64::max));
    let span = (to - from).max(1) as f64;
    let x = |at: i64| ML + (at - from) as f64 / span * (W - ML - MR);
    let y = |v: f64| MT + (1.0 - v / max) * (H - MT - MB);
    let ticks = [0.0, max / 2.0, max];
    let label = format!(
        "{}: {} line(s) from {} to {}",
        c.title,
        c.series.len(),
        date(from),
        date(to)
    );
    html! {
        figure.chart id=(format!("chart-{}", c.id)) data-chart=(c.id) {
            figcaption { (c.title) " " span.unit { "(" (c.unit) ")" } }
            @if let Some(why) = &c.empty_because {
                p.empty { "Not measured: " (why) }
            } @else {
                svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(label) {
                    title { (label) }
                    @for t in ticks {
                        line.grid x1=(ML) x2=(W - MR) y1=(y(t)) y2=(y(t)) {}
                        text.tick x=(ML - 6.0) y=(y(t) + 4.0) text-anchor="end" { (value(t)) }
                    }
                    text.tick x=(ML) y=(H - 8.0) text-anchor="start" { (date(from)) }
                    text.tick x=(W - MR) y=(H - 8.0) text-anchor="end" { (date(to)) }
                    @for (i, s) in c.series.iter().enumerate() {
                        g class=(format!("series s{}", i % SERIES_CLASSES)) data-series=(s.name) {
                            polyline fill="none" points=(s.points.iter().map(|p| format!("{:.1},{:.1}", x(p.at), y(p.value))).collect::<Vec<_>>().join(" ")) {}
                            @for p in &s.points {
                                circle cx=(format!("{:.1}", x(p.at))) cy=(format!("{:.1}", y(p.value))) r="2.5"
                                    data-x=(date(p.at)) data-y=(value(p.value)) {
                                    title { (s.name) ", " (date(p.at)) ": " (value(p.value)) " " (c.unit) }
                                }
                            }
                        }
                    }
                }
                ul.legend {
                    @for (i, s) in c.series.iter().enumerate() {
                        li { span class=(format!("swatch s{}", i % SERIES_CLASSES)) aria-hidden="true" {} (s.name) }
                    }
                }
                details.data {
                    summary { "Data" }
                    table {
                        thead { tr { th scope="col" { "date" } @for s in &c.series { th scope="col" { (s.name) } } } }
                        tbody {
                            @for at in dates(c) {
                                tr {
                                    th scope="row" { (date(at)) }
                                    @for s in &c.series {
                                        td { (s.points.iter().find(|p| p.at == at).map(|p| value(p.value)).unwrap_or_default()) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Every date any series has a point at, in order.
fn dates(c: &Chart) -> Vec<i64> {
    let mut d: Vec<i64> = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.at))
        .collect();
    d.sort_unstable();
    d.dedup();
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{Point, Series};

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(13.0), 20.0);
        assert_eq!(nice_max(230.0), 250.0);
    }

    #[test]
    fn every_point_is_a_circle_with_its_date_and_value() {
        let c = Chart {
            id: "t".into(),
            title: "T <b>".into(),
            unit: "x".into(),
            series: vec![Series {
                name: "a\"b".into(),
                points: vec![
                    Point {
                        at: 86_400_000,
                        value: 2.0,
                    },
                    Point {
                        at: 2 * 86_400_000,
                        value: 0.5,
                    },
                ],
            }],
            empty_because: None,
        };
        let s = line_chart(&c, 0, 2 * 86_400_000).into_string();
        assert_eq!(s.matches("<circle").count(), 2);
        assert!(s.contains(r#"data-x="1970-01-02" data-y="2""#));
        assert!(s.contains(r#"data-x="1970-01-03" data-y="0.5""#));
        assert!(s.contains("T &lt;b&gt;"));
        assert!(s.contains(r#"data-series="a&quot;b""#));
    }
}
