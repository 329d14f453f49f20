//! One SBOM entry (a CycloneDX component or an SPDX package) turned into a [`Package`] the way
//! rampart's catalogers would have built it.

use std::collections::BTreeMap;

use super::{SkipReason, Skipped};
use crate::catalog::{clean_path, parse_source, parse_source_rpm};
use crate::{Distro, Ecosystem, Package, PackageLocation, Purl, SourcePackage};

/// What the format readers extract from an entry.
#[derive(Debug, Default)]
pub(super) struct Entry {
    /// Place in document order.
    pub seq: usize,
    /// JSON path (`components[3]`).
    pub at: String,
    pub name: Option<String>,
    pub version: Option<String>,
    /// CycloneDX `group` (maven group id when there is no purl).
    pub group: Option<String>,
    pub purl: Option<String>,
    /// Tool properties (CycloneDX `properties`; Trivy's SPDX annotations as properties).
    pub props: Vec<(String, String)>,
    pub licenses: Vec<String>,
    pub locations: Vec<PackageLocation>,
    /// A source package the format states outright (SPDX `sourceInfo`).
    pub source: Option<(String, Option<String>)>,
}

/// An operating-system entry.
#[derive(Debug, Default)]
pub(super) struct OsHint {
    pub id: Option<String>,
    pub version: Option<String>,
    pub codename: Option<String>,
}

impl Entry {
    /// The first non-empty value of property `key`.
    pub fn prop(&self, key: &str) -> Option<&str> {
        prop(&self.props, key)
    }

    pub fn skipped(&self, reason: SkipReason) -> Skipped {
        Skipped {
            at: self.at.clone(),
            name: self.name.clone().filter(|n| !n.is_empty()),
            reason,
        }
    }

