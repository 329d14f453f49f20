//! The open filter in the kernel's layout (bpf/sensor.h: `struct open_filter`, `struct
//! name_key`): rampart-falco's [`OpenFilter`], fitted to what the kernel holds, as the bytes of
//! the `open_filter` map's value and the entries of `open_names`.

use rampart_falco::prefilter::{OpenClause, OpenFilter, TargetFilter};

/// Clauses the kernel holds (OPEN_CLAUSES).
pub const CLAUSES: usize = 16;
/// Bytes of a name in a key, with its NUL (OPEN_NAME).
pub const NAME: usize = 60;
/// Bytes of a suffix, with its NUL (OPEN_SUFFIX).
pub const SUFFIX: usize = 32;
/// Bytes of the substring field (OPEN_RAW).
pub const RAW: usize = 16;
/// The longest substring the kernel searches for (it keeps the last 8 bytes in a word).
pub const RAW_MAX: usize = 8;
/// `struct open_clause`.
const CLAUSE_BYTES: usize = 72;
/// `struct open_filter`.
pub const VALUE_BYTES: usize = 8 + CLAUSES * CLAUSE_BYTES;
/// `struct name_key`.
pub const KEY_BYTES: usize = 4 + NAME;

const USE_BASE: u8 = 1;
const USE_PARENT: u8 = 2;
const USE_SUFFIX: u8 = 4;
const USE_RAW: u8 = 8;

/// The map contents for a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The `open_filter` value.
    pub value: [u8; VALUE_BYTES],
    /// The `open_names` entries: key, bit per clause.
    pub names: Vec<([u8; KEY_BYTES], u32)>,
    /// The filter as the kernel applies it (after fitting).
    pub applied: OpenFilter,
    /// The symlink filter as the kernel applies it.
    pub applied_symlinks: TargetFilter,
}

fn key(which: u32, name: &str) -> [u8; KEY_BYTES] {
    let mut k = Vec::with_capacity(KEY_BYTES);
    k.extend_from_slice(&which.to_ne_bytes());
    k.extend(name.bytes().take(NAME - 1));
    k.resize(KEY_BYTES, 0);
    <[u8; KEY_BYTES]>::try_from(k).unwrap_or([0; KEY_BYTES])
}

/// `s` in a field of `len` bytes, NUL-padded (at most `len - 1` bytes of it).
fn field(out: &mut Vec<u8>, s: Option<&str>, len: usize) {
    let start = out.len();
    out.extend(s.unwrap_or("").bytes().take(len - 1));
    out.resize(start + len, 0);
}

/// `on` bits (FILTER_OPENS, FILTER_SYMLINKS).
const FILTER_OPENS: u32 = 1;
const FILTER_SYMLINKS: u32 = 2;

/// Encodes the filters (fitted to the kernel's room first: weaker, never narrower).
pub fn encode(filter: &OpenFilter, symlinks: &TargetFilter) -> Encoded {
    let applied = filter.fit(CLAUSES, NAME - 1, RAW_MAX);
    let applied_symlinks = symlinks.fit(NAME - 1);
    let mut names: std::collections::BTreeMap<[u8; KEY_BYTES], u32> = Default::default();
    let mut on = 0u32;
    if let TargetFilter::Targets(t) = &applied_symlinks {
        on |= FILTER_SYMLINKS;
        for target in t {
            names.insert(key(2, target), 1);
        }
    }
    let mut clauses: Vec<u8> = Vec::with_capacity(CLAUSES * CLAUSE_BYTES);
    let mut n = 0u32;
    if let OpenFilter::Clauses(cs) = &applied {
        on |= FILTER_OPENS;
        for (i, c) in cs.iter().enumerate().take(CLAUSES) {
            clause(&mut clauses, c);
            n += 1;
            let bit = 1u32 << i;
            for (which, set) in [(0u32, &c.base), (1u32, &c.parent)] {
                for name in set.iter().flatten() {
                    *names.entry(key(which, name)).or_default() |= bit;
                }
            }
        }
    }
    let mut value = Vec::with_capacity(VALUE_BYTES);
    value.extend_from_slice(&on.to_ne_bytes());
    value.extend_from_slice(&n.to_ne_bytes());
    value.extend_from_slice(&clauses);
    value.resize(VALUE_BYTES, 0);
    Encoded {
        value: <[u8; VALUE_BYTES]>::try_from(value).unwrap_or([0; VALUE_BYTES]),
        names: names.into_iter().collect(),
        applied,
        applied_symlinks,
    }
}

