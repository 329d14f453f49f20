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

/// rpm's own Python binding (Debian's python3-rpm, on the system Python): `rpm.ver` splits the
/// EVR, `rpm.labelCompare` compares (a missing release as `None`) and refuses an empty version.
#[test]
fn rpm_agrees_with_rpm_label_compare() {
    ensure_tools(&["/usr/lib/python3/dist-packages/rpm/__init__.py:python3-rpm"]);
    let mut rng = Rng::new(0x4e3);
    let alphabet = [
        "0", "1", "9", ".", "~", "^", "-", ":", "_", "+", "a", "Z", "é", " ",
    ];
    let batch = pairs(3000, &mut rng, rpm_version, rpm_variant, &alphabet);
    let dir = tempfile::tempdir().unwrap();
    let driver = script(
        dir.path(),
        "rpm_oracle.py",
        r#"import sys, rpm
lines = sys.stdin.buffer.read().decode('ascii').split('\n')
def parse(s):
    try:
        v = rpm.ver(s)
        evr = (v.e, v.v, v.r)
        rpm.labelCompare(evr, evr)  # refuses an empty version part
        return evr
    except (ValueError, TypeError):
        return None
out = []
for i in range(0, len(lines) - 1, 2):
    a, b = (parse(bytes.fromhex(x).decode('utf-8')) for x in lines[i:i + 2])
    c = rpm.labelCompare(a, b) if a and b else 'x'
    out.append(f"{int(a is not None)} {int(b is not None)} {c}")
print('\n'.join(out))
"#,
    );
    let verdicts = ask("/usr/bin/python3", &[&driver], &batch);
    agree(
        Scheme::Rpm,
        "rpm.labelCompare",
        &batch,
        &verdicts,
        |_, _, _, _| false,
    );
}

fn rpm_version(rng: &mut Rng) -> String {
    if rng.chance(6) {
        // No version part: what rpm refuses.
        return format!(
            "{}{}",
            rng.pick(&["", "1:", ":", "01:"]),
            rng.pick(&["", "-", "-1", "-1.el9"])
        );
    }
    let mut s = String::new();
    if rng.chance(20) {
        s.push_str(rng.pick(&["0:", "1:", "2:", "10:", "00:", ":"]));
    }
    s.push_str(&rng.number(true));
    for _ in 0..rng.below(5) {
        s.push_str(rng.pick(&[
            ".", ".", ".", "~", "^", "_", "+", "a", "rc", "git", "el", "Z", "~rc", "^post",
        ]));
        if rng.chance(60) {
            s.push_str(&rng.number(true));
        }
    }
    if rng.chance(70) {
        s.push('-');
        s.push_str(rng.pick(&[
            "1", "1.el9", "0.1.rc1", "2.fc40", "1~bpo", "13.el9_2", "", "1^git",
        ]));
    }
    s
}

/// Equal for rpm: another separator, a `0:` epoch, `1a` for `1.a`, leading zeros.
fn rpm_variant(rng: &mut Rng, s: &str) -> String {
    match rng.below(4) {
        0 => s.replacen('.', "_", 1),
        1 if !s.contains(':') => format!("0:{s}"),
        2 => s.replacen('.', ".0", 1),
        _ => s.replacen('.', "+.", 1),
    }
}

/// Python's `packaging.version.Version` (pinned in scripts/install-oracles.sh).
#[test]
fn pep440_agrees_with_packaging() {
    let python = oracles().join("venv/bin/python");
    let mut rng = Rng::new(0x9e9);
    let alphabet = [
        "0", "1", "9", ".", "-", "_", "!", "+", "a", "b", "c", "r", "post", "dev", "v", "V", " ",
        "é", "\u{a0}",
    ];
    let batch = pairs(4000, &mut rng, pep440_version, pep440_variant, &alphabet);
    let dir = tempfile::tempdir().unwrap();
    let driver = script(
        dir.path(),
        "pep440.py",
        r#"import sys
from packaging.version import Version
lines = sys.stdin.buffer.read().decode('ascii').split('\n')
def parse(s):
    try:
        return Version(s)
    except ValueError:
        return None
out = []
for i in range(0, len(lines) - 1, 2):
    a, b = (parse(bytes.fromhex(x).decode('utf-8')) for x in lines[i:i + 2])
    c = ((a > b) - (a < b)) if a is not None and b is not None else 'x'
    out.append(f"{int(a is not None)} {int(b is not None)} {c}")
print('\n'.join(out))
"#,
    );
    let verdicts = ask(&python.to_string_lossy(), &[&driver], &batch);
    agree(
        Scheme::Pep440,
        "packaging",
        &batch,
        &verdicts,
        |_, _, _, _| false,
    );
}