    /// The entry's purl: parsed, or made from its name, version and an ecosystem a tool
    /// property states when it has none.
    pub fn purl(&self) -> Result<Purl, SkipReason> {
        if let Some(text) = self
            .purl
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            return text.parse::<Purl>().map_err(|error| SkipReason::BadPurl {
                purl: text.to_owned(),
                error,
            });
        }
        let eco = ecosystem_hint(&self.props).ok_or(SkipReason::NoPurl)?;
        let name = self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or(SkipReason::NoPurl)?;
        let (ns, short) = match eco {
            Ecosystem::Maven => (self.group.as_deref(), name),
            Ecosystem::Npm | Ecosystem::Composer | Ecosystem::Go => match name.rsplit_once('/') {
                Some((ns, n)) => (Some(ns), n),
                None => (None, name),
            },
            _ => (None, name),
        };
        Purl::new(eco.purl_type(), ns, short, self.version.as_deref()).map_err(|error| {
            SkipReason::BadPurl {
                purl: format!("{}/{name}", eco.purl_type()),
                error,
            }
        })
    }

    /// The package, in the form rampart's catalogers give it, on `distro` when known.
    pub fn package(&self, purl: &Purl, distro: Option<&Distro>) -> Result<Package, SkipReason> {
        let eco = Ecosystem::from_purl_type(purl.ty())
            .ok_or_else(|| SkipReason::UnsupportedType(purl.ty().to_owned()))?;
        let entry_version = self
            .version
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let version = purl.version().filter(|v| !v.is_empty()).or(entry_version);
        let bad = |error| SkipReason::BadPurl {
            purl: purl.to_string(),
            error,
        };
        let mut pkg = match eco {
            Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => {
                return self.os_package(eco, purl, version, distro);
            }
            Ecosystem::Go => {
                let module = go_module(purl, self.name.as_deref());
                let version = match version {
                    Some(v) if module == "stdlib" => v
                        .strip_prefix("go")
                        .or_else(|| v.strip_prefix('v'))
                        .unwrap_or(v)
                        .to_owned(),
                    Some(v) => v.to_owned(),
                    None => "(devel)".to_owned(),
                };
                let (ns, name) = match module.rsplit_once('/') {
                    Some((ns, n)) => (Some(ns), n),
                    None => (None, module.as_str()),
                };
                let purl_version = (version != "(devel)").then_some(version.as_str());
                let purl = Purl::new("golang", ns, name, purl_version).map_err(bad)?;
                new_package(eco, module.clone(), version, purl)
            }
            _ => {
                let version = version.ok_or(SkipReason::NoVersion)?;
                let ns = purl.namespace().or(match eco {
                    Ecosystem::Maven => self.group.as_deref().filter(|g| !g.is_empty()),
                    _ => None,
                });
                let full = match (eco, ns) {
                    (Ecosystem::Npm | Ecosystem::Composer, Some(ns)) => {
                        format!("{ns}/{}", purl.name())
                    }
                    _ => purl.name().to_owned(),
                };
                // Where purls normalize names (PyPI, composer), the entry's own spelling when it
                // names the same package (`PyYAML` for `pkg:pypi/pyyaml`), as the catalogers keep
                // the package manager's spelling; elsewhere the purl's name is the name.
                let name = match self.name.as_deref() {
                    Some(n) if eco == Ecosystem::PyPI && pep503(n) == pep503(&full) => n.to_owned(),
                    Some(n) if eco == Ecosystem::Composer && n.eq_ignore_ascii_case(&full) => {
                        n.to_owned()
                    }
                    _ => full,
                };
                let short = match (eco, ns) {
                    (Ecosystem::Npm | Ecosystem::Composer, Some(_)) => name
                        .rsplit_once('/')
                        .map_or(name.as_str(), |(_, s)| s)
                        .to_owned(),
                    _ => name.clone(),
                };
                let mut canonical = Purl::new(purl.ty(), ns, &short, Some(version)).map_err(bad)?;
                if eco == Ecosystem::Gem {
                    if let Some(p) = purl.qualifiers().get("platform").filter(|p| *p != "ruby") {
                        canonical = canonical.with_qualifier("platform", p).map_err(bad)?;
                    }
                }
                new_package(eco, name, version.to_owned(), canonical)
            }
        };
        self.add_details(&mut pkg);
        Ok(pkg)
    }

    /// deb, apk and rpm packages: the version with its epoch, the distribution's namespace and
    /// qualifier, architecture and source package.
    fn os_package(
        &self,
        eco: Ecosystem,
        purl: &Purl,
        version: Option<&str>,
        distro: Option<&Distro>,
    ) -> Result<Package, SkipReason> {
        if eco == Ecosystem::Rpm && purl.name() == "gpg-pubkey" {
            return Err(SkipReason::NotSoftware("an rpm signing key (gpg-pubkey)"));
        }
        let version = version.ok_or(SkipReason::NoVersion)?;
        let full = with_epoch(
            version,
            purl.qualifiers().get("epoch").map(String::as_str),
            self.version.as_deref(),
        );
        let name = purl.name().to_owned();
        let arch = purl
            .qualifiers()
            .get("arch")
            .filter(|a| !a.is_empty())
            .cloned();
        let default_ns = match eco {
            Ecosystem::Deb => Some("debian"),
            Ecosystem::Apk => Some("alpine"),
            _ => None,
        };
        let ns = distro
            .map(|d| d.id.as_str())
            .or(purl.namespace())
            .or(default_ns);
        let bad = |error| SkipReason::BadPurl {
            purl: purl.to_string(),
            error,
        };
        // rpm purls keep the epoch in a qualifier, deb purls in the version (as the catalogers
        // write them).
        let (purl_version, epoch) = match (eco, split_epoch(&full)) {
            (Ecosystem::Rpm, Some((e, rest))) => (rest, Some(e)),
            _ => (full.as_str(), None),
        };
        let mut canonical = Purl::new(purl.ty(), ns, &name, Some(purl_version)).map_err(bad)?;
        if let Some(a) = &arch {
            canonical = canonical.with_qualifier("arch", a).map_err(bad)?;
        }
        if let Some(e) = epoch {
            canonical = canonical.with_qualifier("epoch", e).map_err(bad)?;
        }
        if let Some(d) = distro {
            canonical = canonical
                .with_qualifier("distro", &d.purl_qualifier())
                .map_err(bad)?;
        }
        let source = self.source_package(eco, purl, &name, &full);
        let mut pkg = new_package(eco, name, full, canonical);
        pkg.arch = arch;
        pkg.source_package = Some(source);
        self.add_details(&mut pkg);
        Ok(pkg)
    }

    fn add_details(&self, pkg: &mut Package) {
        for l in &self.licenses {
            pkg.add_license(l);
        }
        pkg.locations.clone_from(&self.locations);
    }

    /// The source package of an OS package, from what the SBOM states (SPDX `sourceInfo`,
    /// rampart's, Syft's or Trivy's properties, the purl's `upstream` qualifier), else the
    /// binary package itself, as the catalogers do.
    fn source_package(
        &self,
        eco: Ecosystem,
        purl: &Purl,
        name: &str,
        version: &str,
    ) -> SourcePackage {
        let epoch = split_epoch(version).map(|(e, _)| e);
        let rpm_source = |srpm: &str| {
            parse_source_rpm(srpm).map(|(n, vr)| {
                let v = match epoch {
                    Some(e) => format!("{e}:{vr}"),
                    None => vr.to_owned(),
                };
                (n.to_owned(), Some(v))
            })
        };
        let stated = self
            .source
            .clone()
            .or_else(|| {
                let n = self.prop("rampart:package:source-name")?;
                Some((
                    n.to_owned(),
                    self.prop("rampart:package:source-version")
                        .map(str::to_owned),
                ))
            })
            .or_else(|| match eco {
                Ecosystem::Deb => Some((
                    self.prop("syft:metadata:source")?.to_owned(),
                    self.prop("syft:metadata:sourceVersion").map(str::to_owned),
                )),
                Ecosystem::Rpm => rpm_source(self.prop("syft:metadata:sourceRpm")?),
                Ecosystem::Apk => {
                    Some((self.prop("syft:metadata:originPackage")?.to_owned(), None))
                }
                _ => None,
            })
            .or_else(|| {
                let n = self.prop("aquasecurity:trivy:SrcName")?;
                let v = self.prop("aquasecurity:trivy:SrcVersion").map(|v| {
                    let mut s = String::new();
                    if let Some(e) = self
                        .prop("aquasecurity:trivy:SrcEpoch")
                        .filter(|e| *e != "0")
                    {
                        s.push_str(e);
                        s.push(':');
                    }
                    s.push_str(v);
                    if let Some(r) = self.prop("aquasecurity:trivy:SrcRelease") {
                        s.push('-');
                        s.push_str(r);
                    }
                    s
                });
                Some((n.to_owned(), v))
            })
            .or_else(|| {
                let up = purl.qualifiers().get("upstream")?;
                match eco {
                    Ecosystem::Rpm => rpm_source(up),
                    // Syft writes `name@version` (or the name alone) for deb and apk.
                    _ => Some(match up.split_once('@') {
                        Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                        None => {
                            let (n, v) = parse_source(up);
                            (n.to_owned(), v.map(str::to_owned))
                        }
                    }),
                }
            });
        match stated {
            Some((n, v)) if !n.trim().is_empty() => SourcePackage {
                name: n.trim().to_owned(),
                version: v
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| version.to_owned()),
            },
            _ => SourcePackage {
                name: name.to_owned(),
                version: version.to_owned(),
            },
        }
    }
}

