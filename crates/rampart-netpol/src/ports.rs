//! Sets of connections: per protocol (SCTP, TCP, UDP), a set of port ranges in 1..=65535,
//! kept as sorted, disjoint, non-adjacent intervals so that equal sets are equal values.

use std::fmt;

use serde::Serialize;

/// A transport protocol a NetworkPolicy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Protocol {
    /// SCTP
    #[serde(rename = "SCTP")]
    Sctp,
    /// TCP (the default)
    #[serde(rename = "TCP")]
    Tcp,
    /// UDP
    #[serde(rename = "UDP")]
    Udp,
}

impl Protocol {
    /// Every protocol, in the order connection lists print them.
    pub const ALL: [Protocol; 3] = [Protocol::Sctp, Protocol::Tcp, Protocol::Udp];

    /// From the API's spelling (`TCP`, `UDP`, `SCTP`; case as written).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Sctp => "SCTP",
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }

    fn index(self) -> usize {
        match self {
            Protocol::Sctp => 0,
            Protocol::Tcp => 1,
            Protocol::Udp => 2,
        }
    }
}

/// The lowest and highest port.
pub const MIN_PORT: u16 = 1;
/// The highest port.
pub const MAX_PORT: u16 = 65535;

/// A set of ports: sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSet(Vec<(u16, u16)>);

impl PortSet {
    /// Every port.
    pub fn all() -> PortSet {
        PortSet(vec![(MIN_PORT, MAX_PORT)])
    }

    /// One range (empty when `lo > hi`).
    pub fn range(lo: u16, hi: u16) -> PortSet {
        let lo = lo.max(MIN_PORT);
        if lo > hi {
            PortSet::default()
        } else {
            PortSet(vec![(lo, hi)])
        }
    }

    /// No port.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every port.
    pub fn is_all(&self) -> bool {
        self.0 == [(MIN_PORT, MAX_PORT)]
    }

    /// The ranges.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.0
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        self.0.iter().any(|(lo, hi)| *lo <= port && port <= *hi)
    }

    /// The union.
    pub fn union(&self, other: &PortSet) -> PortSet {
        let mut all: Vec<(u16, u16)> = self.0.iter().chain(&other.0).copied().collect();
        all.sort_unstable();
        let mut out: Vec<(u16, u16)> = Vec::with_capacity(all.len());
        for (lo, hi) in all {
            match out.last_mut() {
                // overlapping or adjacent: one range
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        PortSet(out)
    }

    /// The intersection.
    pub fn intersect(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(a), Some(b)) = (self.0.get(i), other.0.get(j)) {
            let lo = a.0.max(b.0);
            let hi = a.1.min(b.1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a.1 < b.1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        PortSet(out)
    }

    /// The ports of `self` not in `other`.
    pub fn minus(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        for &(lo, hi) in &self.0 {
            let mut from = u32::from(lo);
            for &(olo, ohi) in &other.0 {
                if u32::from(ohi) < from || olo > hi {
                    continue;
                }
                if u32::from(olo) > from {
                    out.push((from as u16, olo - 1));
                }
                from = u32::from(ohi) + 1;
            }
            if from <= u32::from(hi) {
                out.push((from as u16, hi));
            }
        }
        PortSet(out)
    }
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (lo, hi)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

/// A set of connections: the ports allowed per protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ConnSet([PortSet; 3]);

impl ConnSet {
    /// Every protocol and port.
    pub fn all() -> ConnSet {
        ConnSet([PortSet::all(), PortSet::all(), PortSet::all()])
    }

    /// Nothing.
    pub fn none() -> ConnSet {
        ConnSet::default()
    }

    /// The ports of one protocol.
    pub fn of(protocol: Protocol, ports: PortSet) -> ConnSet {
        let mut c = ConnSet::default();
        if let Some(p) = c.0.get_mut(protocol.index()) {
            *p = ports;
        }
        c
    }

    /// The ports allowed for a protocol.
    pub fn ports(&self, protocol: Protocol) -> &PortSet {
        // the index is the enum's own, always in range
        &self.0[protocol.index()]
    }

    /// Nothing allowed.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(PortSet::is_empty)
    }

    /// Everything allowed.
    pub fn is_all(&self) -> bool {
        self.0.iter().all(PortSet::is_all)
    }

    /// The union.
    pub fn union(&self, other: &ConnSet) -> ConnSet {
        ConnSet(std::array::from_fn(|i| self.0[i].union(&other.0[i])))
    }

    /// The intersection.
    pub fn intersect(&self, other: &ConnSet) -> ConnSet {
        ConnSet(std::array::from_fn(|i| self.0[i].intersect(&other.0[i])))
    }

    /// What `self` allows that `other` does not.
    pub fn minus(&self, other: &ConnSet) -> ConnSet {
        ConnSet(std::array::from_fn(|i| self.0[i].minus(&other.0[i])))
    }

    /// Whether every connection of `self` is in `other`.
    pub fn is_subset(&self, other: &ConnSet) -> bool {
        self.minus(other).is_empty()
    }
}

impl fmt::Display for ConnSet {
    /// netpol-analyzer's spelling: `All Connections`, `No Connections`, else
    /// `SCTP 9090,TCP 1-65535,UDP 53` (protocols in that order, their ports as ranges).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("All Connections");
        }
        if self.is_empty() {
            return f.write_str("No Connections");
        }
        let mut first = true;
        for p in Protocol::ALL {
            let ports = self.ports(p);
            if ports.is_empty() {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{} {ports}", p.as_str())?;
        }
        Ok(())
    }
}

impl Serialize for ConnSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_print_as_netpol_analyzer_prints_them() {
        let c = ConnSet::of(
            Protocol::Tcp,
            PortSet::range(80, 80).union(&PortSet::range(443, 443)),
        )
        .union(&ConnSet::of(Protocol::Udp, PortSet::range(53, 53)))
        .union(&ConnSet::of(Protocol::Sctp, PortSet::range(9090, 9090)));
        assert_eq!(c.to_string(), "SCTP 9090,TCP 80,443,UDP 53");
        assert_eq!(ConnSet::all().to_string(), "All Connections");
        let tcp_all = ConnSet::of(Protocol::Tcp, PortSet::all());
        assert_eq!(tcp_all.to_string(), "TCP 1-65535");
        // adjacent ranges join
        assert_eq!(
            PortSet::range(8080, 8085)
                .union(&PortSet::range(8086, 8090))
                .to_string(),
            "8080-8090"
        );
    }
}