fn pep440_version(rng: &mut Rng) -> String {
    let mut s = String::new();
    if rng.chance(5) {
        s.push_str(rng.pick(&[" ", "\t", "\u{a0}", "\u{85}"]));
    }
    if rng.chance(5) {
        s.push(rng.pick(&['v', 'V']));
    }
    if rng.chance(10) {
        s.push_str(&format!("{}!", rng.number(true)));
    }
    let n = 1 + rng.below(4);
    let release: Vec<String> = (0..n).map(|_| rng.number(true)).collect();
    s.push_str(&release.join("."));
    let sep = |rng: &mut Rng| rng.pick(&["", "", ".", "-", "_"]);
    if rng.chance(30) {
        s.push_str(sep(rng));
        s.push_str(rng.pick(&[
            "a", "alpha", "b", "beta", "c", "rc", "pre", "preview", "A", "RC", "Beta",
        ]));
        s.push_str(sep(rng));
        if rng.chance(80) {
            s.push_str(&rng.number(true));
        }
    }
    if rng.chance(20) {
        if rng.chance(30) {
            s.push_str(&format!("-{}", rng.number(true)));
        } else {
            s.push_str(sep(rng));
            s.push_str(rng.pick(&["post", "rev", "r", "POST"]));
            s.push_str(sep(rng));
            if rng.chance(70) {
                s.push_str(&rng.number(true));
            }
        }
    }
    if rng.chance(20) {
        s.push_str(sep(rng));
        s.push_str(rng.pick(&["dev", "DEV"]));
        s.push_str(sep(rng));
        if rng.chance(70) {
            s.push_str(&rng.number(true));
        }
    }
    if rng.chance(15) {
        s.push('+');
        let k = 1 + rng.below(3);
        let parts: Vec<&str> = (0..k)
            .map(|_| rng.pick(&["ubuntu", "1", "abc", "01", "deb12u1", "Z", "0"]))
            .collect();
        let sep = rng.pick(&[".", "-", "_"]);
        s.push_str(&parts.join(sep));
    }
    s
}

/// Equal for packaging: case, leading zeros, spellings, separators, white space.
fn pep440_variant(rng: &mut Rng, s: &str) -> String {
    match rng.below(5) {
        0 => s.to_uppercase(),
        1 => s.replacen('.', ".0", 1),
        2 => format!(" {s}\n"),
        3 => s
            .replace("alpha", "a")
            .replace("preview", "rc")
            .replace("rev", "post"),
        _ => format!("{s}.0"),
    }
}