fn new_package(eco: Ecosystem, name: String, version: String, purl: Purl) -> Package {
    Package {
        name,
        version,
        ecosystem: eco,
        purl,
        licenses: Vec::new(),
        source_package: None,
        locations: Vec::new(),
        arch: None,
    }
}

/// Whether `purl` parses and is of a type rampart matches.
pub(super) fn supported_purl(purl: Option<&str>) -> bool {
    purl.and_then(|p| p.trim().parse::<Purl>().ok())
        .is_some_and(|p| Ecosystem::from_purl_type(p.ty()).is_some())
}

/// The first non-empty value of `key` in `props`.
pub(super) fn prop<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(k, v)| k == key && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
}

/// The ecosystem a tool's property states (rampart's `rampart:package:ecosystem`, Syft's
/// `syft:package:type`, Trivy's `aquasecurity:trivy:PkgType`), for entries without a purl.
pub(super) fn ecosystem_hint(props: &[(String, String)]) -> Option<Ecosystem> {
    if let Some(e) = prop(props, "rampart:package:ecosystem").and_then(Ecosystem::from_purl_type) {
        return Some(e);
    }
    if let Some(t) = prop(props, "syft:package:type") {
        return Some(match t {
            "deb" => Ecosystem::Deb,
            "apk" => Ecosystem::Apk,
            "rpm" => Ecosystem::Rpm,
            "python" => Ecosystem::PyPI,
            "npm" => Ecosystem::Npm,
            "go-module" => Ecosystem::Go,
            "rust-crate" => Ecosystem::Cargo,
            "java-archive" | "jenkins-plugin" => Ecosystem::Maven,
            "gem" => Ecosystem::Gem,
            "php-composer" => Ecosystem::Composer,
            "dotnet" => Ecosystem::NuGet,
            _ => return None,
        });
    }
    let t = prop(props, "aquasecurity:trivy:PkgType")?;
    Some(match t {
        "debian" | "ubuntu" => Ecosystem::Deb,
        "alpine" | "wolfi" | "chainguard" => Ecosystem::Apk,
        "redhat"
        | "centos"
        | "rocky"
        | "alma"
        | "amazon"
        | "oracle"
        | "fedora"
        | "photon"
        | "cbl-mariner"
        | "azurelinux"
        | "suse linux enterprise server"
        | "suse linux enterprise micro"
        | "opensuse.leap"
        | "opensuse.tumbleweed"
        | "opensuse" => Ecosystem::Rpm,
        "python-pkg" | "pip" | "pipenv" | "poetry" | "uv" => Ecosystem::PyPI,
        "node-pkg" | "npm" | "yarn" | "pnpm" | "bun" => Ecosystem::Npm,
        "gobinary" | "gomod" => Ecosystem::Go,
        "cargo" | "rustbinary" => Ecosystem::Cargo,
        "jar" | "pom" | "gradle" | "sbt" => Ecosystem::Maven,
        "gemspec" | "bundler" => Ecosystem::Gem,
        "composer" | "composer-vendor" => Ecosystem::Composer,
        "nuget" | "dotnet-core" | "packages-props" => Ecosystem::NuGet,
        _ => return None,
    })
}

