//! Hostile input: no panic, bounded time, and a diagnostic where something is wrong.

use rampart_dockerfile::{ScanInput, parse, scan};
use std::time::{Duration, Instant};

/// Generous: debug builds on a loaded 2-core CI machine.
const BUDGET: Duration = Duration::from_secs(20);

fn timed_scan(text: &str) -> (usize, usize) {
    let start = Instant::now();
    let (a, diags) = scan(&ScanInput {
        path: "Dockerfile",
        text,
        has_dockerignore: false,
    });
    let took = start.elapsed();
    assert!(took < BUDGET, "took {took:?} on {} bytes", text.len());
    (a.findings.len(), diags.len())
}

#[test]
fn unterminated_heredoc() {
    let (_, d) = timed_scan("FROM alpine:3.19\nRUN <<EOF\necho hi\n");
    assert_eq!(d, 1);
    let p = parse("FROM alpine:3.19\nRUN <<EOF\necho hi\n");
    assert!(p.diagnostics[0].message.contains("unterminated heredoc"));
    assert_eq!(p.diagnostics[0].line, 2);
}

#[test]
fn many_heredoc_markers_on_one_line() {
    let text = format!(
        "FROM alpine:3.19\nRUN cat {}\nbody\n",
        "<<EOF ".repeat(100_000)
    );
    let (_, d) = timed_scan(&text);
    assert!(d > 0);
}

#[test]
fn hundred_thousand_continuation_lines() {
    let mut text = String::from("FROM debian:12\nRUN apt-get install -y \\\n");
    for i in 0..100_000 {
        text.push_str(&format!("    pkg{i}-dev \\\n"));
        if i % 1000 == 0 {
            text.push_str("# a comment inside\n\n");
        }
    }
    text.push_str("    last\nUSER 1\n");
    let (findings, d) = timed_scan(&text);
    assert_eq!(d, 0);
    assert!(findings > 0);
    let p = parse(&text);
    let run = &p.dockerfile.instructions[1];
    assert_eq!(run.line, 2);
    assert!(run.end_line > 100_000);
}

#[test]
fn ten_megabyte_single_lines() {
    let big = "a ".repeat(5_000_000);
    timed_scan(&format!("FROM alpine:3.19\nRUN echo {big}\n"));
    timed_scan(&format!(
        "FROM alpine:3.19\nENV SECRET_TOKEN={}\n",
        "x".repeat(10_000_000)
    ));
    timed_scan(&format!(
        "FROM alpine:3.19\nEXPOSE {}\n",
        "80 ".repeat(3_000_000)
    ));
    timed_scan(&format!(
        "FROM alpine:3.19\nCOPY {} /dst\n",
        "ab ".repeat(3_000_000)
    ));
    timed_scan(&format!(
        "FROM alpine:3.19\nRUN {} true\n",
        "--x=1 ".repeat(1_000_000)
    ));
    timed_scan(&format!(
        "FROM alpine:3.19\nENV {}\n",
        "A=$A ".repeat(1_000_000)
    ));
    timed_scan(&"x".repeat(10_000_000));
}

#[test]
fn deeply_nested_substitution() {
    let nested = format!("{}x{}", "${A:-".repeat(100_000), "}".repeat(100_000));
    let (_, d) = timed_scan(&format!(
        "FROM alpine:3.19\nENV B={nested}\nUSER {nested}\n"
    ));
    assert!(d > 0);
    let unclosed = "${".repeat(100_000);
    let (_, d) = timed_scan(&format!("FROM alpine:3.19\nWORKDIR {unclosed}\n"));
    assert!(d > 0);
    let json = format!("FROM alpine:3.19\nCMD {}\n", "[".repeat(100_000));
    let (_, d) = timed_scan(&json);
    assert!(d > 0);
}

#[test]
fn binary_garbage_and_nul_bytes() {
    // A deterministic pseudo-random byte soup, made valid UTF-8 by lossy conversion.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..2_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let text = String::from_utf8_lossy(&bytes);
    let (_, d) = timed_scan(&text);
    assert!(d > 0);
    assert!(
        d <= rampart_dockerfile::MAX_DIAGNOSTICS + 1,
        "diagnostics are capped"
    );
    let p = parse("FROM alpine\0:3\nRUN a\0b\n");
    assert!(p.diagnostics.iter().any(|d| d.message.contains("nul byte")));
}

#[test]
fn huge_realistic_file() {
    let unit = "FROM debian:12 AS s\nRUN apt-get update && apt-get install -y curl gcc \\\n    && rm -rf /var/lib/apt/lists/*\nENV API_TOKEN=abc\nCOPY . .\nUSER root\n";
    let text = unit.repeat(20_000);
    let (findings, _) = timed_scan(&text);
    assert!(findings > 20_000);
}

#[test]
fn lone_carriage_returns_and_odd_whitespace() {
    timed_scan("FROM alpine:3.19\rRUN x\r\r\n\u{a0}RUN\u{2003}y\n\t\t\n\\\n\\");
    timed_scan("\\\n\\\n\\");
    timed_scan("FROM a\nRUN <<\nRUN <<-\nRUN <<''\nCOPY <<EOF\n");
}
