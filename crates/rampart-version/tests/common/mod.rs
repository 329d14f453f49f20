//! Helpers of the differential tests: the oracles' installation, a seeded generator, the batch
//! protocol spoken with every oracle, and the comparison of verdicts.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_version::Scheme;
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

pub use rampart_testkit::tools::ensure_tools;

/// The oracles' cache directory (scripts/install-oracles.sh: the venv with `packaging`, npm's
/// `semver`), installed on first use; fails the test when they cannot be installed.
pub fn oracles() -> &'static Path {
    rampart_testkit::oracles::dir()
}

/// A small deterministic generator (SplitMix64), so every run checks the same pairs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A small number, sometimes with leading zeros or large.
    pub fn number(&mut self, leading_zeros: bool) -> String {
        let n = match self.below(10) {
            0..=5 => self.below(10),
            6 | 7 => self.below(100),
            8 => self.below(100_000),
            _ => self.next() as usize % 10_000_000_000,
        };
        if leading_zeros && self.chance(8) {
            format!("0{n}")
        } else {
            n.to_string()
        }
    }

    /// `s` with one to three random edits drawn from `alphabet` (insert, delete, replace,
    /// bump a digit): versions near `s`, valid or not.
    pub fn mutate(&mut self, s: &str, alphabet: &[&str]) -> String {
        let mut chars: Vec<String> = s.chars().map(String::from).collect();
        for _ in 0..1 + self.below(3) {
            let at = self.below(chars.len() + 1);
            match self.below(4) {
                0 => chars.insert(at, self.pick(alphabet).to_owned()),
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                2 if at < chars.len() => chars[at] = self.pick(alphabet).to_owned(),
                _ => {
                    if let Some(d) = chars
                        .iter_mut()
                        .rev()
                        .find(|c| c.len() == 1 && c.as_bytes()[0].is_ascii_digit())
                    {
                        let v = d.as_bytes()[0] - b'0';
                        *d = ((v + 1) % 10).to_string();
                    }
                }
            }
        }
        chars.concat()
    }
}

/// Lowercase hex of the UTF-8 bytes: the line protocol with the oracles (no quoting, any byte).
pub fn hex(s: &str) -> String {
    s.bytes().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// What an oracle said of a pair: each side valid or not, and their order when both are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub a_valid: bool,
    pub b_valid: bool,
    pub order: Option<Ordering>,
}

/// Sends every pair to one oracle process (`program args`): stdin gets two hex lines per pair,
/// stdout must answer one line per pair, `VA VB ORDER` (`1`/`0` for valid/invalid, then
/// `-1`/`0`/`1`, or `x` when a side is invalid).
pub fn ask(program: &str, args: &[&str], pairs: &[(String, String)]) -> Vec<Verdict> {
    let mut input = String::new();
    for (a, b) in pairs {
        input.push_str(&hex(a));
        input.push('\n');
        input.push_str(&hex(b));
        input.push('\n');
    }
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run the oracle {program}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "oracle {program} {args:?} failed ({}):\n{}\n{}",
        out.status,
        stdout.chars().take(2000).collect::<String>(),
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<Verdict> = stdout
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 3, "oracle line {line:?}");
            Verdict {
                a_valid: f[0] == "1",
                b_valid: f[1] == "1",
                order: match f[2] {
                    "-1" => Some(Ordering::Less),
                    "0" => Some(Ordering::Equal),
                    "1" => Some(Ordering::Greater),
                    _ => None,
                },
            }
        })
        .collect();
    assert_eq!(
        verdicts.len(),
        pairs.len(),
        "oracle answered {} of {} pairs",
        verdicts.len(),
        pairs.len()
    );
    verdicts
}

/// rampart's verdict on a pair.
pub fn ours(scheme: Scheme, a: &str, b: &str) -> Verdict {
    let (x, y) = (scheme.parse(a), scheme.parse(b));
    let order = match (&x, &y) {
        (Ok(x), Ok(y)) => Some(x.cmp(y)),
        _ => None,
    };
    Verdict {
        a_valid: x.is_ok(),
        b_valid: y.is_ok(),
        order,
    }
}

/// Fails with the first disagreeing pairs, unless `excused` explains a pair (documented
/// differences only); checks the batch was not vacuous (enough valid pairs of each order and
/// enough invalid versions). Returns how many pairs agreed and how many were excused.
pub fn agree(
    scheme: Scheme,
    oracle: &str,
    pairs: &[(String, String)],
    verdicts: &[Verdict],
    excused: impl Fn(&str, &str, &Verdict, &Verdict) -> bool,
) -> (usize, usize) {
    let mut bad = Vec::new();
    let (mut agreed, mut excuses) = (0, 0);
    let mut counts = [0usize; 4];
    for ((a, b), theirs) in pairs.iter().zip(verdicts) {
        let mine = ours(scheme, a, b);
        match theirs.order {
            Some(Ordering::Less) => counts[0] += 1,
            Some(Ordering::Equal) => counts[1] += 1,
            Some(Ordering::Greater) => counts[2] += 1,
            None => counts[3] += 1,
        }
        if mine == *theirs {
            agreed += 1;
        } else if excused(a, b, &mine, theirs) {
            excuses += 1;
        } else {
            bad.push(format!(
                "  {a:?} vs {b:?}: {oracle} says {theirs:?}, rampart says {mine:?}"
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{scheme:?}: {} of {} pairs disagree with {oracle}; the first:\n{}",
        bad.len(),
        pairs.len(),
        bad.iter().take(25).cloned().collect::<Vec<_>>().join("\n")
    );
    let n = pairs.len();
    // Every oracle but Maven's (which accepts any text) refuses some of the versions.
    let expect_invalid = scheme != Scheme::Maven;
    assert!(
        counts[..3].iter().all(|&c| c * 25 >= n) && (!expect_invalid || counts[3] * 25 >= n),
        "{scheme:?}: the generated batch is too one-sided (less, equal, greater, invalid): {counts:?}"
    );
    assert!(
        excuses * 10 <= n,
        "{scheme:?}: {excuses} of {n} pairs excused"
    );
    eprintln!(
        "{scheme:?} vs {oracle}: {agreed} pairs agree, {excuses} excused (less, equal, greater, invalid: {counts:?})"
    );
    (agreed, excuses)
}

/// Builds `n` pairs from a version generator: a third near each other (`mutate`), a fifth
/// equal by the scheme's normalization (`variant`), the rest independent.
pub fn pairs(
    n: usize,
    rng: &mut Rng,
    generate: impl Fn(&mut Rng) -> String,
    variant: impl Fn(&mut Rng, &str) -> String,
    alphabet: &[&str],
) -> Vec<(String, String)> {
    (0..n)
        .map(|_| {
            let a = generate(rng);
            let b = match rng.below(15) {
                0..=4 => rng.mutate(&a, alphabet),
                5..=7 => variant(rng, &a),
                8 => a.clone(),
                _ => generate(rng),
            };
            if rng.chance(50) { (a, b) } else { (b, a) }
        })
        .collect()
}

/// Writes `text` to `dir/name` and returns its path.
pub fn script(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}