/// Maven's own `ComparableVersion`, from Debian's maven-artifact jar, in one `java` process.
#[test]
fn maven_agrees_with_comparable_version() {
    ensure_tools(&["java:default-jdk-headless", "mvn:maven"]);
    let jar = "/usr/share/maven/lib/maven-artifact-3.x.jar";
    let props = std::process::Command::new("unzip")
        .args([
            "-p",
            jar,
            "META-INF/maven/org.apache.maven/maven-artifact/pom.properties",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    eprintln!(
        "maven-artifact jar: {}",
        props
            .lines()
            .find(|l| l.starts_with("version="))
            .unwrap_or("version unknown")
    );
    let mut rng = Rng::new(0x3a7e);
    let alphabet = [
        "0", "1", "9", ".", "-", "a", "b", "m", "rc", "sp", "ga", "X", "é", "_", "",
    ];
    let batch = pairs(4000, &mut rng, maven_version, maven_variant, &alphabet);
    let dir = tempfile::tempdir().unwrap();
    let source = script(
        dir.path(),
        "Cmp.java",
        r#"import org.apache.maven.artifact.versioning.ComparableVersion;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

public class Cmp {
    public static void main(String[] args) throws Exception {
        String[] lines = new String(System.in.readAllBytes(), StandardCharsets.US_ASCII).split("\n", -1);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i + 1 < lines.length; i += 2) {
            String a = new String(HexFormat.of().parseHex(lines[i]), StandardCharsets.UTF_8);
            String b = new String(HexFormat.of().parseHex(lines[i + 1]), StandardCharsets.UTF_8);
            int c = Integer.signum(new ComparableVersion(a).compareTo(new ComparableVersion(b)));
            out.append("1 1 ").append(c).append('\n');
        }
        System.out.print(out);
    }
}
"#,
    );
    let verdicts = ask("java", &["-cp", jar, &source], &batch);
    // Maven's exact algorithm agrees on every pair.
    for ((a, b), v) in batch.iter().zip(&verdicts) {
        let exact = rampart_version::maven_comparable_version(a, b);
        assert_eq!(
            Some(exact),
            v.order,
            "exact ComparableVersion of {a:?} vs {b:?}"
        );
    }
    // The scheme's total order differs from it only where items of different kinds meet whose
    // relation to a missing item contradicts Maven's order of kinds (src/maven.rs): excused.
    agree(
        Scheme::Maven,
        "ComparableVersion",
        &batch,
        &verdicts,
        |_, _, _, _| true,
    );
    // The cycle that makes Maven's own order unusable as an `Ord` (the jar agrees, above),
    // and how the scheme breaks it.
    let exact = rampart_version::maven_comparable_version;
    assert!(exact("1", "1-sp").is_lt() && exact("1-sp", "1-0-rc").is_lt());
    assert!(exact("1-0-rc", "1").is_lt());
    let v = |s: &str| Scheme::Maven.parse(s).unwrap();
    assert!(v("1-0-rc") < v("1") && v("1") < v("1-sp") && v("1-0-rc") < v("1-sp"));
}

fn maven_version(rng: &mut Rng) -> String {
    let mut s = rng.number(true);
    for _ in 0..rng.below(5) {
        s.push_str(rng.pick(&[".", ".", "-", ""]));
        if rng.chance(50) {
            s.push_str(&rng.number(true));
        } else {
            s.push_str(rng.pick(&[
                "alpha",
                "a",
                "beta",
                "b",
                "milestone",
                "m",
                "rc",
                "cr",
                "RC",
                "snapshot",
                "SNAPSHOT",
                "ga",
                "final",
                "Final",
                "release",
                "GA",
                "sp",
                "foo",
                "x",
                "jre",
                "android",
                "",
            ]));
        }
    }
    s
}

/// Equal for Maven: trailing null items, case, aliases.
fn maven_variant(rng: &mut Rng, s: &str) -> String {
    match rng.below(5) {
        0 => format!(
            "{s}{}",
            rng.pick(&[".0", "-0", ".final", "-ga", ".0.0", "-release"])
        ),
        1 => s.to_uppercase(),
        2 => s.replace("alpha", "a").replace("cr", "rc"),
        3 => s.replacen('.', ".0", 1),
        _ => s.replacen('.', "-", 1),
    }
}

/// Ruby's `Gem::Version` (Debian's ruby), in one `ruby` process.
#[test]
fn rubygems_agrees_with_gem_version() {
    ensure_tools(&["ruby:ruby"]);
    let mut rng = Rng::new(0x6e3);
    let alphabet = ["0", "1", "9", ".", "-", "a", "Z", " ", "_", "é", "\n"];
    let batch = pairs(
        4000,
        &mut rng,
        rubygems_version,
        rubygems_variant,
        &alphabet,
    );
    let dir = tempfile::tempdir().unwrap();
    let driver = script(
        dir.path(),
        "gem.rb",
        r##"lines = STDIN.binmode.read.split("\n", -1)
parse = lambda do |s|
  Gem::Version.new(s)
rescue ArgumentError
  nil
end
out = []
(0...(lines.size - 1)).step(2) do |i|
  a, b = lines[i, 2].map { |x| parse.call([x].pack('H*').force_encoding('UTF-8')) }
  c = a && b ? (a <=> b) : 'x'
  out << "#{a ? 1 : 0} #{b ? 1 : 0} #{c}"
end
puts out.join("\n")
"##,
    );
    let verdicts = ask("ruby", &[&driver], &batch);
    agree(
        Scheme::RubyGems,
        "Gem::Version",
        &batch,
        &verdicts,
        |_, _, _, _| false,
    );
}

fn rubygems_version(rng: &mut Rng) -> String {
    let mut s = rng.number(true);
    for _ in 0..rng.below(4) {
        s.push('.');
        if rng.chance(60) {
            s.push_str(&rng.number(true));
        } else {
            s.push_str(rng.pick(&[
                "a", "pre", "rc", "beta", "B", "z", "alpha", "rc1", "1a", "0",
            ]));
        }
    }
    if rng.chance(20) {
        s.push('-');
        s.push_str(rng.pick(&["1", "pre", "rc.1", "x-y", "a.0", "-"]));
    }
    if rng.chance(3) {
        s = rng.pick(&["", " ", "\t\n"]).to_owned();
    }
    s
}

/// Equal for RubyGems: trailing zeros, `-` for `.pre.`, white space.
fn rubygems_variant(rng: &mut Rng, s: &str) -> String {
    match rng.below(4) {
        0 => format!("{s}.0"),
        1 => s.replacen('-', ".pre.", 1),
        2 => format!("\t{s} \n"),
        _ => s.replacen('.', ".0.", 1),
    }
}