/// `struct open_clause`, appended to `out`.
fn clause(out: &mut Vec<u8>, c: &OpenClause) {
    let mut used = 0;
    if c.base.is_some() {
        used |= USE_BASE;
    }
    if c.parent.is_some() {
        used |= USE_PARENT;
    }
    if c.base_suffix.is_some() {
        used |= USE_SUFFIX;
    }
    if c.raw_contains.is_some() {
        used |= USE_RAW;
    }
    let len = |s: &Option<String>| s.as_ref().map_or(0, |s| u8::try_from(s.len()).unwrap_or(0));
    out.extend_from_slice(&c.flags_all.to_ne_bytes());
    out.extend_from_slice(&c.flags_none.to_ne_bytes());
    out.extend_from_slice(&c.caps_all.to_ne_bytes());
    out.extend_from_slice(&[
        c.access,
        c.result,
        c.place,
        used,
        len(&c.base_suffix),
        len(&c.raw_contains),
        0,
        0,
    ]);
    field(out, c.base_suffix.as_deref(), SUFFIX);
    field(out, c.raw_contains.as_deref(), RAW);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn clauses_and_names_land_where_the_kernel_reads_them() {
        let mut a = OpenClause::top();
        a.access = 0b0101;
        a.result = 1;
        a.base = Some(BTreeSet::from(["shadow".to_owned(), "sudoers".to_owned()]));
        let mut b = OpenClause::top();
        b.flags_all = 0o1000;
        b.caps_all = 1 << 21;
        b.place = 2;
        b.base_suffix = Some("release_agent".into());
        b.raw_contains = Some("../".into());
        b.base = Some(BTreeSet::from(["shadow".to_owned()]));
        b.base_suffix = None;
        let e = encode(
            &OpenFilter::Clauses(vec![a.clone(), b.clone()]),
            &TargetFilter::All {
                reason: "test".into(),
            },
        );
        assert_eq!(e.applied, OpenFilter::Clauses(vec![a, b]));
        assert_eq!(&e.value[..8], &[1, 0, 0, 0, 2, 0, 0, 0]);
        let c0 = &e.value[8..80];
        assert_eq!((c0[16], c0[17], c0[18], c0[19]), (0b0101, 1, 3, USE_BASE));
        let c1 = &e.value[80..152];
        assert_eq!(u32::from_ne_bytes([c1[0], c1[1], c1[2], c1[3]]), 0o1000);
        assert_eq!(&c1[8..16], &(1u64 << 21).to_ne_bytes());
        assert_eq!((c1[18], c1[19], c1[21]), (2, USE_BASE | USE_RAW, 3));
        assert_eq!(&c1[56..59], b"../");
        // "shadow" is in both clauses' sets: one key, two bits
        let shadow = e
            .names
            .iter()
            .find(|(k, _)| &k[4..10] == b"shadow")
            .expect("key");
        assert_eq!(shadow.1, 0b11);
        assert_eq!(&shadow.0[..4], &[0, 0, 0, 0]);
        assert_eq!(e.names.len(), 2);
    }

    #[test]
    fn no_filter_is_off_in_the_kernel() {
        let all = || OpenFilter::All {
            reason: "test".into(),
        };
        let e = encode(
            &all(),
            &TargetFilter::All {
                reason: "test".into(),
            },
        );
        assert_eq!(&e.value[..4], &[0, 0, 0, 0]);
        assert!(e.names.is_empty());
        // symlinks only: their targets under `which` 2
        let e = encode(
            &all(),
            &TargetFilter::Targets(BTreeSet::from(["/etc/shadow".to_owned()])),
        );
        assert_eq!(&e.value[..4], &[2, 0, 0, 0]);
        assert_eq!(e.names.len(), 1);
        assert_eq!(&e.names[0].0[..4], &[2, 0, 0, 0]);
        assert_eq!(&e.names[0].0[4..16], b"/etc/shadow\0");
    }
}
