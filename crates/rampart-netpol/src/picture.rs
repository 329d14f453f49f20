//! The connectivity graph as a picture: Graphviz DOT, and an SVG drawn here (nodes on a
//! circle, one arrow per connection with its ports), so a picture needs no other program.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::reach::Connection;

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The graph in DOT: a node per endpoint (workloads as boxes, outside ranges as ellipses), an
/// edge per connection labelled with its ports.
pub fn dot(connections: &[Connection]) -> String {
    let mut nodes: BTreeMap<String, bool> = BTreeMap::new();
    for c in connections {
        for e in [&c.src, &c.dst] {
            let external = matches!(e, crate::reach::Endpoint::External { .. });
            nodes.insert(e.to_string(), external);
        }
    }
    let mut out =
        String::from("digraph reachability {\n  rankdir=LR;\n  node [fontname=\"sans-serif\"];\n");
    for (n, external) in &nodes {
        let shape = if *external { "ellipse" } else { "box" };
        let _ = writeln!(out, "  {} [shape={shape}];", dot_quote(n));
    }
    for c in connections {
        let _ = writeln!(
            out,
            "  {} -> {} [label={}];",
            dot_quote(&c.src.to_string()),
            dot_quote(&c.dst.to_string()),
            dot_quote(&c.conns.to_string())
        );
    }
    out.push_str("}\n");
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The graph as a standalone SVG: endpoints on a circle, arrows between them with the ports
/// as their titles (shown on hover) and, when few, as labels.
pub fn svg(connections: &[Connection]) -> String {
    let mut names: Vec<String> = connections
        .iter()
        .flat_map(|c| [c.src.to_string(), c.dst.to_string()])
        .collect();
    names.sort();
    names.dedup();
    let n = names.len().max(1) as f64;
    let radius = (60.0 * n / std::f64::consts::TAU).max(160.0);
    let margin = 260.0;
    let size = 2.0 * (radius + margin);
    let at: BTreeMap<&str, (f64, f64)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let a = std::f64::consts::TAU * i as f64 / n - std::f64::consts::FRAC_PI_2;
            (
                name.as_str(),
                (size / 2.0 + radius * a.cos(), size / 2.0 + radius * a.sin()),
            )
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size:.0}\" height=\"{size:.0}\" viewBox=\"0 0 {size:.0} {size:.0}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    out.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>\n");
    let label_edges = connections.len() <= 40;
    for c in connections {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (
            at.get(c.src.to_string().as_str()),
            at.get(c.dst.to_string().as_str()),
        ) else {
            continue;
        };
        let conns = xml(&c.conns.to_string());
        let _ = write!(
            out,
            "<g class=\"edge\"><title>{} =&gt; {} : {conns}</title><line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#555\" stroke-width=\"1\" marker-end=\"url(#arrow)\"/>",
            xml(&c.src.to_string()),
            xml(&c.dst.to_string())
        );
        if label_edges {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#333\">{conns}</text>",
                (x1 + 2.0 * x2) / 3.0,
                (y1 + 2.0 * y2) / 3.0
            );
        }
        out.push_str("</g>\n");
    }
    for (name, (x, y)) in &at {
        let anchor = if *x < size / 2.0 - 1.0 {
            "end"
        } else {
            "start"
        };
        let dx = if anchor == "end" { -8.0 } else { 8.0 };
        let _ = writeln!(
            out,
            "<g class=\"node\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"#1f6feb\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text></g>",
            x + dx,
            y + 4.0,
            xml(name)
        );
    }
    out.push_str("</svg>\n");
    out
}
