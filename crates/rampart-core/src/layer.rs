use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// One step less severe (never below `Info`): used for findings in build stages that do not
    /// ship, where the weakness exists but is not in the running container.
    pub fn lowered(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity `{s}`: expected one of critical, high, medium, low, info")
            })
    }
}

/// The defense-in-depth layers, from the outside in. Each is useful alone; a report shows, for
/// each, whether it was assessed and how it held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// How the image is built: the Dockerfile.
    Build,
    /// What is inside the image: packages, vulnerabilities, secrets, setuid files.
    Image,
    /// Provenance: signatures, attestations, digest pinning.
    SupplyChain,
    /// The cluster's gate: admission control, Pod Security enforcement.
    Admission,
    /// The kernel interface of the running container: privileges, capabilities, seccomp,
    /// read-only root, non-root, sandbox runtimes, resource limits.
    Runtime,
    /// Network segmentation: NetworkPolicy default deny, exposed ports.
    Network,
    /// Identities and secrets: RBAC, service-account tokens, secret handling.
    Access,
    /// Detection at run time: shells, sensitive reads, unexpected connections.
    Monitoring,
    /// Isolation from the node: host namespaces, hostPath, host ports.
    Host,
}

impl Layer {
    pub const ALL: [Layer; 9] = [
        Layer::Build,
        Layer::Image,
        Layer::SupplyChain,
        Layer::Admission,
        Layer::Runtime,
        Layer::Network,
        Layer::Access,
        Layer::Monitoring,
        Layer::Host,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Build => "build",
            Layer::Image => "image",
            Layer::SupplyChain => "supply-chain",
            Layer::Admission => "admission",
            Layer::Runtime => "runtime",
            Layer::Network => "network",
            Layer::Access => "access",
            Layer::Monitoring => "monitoring",
            Layer::Host => "host",
        }
    }

    /// What the layer defends, in a few words, for the layer map.
    pub fn describe(self) -> &'static str {
        match self {
            Layer::Build => "Dockerfile hardening",
            Layer::Image => "image contents",
            Layer::SupplyChain => "provenance, pinning, signatures",
            Layer::Admission => "cluster admission gate",
            Layer::Runtime => "privileges, capabilities, seccomp",
            Layer::Network => "network segmentation",
            Layer::Access => "RBAC, tokens, secrets",
            Layer::Monitoring => "runtime detection",
            Layer::Host => "isolation from the node",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Layer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Layer::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown layer `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order_and_parse_round_trip() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>(), Ok(s));
        }
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
        assert_eq!(Severity::Info.lowered(), Severity::Info);
        assert_eq!(Severity::Critical.lowered(), Severity::High);
    }

    #[test]
    fn layer_names_round_trip_and_serialize_like_display() {
        for l in Layer::ALL {
            assert_eq!(l.as_str().parse::<Layer>(), Ok(l));
            assert_eq!(
                serde_json::to_string(&l).ok(),
                Some(format!("\"{}\"", l.as_str()))
            );
        }
    }
}