/// The Go module path of a golang purl: namespace and name (and a major-version subpath such as
/// `#v3`, which some tools put there); the entry's own name when it spells the same path, since
/// some tools lowercase purls.
fn go_module(purl: &Purl, entry_name: Option<&str>) -> String {
    let base = match purl.namespace() {
        Some(ns) => format!("{ns}/{}", purl.name()),
        None => purl.name().to_owned(),
    };
    let with_sub = purl.subpath().map(|s| format!("{base}/{s}"));
    match entry_name {
        Some(n) if n.eq_ignore_ascii_case(&base) => n.to_owned(),
        Some(n)
            if with_sub
                .as_deref()
                .is_some_and(|w| n.eq_ignore_ascii_case(w)) =>
        {
            n.to_owned()
        }
        _ => match (with_sub, purl.subpath()) {
            (Some(w), Some(s)) if is_major_suffix(s) => w,
            _ => base,
        },
    }
}

/// `v2`, `v10`: a Go major-version path suffix.
fn is_major_suffix(s: &str) -> bool {
    s.strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// PEP 503 normalized name: lowercase, runs of `-`, `_`, `.` as one `-`.
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `1:2.3-4` -> (`1`, `2.3-4`) when the part before the first colon is a number.
fn split_epoch(version: &str) -> Option<(&str, &str)> {
    version.split_once(':').filter(|(e, rest)| {
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty()
    })
}

/// The version with its epoch: as written when it has one; else with the purl's `epoch`
/// qualifier; else the entry's own version when that is this one with an epoch (tools that
/// drop the epoch from the purl keep it there).
fn with_epoch(version: &str, epoch_qualifier: Option<&str>, entry_version: Option<&str>) -> String {
    if split_epoch(version).is_some() {
        return version.to_owned();
    }
    if let Some(e) = epoch_qualifier
        .map(str::trim)
        .filter(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
    {
        return format!("{e}:{version}");
    }
    match entry_version.map(str::trim).and_then(split_epoch) {
        Some((e, rest)) if rest == version => format!("{e}:{version}"),
        _ => version.to_owned(),
    }
}

/// A distribution's id, version and codename.
type DistroParts = (String, Option<String>, Option<String>);

/// The distribution: the first operating-system entry with a usable id (its version filled in
/// from the OS purls' `distro` qualifier when missing), else the `distro` qualifier most OS
/// purls carry.
pub(super) fn resolve_distro<'a>(
    os: &[OsHint],
    purls: impl Iterator<Item = &'a Purl>,
) -> Option<Distro> {
    // (id, version) from each OS purl's qualifier, counted; the first seen wins ties.
    let mut votes: BTreeMap<DistroParts, (usize, usize)> = BTreeMap::new();
    for (i, p) in purls
        .filter(|p| matches!(p.ty(), "deb" | "rpm" | "apk"))
        .enumerate()
    {
        if let Some(q) = p.qualifiers().get("distro").map(|q| q.trim()) {
            if let Some(parsed) = parse_distro_qualifier(q, p.namespace()) {
                let slot = votes.entry(parsed).or_insert((0, i));
                slot.0 += 1;
            }
        }
    }
    let from_purls = votes
        .into_iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then_with(|| b.1.1.cmp(&a.1.1)))
        .map(|(k, _)| k);
    let stated = os.iter().find_map(|h| {
        let id = h.id.as_deref()?.trim().to_lowercase();
        (!id.is_empty() && id != "none" && id != "unknown").then(|| {
            (
                id,
                h.version.clone().filter(|v| !v.trim().is_empty()),
                h.codename.clone().filter(|c| !c.trim().is_empty()),
            )
        })
    });
    let (id, version_id, codename) = match (stated, from_purls) {
        (Some((id, v, c)), Some((pid, pv, pc))) if pid == id => (id, v.or(pv), c.or(pc)),
        (Some(s), _) => s,
        (None, Some(p)) => p,
        (None, None) => return None,
    };
    let version_id = version_id.map(|v| debian_major(&id, v.trim()));
    Some(Distro {
        id,
        version_id,
        codename,
    })
}

