//! Differential tests: thousands of generated pairs per scheme, sent in one batch to the
//! ecosystem's own implementation; rampart must accept exactly what it accepts and order
//! exactly as it orders. Each oracle is installed when missing (the test fails, never skips,
//! when it cannot be).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Rng, agree, ask, ensure_tools, oracles, pairs, script};
use rampart_version::Scheme;

/// dpkg itself (`dpkg --compare-versions`), driven by one perl process.
#[test]
fn dpkg_agrees_with_dpkg() {
    ensure_tools(&["dpkg:dpkg", "perl:perl-base"]);
    let mut rng = Rng::new(0xd9c6);
    let alphabet = [
        "0", "1", "2", "9", ".", "~", "+", "-", ":", "a", "z", "A", "Z", " ", "\t", "é", "$", "_",
    ];
    let mut batch = pairs(3000, &mut rng, dpkg_version, dpkg_variant, &alphabet);
    // `dpkg --compare-versions` reads an empty argument (and `<unknown>`) as "no version"; an
    // empty version is an error everywhere else in dpkg, and rampart rejects it (unit tests).
    batch.retain(|(a, b)| ![a, b].iter().any(|s| s.is_empty() || *s == "<unknown>"));
    let dir = tempfile::tempdir().unwrap();
    let driver = script(
        dir.path(),
        "dpkg.pl",
        r#"use strict; use warnings;
open(STDERR, '>', '/dev/null');
my @l = map { chomp; pack('H*', $_) } <STDIN>;
sub cmpv { system('dpkg', '--compare-versions', '--', $_[0], $_[1], $_[2]); return $? >> 8 }
for (my $i = 0; $i + 1 < @l; $i += 2) {
  my ($a, $b) = @l[$i, $i + 1];
  my $lt = cmpv($a, 'lt', $b);
  if ($lt == 0) { print "1 1 -1\n" }
  elsif ($lt == 1) { print "1 1 ", (cmpv($a, 'eq', $b) == 0 ? 0 : 1), "\n" }
  else { print cmpv($a, 'eq', $a) == 2 ? 0 : 1, " ", cmpv($b, 'eq', $b) == 2 ? 0 : 1, " x\n" }
}
"#,
    );
    let verdicts = ask("perl", &[&driver], &batch);
    agree(Scheme::Dpkg, "dpkg", &batch, &verdicts, |_, _, _, _| false);
}

fn dpkg_version(rng: &mut Rng) -> String {
    let mut s = String::new();
    if rng.chance(20) {
        s.push_str(rng.pick(&["0:", "1:", "2:", "10:", "01:", "+1:"]));
    }
    if rng.chance(95) {
        s.push_str(&rng.number(true));
    }
    for _ in 0..rng.below(5) {
        let piece = rng.pick(&[
            ".", ".", ".", "~", "~~", "+", "a", "b", "rc", "dfsg", "ubuntu", "git", "Z", "é",
        ]);
        s.push_str(piece);
        if rng.chance(70) {
            s.push_str(&rng.number(true));
        }
    }
    if rng.chance(60) {
        s.push('-');
        s.push_str(rng.pick(&[
            "1",
            "0",
            "2",
            "1ubuntu1",
            "2+deb12u1",
            "1~bpo12+1",
            "0.1",
            "a",
        ]));
    }
    s
}

/// Equal for dpkg: a `0:` epoch, a `-0` revision, leading zeros, surrounding blanks.
fn dpkg_variant(rng: &mut Rng, s: &str) -> String {
    match rng.below(4) {
        0 if !s.contains(':') => format!("0:{s}"),
        1 if !s.contains('-') => format!("{s}-0"),
        2 => format!(" {s}\t"),
        _ => s.replacen('.', ".0", 1),
    }
}

/// npm's `semver` package (pinned in scripts/install-oracles.sh), one `node` process.
#[test]
fn semver_agrees_with_npm_semver() {
    ensure_tools(&["node:nodejs"]);
    let semver = oracles().join("semver");
    let mut rng = Rng::new(0x5e3e);
    let alphabet = [
        "0", "1", "9", ".", "-", "+", "v", "V", "a", "z", "Z", " ", "=", "00", "é",
    ];
    let batch = pairs(4000, &mut rng, semver_version, semver_variant, &alphabet);
    let dir = tempfile::tempdir().unwrap();
    let driver = script(
        dir.path(),
        "semver.js",
        r#"const semver = require(process.argv[2]);
const lines = require('fs').readFileSync(0, 'latin1').split('\n');
const out = [];
const valid = (v) => { try { new semver.SemVer(v); return true } catch (e) { return false } };
for (let i = 0; i + 1 < lines.length; i += 2) {
  const a = Buffer.from(lines[i], 'hex').toString('utf8');
  const b = Buffer.from(lines[i + 1], 'hex').toString('utf8');
  const va = valid(a), vb = valid(b);
  out.push(`${va ? 1 : 0} ${vb ? 1 : 0} ${va && vb ? semver.compare(a, b) : 'x'}`);
}
process.stdout.write(out.join('\n') + '\n');
"#,
    );
    let verdicts = ask("node", &[&driver, &semver.to_string_lossy()], &batch);
    agree(
        Scheme::SemVer,
        "npm semver",
        &batch,
        &verdicts,
        |_, _, _, _| false,
    );
}

fn semver_version(rng: &mut Rng) -> String {
    let mut s = String::new();
    if rng.chance(20) {
        s.push('v');
    }
    let big = [
        "9007199254740991",
        "9007199254740992",
        "12345678901234567890",
    ];
    let num = |rng: &mut Rng| {
        if rng.chance(3) {
            rng.pick(&big).to_owned()
        } else {
            rng.number(true)
        }
    };
    let (x, y, z) = (num(rng), num(rng), num(rng));
    s.push_str(&format!("{x}.{y}.{z}"));
    if rng.chance(55) {
        s.push('-');
        let n = 1 + rng.below(4);
        let ids: Vec<String> = (0..n)
            .map(|i| match rng.below(6) {
                0 | 1 => rng.number(true),
                2 if i + 1 == n => rng
                    .pick(&["9007199254740993", "9007199254740992", "99999999999999999"])
                    .to_owned(),
                _ => rng
                    .pick(&[
                        "alpha",
                        "beta",
                        "rc",
                        "0a",
                        "x-y",
                        "-",
                        "Alpha",
                        "pre",
                        "20191109021931-daa7c04131f5",
                    ])
                    .to_owned(),
            })
            .collect();
        s.push_str(&ids.join("."));
    }
    if rng.chance(25) {
        s.push('+');
        s.push_str(rng.pick(&["build.1", "001", "sha.5114f85", "x-y-z", "exp.sha.5114f85"]));
    }
    s
}

/// Equal for npm: build metadata, a `v`, surrounding white space.
fn semver_variant(rng: &mut Rng, s: &str) -> String {
    match rng.below(4) {
        0 => format!("{s}+build.{}", rng.below(9)),
        1 if !s.starts_with('v') => format!("v{s}"),
        2 => format!(" \u{a0}{s}\u{feff}"),
        _ => s.split('+').next().unwrap_or(s).to_owned(),
    }
}
