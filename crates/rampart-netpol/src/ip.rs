//! IPv4 address ranges: CIDR blocks with their `except` blocks, and the disjoint ranges the
//! connection list cuts the outside world into.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// An inclusive range of IPv4 addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Range {
    /// the first address
    pub lo: u32,
    /// the last address
    pub hi: u32,
}

impl Range {
    /// Every IPv4 address.
    pub const ALL: Range = Range {
        lo: 0,
        hi: u32::MAX,
    };

    /// Whether `other` lies within this range.
    pub fn covers(&self, other: &Range) -> bool {
        self.lo <= other.lo && other.hi <= self.hi
    }

    /// Whether the two ranges share an address.
    pub fn overlaps(&self, other: &Range) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }
}

impl fmt::Display for Range {
    /// `0.0.0.0-9.255.255.255` (netpol-analyzer's spelling).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", Ipv4Addr::from(self.lo), Ipv4Addr::from(self.hi))
    }
}

/// A CIDR block as written in an `ipBlock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cidr {
    /// an IPv4 block
    V4(Range),
    /// an IPv6 block (validated; the connection list covers IPv4 only)
    V6(String),
}

/// Parses `a.b.c.d/n` or an IPv6 `x::/n`. The address must be the block's first (the API
/// server accepts host bits set; the block is then the network it lies in, as here).
pub fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let (addr, len) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} is not a CIDR block (address/prefix length)"))?;
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("{s:?}: {addr:?} is not an IP address"))?;
    let len: u8 = len
        .parse()
        .map_err(|_| format!("{s:?}: {len:?} is not a prefix length"))?;
    match addr {
        IpAddr::V4(a) => {
            if len > 32 {
                return Err(format!("{s:?}: an IPv4 prefix is at most 32 bits"));
            }
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            let lo = u32::from(a) & mask;
            Ok(Cidr::V4(Range { lo, hi: lo | !mask }))
        }
        IpAddr::V6(_) => {
            if len > 128 {
                return Err(format!("{s:?}: an IPv6 prefix is at most 128 bits"));
            }
            Ok(Cidr::V6(s.to_owned()))
        }
    }
}

/// An `ipBlock`: a block minus its exceptions (IPv4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// the block
    pub cidr: Range,
    /// the exceptions, each within the block
    pub except: Vec<Range>,
}

impl Block {
    /// Whether the block holds every address of `r` (r must not straddle a boundary: the
    /// ranges of [`atoms`] never do).
    pub fn holds(&self, r: &Range) -> bool {
        self.cidr.covers(r) && !self.except.iter().any(|e| e.overlaps(r))
    }

    /// The addresses where the block starts or stops holding.
    fn cuts(&self, out: &mut Vec<u32>) {
        for r in std::iter::once(&self.cidr).chain(&self.except) {
            out.push(r.lo);
            if let Some(next) = r.hi.checked_add(1) {
                out.push(next);
            }
        }
    }
}

/// The IPv4 space cut at every boundary of `blocks`: disjoint ranges, in order, covering every
/// address, each wholly in or wholly out of every block.
pub fn atoms<'a>(blocks: impl IntoIterator<Item = &'a Block>) -> Vec<Range> {
    let mut cuts = vec![0u32];
    for b in blocks {
        b.cuts(&mut cuts);
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::with_capacity(cuts.len());
    for (i, lo) in cuts.iter().enumerate() {
        let hi = cuts.get(i + 1).map_or(u32::MAX, |next| next - 1);
        out.push(Range { lo: *lo, hi });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Range {
        match parse_cidr(s).unwrap() {
            Cidr::V4(r) => r,
            Cidr::V6(_) => panic!("{s}"),
        }
    }

    #[test]
    fn blocks_cut_the_space_at_their_edges() {
        let b = Block {
            cidr: v4("10.0.0.0/8"),
            except: vec![v4("10.11.0.0/16")],
        };
        let a: Vec<String> = atoms([&b]).iter().map(Range::to_string).collect();
        assert_eq!(
            a,
            [
                "0.0.0.0-9.255.255.255",
                "10.0.0.0-10.10.255.255",
                "10.11.0.0-10.11.255.255",
                "10.12.0.0-10.255.255.255",
                "11.0.0.0-255.255.255.255"
            ]
        );
        let held: Vec<bool> = atoms([&b]).iter().map(|r| b.holds(r)).collect();
        assert_eq!(held, [false, true, false, true, false]);
        assert_eq!(
            atoms([&Block {
                cidr: Range::ALL,
                except: vec![]
            }]),
            [Range::ALL]
        );
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("10.0.0.0").is_err());
        assert!(parse_cidr("2001:db8::/32").is_ok());
        assert_eq!(v4("10.1.2.3/8"), v4("10.0.0.0/8"));
    }
}