/// `debian-12` -> (debian, 12); `rhel-9.3` -> (rhel, 9.3); `bookworm` (with namespace `debian`)
/// -> (debian, none, codename bookworm).
fn parse_distro_qualifier(q: &str, namespace: Option<&str>) -> Option<DistroParts> {
    if q.is_empty() {
        return None;
    }
    // `<namespace>-<version>`, as rampart and Syft write it.
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
        if let Some(version) = q
            .get(..ns.len())
            .filter(|p| p.eq_ignore_ascii_case(ns))
            .and_then(|_| q.get(ns.len()..))
            .and_then(|r| r.strip_prefix('-'))
            .filter(|v| !v.is_empty())
        {
            return Some((ns.to_lowercase(), Some(version.to_owned()), None));
        }
    }
    // Else the id ends at the first `-` followed by a digit.
    let split = q
        .char_indices()
        .find(|&(i, c)| {
            c == '-'
                && q.get(i + 1..)
                    .and_then(|r| r.chars().next())
                    .is_some_and(|d| d.is_ascii_digit())
        })
        .map(|(i, _)| i);
    match split {
        Some(i) => {
            let id = q.get(..i)?.to_lowercase();
            let version = q.get(i + 1..)?.to_owned();
            (!id.is_empty()).then_some((id, Some(version), None))
        }
        None => match namespace {
            // The id alone, as rampart writes it for a distribution without version.
            Some(ns) if q.eq_ignore_ascii_case(ns) => Some((ns.to_lowercase(), None, None)),
            Some(ns) if !ns.is_empty() => Some((ns.to_lowercase(), None, Some(q.to_owned()))),
            _ => Some((q.to_lowercase(), None, None)),
        },
    }
}

/// Debian's os-release `VERSION_ID` is the major release (`12`); tools that read
/// `/etc/debian_version` state the point release (`12.11`).
fn debian_major(id: &str, version: &str) -> String {
    if id == "debian" {
        if let Some((major, minor)) = version.split_once('.') {
            if !major.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
            {
                return major.to_owned();
            }
        }
    }
    version.to_owned()
}

/// Locations from the properties rampart (`rampart:location:<i>:path|layer`), Syft
/// (`syft:location:<i>:path|layerID`) and Trivy (`aquasecurity:trivy:FilePath`,
/// `LayerDiffID`/`LayerDigest`) write.
pub(super) fn locations_from_props(props: &[(String, String)]) -> Vec<PackageLocation> {
    let mut indexed: BTreeMap<(u8, u64), (Option<String>, Option<String>)> = BTreeMap::new();
    for (k, v) in props {
        let (tool, rest) = if let Some(r) = k.strip_prefix("rampart:location:") {
            (0u8, r)
        } else if let Some(r) = k.strip_prefix("syft:location:") {
            (1u8, r)
        } else {
            continue;
        };
        let Some((i, field)) = rest.split_once(':') else {
            continue;
        };
        let Ok(i) = i.parse::<u64>() else { continue };
        let slot = indexed.entry((tool, i)).or_default();
        match field {
            "path" => slot.0 = Some(v.clone()),
            "layer" | "layerID" => slot.1 = Some(v.clone()),
            _ => {}
        }
    }
    let mut out: Vec<PackageLocation> = indexed
        .into_values()
        .filter_map(|(path, layer)| location(&path?, layer))
        .collect();
    if let Some(path) = prop(props, "aquasecurity:trivy:FilePath") {
        let layer = prop(props, "aquasecurity:trivy:LayerDiffID")
            .or_else(|| prop(props, "aquasecurity:trivy:LayerDigest"))
            .map(str::to_owned);
        out.extend(location(path, layer));
    }
    out
}

/// A location at `path` (absolute inside the image, as the inventory records it: `/app/x`),
/// `None` for an empty path.
pub(super) fn location(path: &str, layer: Option<String>) -> Option<PackageLocation> {
    let p = clean_path(path.trim());
    (!p.is_empty()).then(|| PackageLocation {
        path: format!("/{p}"),
        layer: layer.filter(|l| !l.trim().is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs() {
        assert_eq!(with_epoch("2.66-4", Some("1"), None), "1:2.66-4");
        assert_eq!(with_epoch("1:2.66-4", Some("1"), None), "1:2.66-4");
        assert_eq!(with_epoch("2.66-4", None, Some("1:2.66-4")), "1:2.66-4");
        assert_eq!(with_epoch("2.66-4", None, Some("2.66-4")), "2.66-4");
        assert_eq!(with_epoch("2.66-4", Some("x"), Some("3:2.66-5")), "2.66-4");
        assert_eq!(split_epoch("a:1"), None);
        assert_eq!(split_epoch("12:"), None);
    }

    #[test]
    fn distro_qualifiers() {
        let p = |q: &str, ns: Option<&str>| parse_distro_qualifier(q, ns);
        assert_eq!(
            p("debian-12", Some("debian")),
            Some(("debian".into(), Some("12".into()), None))
        );
        assert_eq!(
            p("rhel-9.3", Some("redhat")),
            Some(("rhel".into(), Some("9.3".into()), None))
        );
        assert_eq!(
            p("bookworm", Some("debian")),
            Some(("debian".into(), None, Some("bookworm".into())))
        );
        assert_eq!(
            p("opensuse-leap-15.5", None),
            Some(("opensuse-leap".into(), Some("15.5".into()), None))
        );
        // The namespace's own prefix, whatever follows (found by fuzzing: a round trip changed
        // `debian-(2.11` into a codename).
        assert_eq!(
            p("debian-(2.11", Some("debian")),
            Some(("debian".into(), Some("(2.11".into()), None))
        );
        assert_eq!(
            p("alpine", Some("alpine")),
            Some(("alpine".into(), None, None))
        );
        assert_eq!(debian_major("debian", "12.11"), "12");
        assert_eq!(debian_major("debian", "12"), "12");
        assert_eq!(debian_major("ubuntu", "24.04"), "24.04");
        assert_eq!(debian_major("debian", "trixie/sid"), "trixie/sid");
    }

    #[test]
    fn pep503_names() {
        assert_eq!(pep503("Typing__Extensions"), "typing-extensions");
        assert_eq!(pep503("zope.interface"), "zope-interface");
    }
}
