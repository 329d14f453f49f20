//! Java archives: jar, war, ear and the other zip-based Java formats, with nested archives.
//!
//! Identity rules (close to Syft's java cataloger, decided here):
//!
//! - Every `META-INF/maven/<group>/<artifact>/pom.properties` at the archive root with a
//!   non-empty `groupId`, `artifactId` and `version` is a package
//!   `pkg:maven/<groupId>/<artifactId>@<version>`. Shaded dependencies' pom.properties inside an
//!   uber jar are packages too (their classes are in the archive), as Syft does.
//! - The archive's own package is the pom.properties whose artifactId equals the file name's
//!   stem (`log4j-api-2.19.0.jar` → `log4j-api-2.19.0`) or the stem without its version
//!   (`log4j-api`); failing that, the only pom.properties if there is exactly one. It gets the
//!   manifest's `Bundle-License`.
//! - When no pom.properties is the archive's own, the archive still yields a package from its
//!   file name and `META-INF/MANIFEST.MF`: name from the file name (`name-1.2.3.jar`; the version
//!   starts at the last `-`-separated segment that begins with a digit and follows a segment that
//!   does not), else the first of `Bundle-SymbolicName` (without `;` parameters),
//!   `Implementation-Title`, `Specification-Title` without whitespace; version from the file name,
//!   else `Implementation-Version`, `Bundle-Version`, `Specification-Version`. Without a name
//!   and a version there is no package. The Maven group is unknown, so it is guessed: the
//!   manifest's `Implementation-Vendor-Id` (Maven's archiver writes the groupId there), else
//!   `Bundle-SymbolicName`, each only if it looks like a group (dot-separated segments of
//!   letters, digits, `_` and `-`), else the artifact name itself (as Syft falls back to). Its
//!   licenses are the manifest's `Bundle-License`.
//! - Nested archives (any entry whose name ends in a Java archive extension: `WEB-INF/lib/*.jar`
//!   in wars, modules in ears, `BOOT-INF/lib/*.jar` in Spring Boot jars, and `*.rar` resource
//!   adapters inside ears) are read into memory and walked the same way.
//! - Each package's location is the archive's path in the image, plus `:<entry>` for each level
//!   of nesting (`/app/app.war:WEB-INF/lib/x.jar`). The same coordinates found twice in one
//!   archive are one package.
//!
//! Nothing is written to disk, so entry names (`../x`, absolute paths) are only labels. Work is
//! bounded by [`JavaLimits`]: nesting depth, entries per archive (checked against the zip's own
//! end-of-central-directory record before the zip reader allocates for them), bytes read per
//! entry and per nested archive, total bytes decompressed for one top-level archive, the
//! compression ratio of large entries, and packages reported; the list of problems is capped
//! too.

use std::io::{Cursor, Read, Seek, SeekFrom};

use super::java::{Manifest, pom_coordinates};
use crate::{CatalogError, Ecosystem, Package, Purl};

/// Extensions of zip-based Java archives (case-insensitive): jar, war, ear, Jenkins plugins
/// (jpi, hpi), JBoss archives (par, sar), NiFi archives (nar) and Karaf archives (kar). `.rar`
/// (resource adapters) is only walked inside an ear: on its own it is usually a RAR file.
const ARCHIVE_EXTENSIONS: &[&str] = &[
    "jar", "war", "ear", "jpi", "hpi", "par", "sar", "nar", "kar",
];

/// Bounds on the work one top-level archive may cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaLimits {
    /// Archives nested deeper than this below the top-level archive are skipped (the top is 0).
    pub max_depth: usize,
    /// Entries one archive may declare.
    pub max_entries: u64,
    /// Bytes read from one metadata entry (pom.properties, MANIFEST.MF).
    pub max_entry_bytes: u64,
    /// Bytes of one nested archive (it is read into memory).
    pub max_nested_bytes: u64,
    /// Bytes decompressed in total for one top-level archive, nested ones included.
    pub max_total_bytes: u64,
    /// Largest decompressed/compressed ratio accepted for an entry over 1 MiB decompressed.
    pub max_ratio: u64,
    /// Packages reported for one top-level archive; past this, the rest are dropped (and that is
    /// reported in [`JavaArchiveCatalog::skipped`]).
    pub max_packages: usize,
}

/// Problems listed for one top-level archive; past this they are counted in one last entry.
const MAX_SKIPPED: usize = 1000;

impl Default for JavaLimits {
    fn default() -> Self {
        Self {
            max_depth: 4,
            max_entries: 100_000,
            max_entry_bytes: 1 << 20,
            max_nested_bytes: 64 << 20,
            max_total_bytes: 512 << 20,
            max_ratio: 200,
            max_packages: 100_000,
        }
    }
}

/// What [`catalog_java_archive`] found: packages, and the nested archives or entries it had to
/// skip (broken, over a limit), each an error naming the nested path.
#[derive(Debug, Default)]
pub struct JavaArchiveCatalog {
    /// Packages, the archive's own first, then nested archives' in entry order.
    pub packages: Vec<Package>,
    /// Parts of the archive that could not be read.
    pub skipped: Vec<CatalogError>,
}

/// Whether `path` names a Java archive the image reader should hand to [`catalog_java_archive`]
/// (by extension, case-insensitive: jar, war, ear, jpi, hpi, par, sar, nar, kar).
pub fn is_java_archive(path: &str) -> bool {
    has_extension(path, ARCHIVE_EXTENSIONS)
}

fn has_extension(path: &str, exts: &[&str]) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => exts.iter().any(|e| e.eq_ignore_ascii_case(ext)),
        _ => false,
    }
}

/// Catalogs the Java archive at `path` (its path in the image, used in locations and errors)
/// read from `reader`, recursing into nested archives within `limits`. An unreadable top-level
/// archive (not a zip, truncated, too many entries) is an error; unreadable parts inside it are
/// listed in [`JavaArchiveCatalog::skipped`]. Never panics.
pub fn catalog_java_archive<R: Read + Seek>(
    path: &str,
    reader: R,
    limits: &JavaLimits,
) -> Result<JavaArchiveCatalog, CatalogError> {
    let mut walk = Walk {
        limits,
        budget: limits.max_total_bytes,
        out: JavaArchiveCatalog::default(),
        unlisted: 0,
        dropped_packages: 0,
    };
    let name = path.rsplit('/').next().unwrap_or(path);
    walk.archive(path, name, reader, 0)?;
    if walk.dropped_packages > 0 {
        walk.out.skipped.push(limit_error(
            path,
            format!(
                "{} packages (or pom.properties) past the {} package limit were not listed",
                walk.dropped_packages, limits.max_packages
            ),
        ));
    }
    if walk.unlisted > 0 {
        walk.out.skipped.push(limit_error(
            path,
            format!("{} more problems were not listed", walk.unlisted),
        ));
    }
    Ok(walk.out)
}

struct Walk<'a> {
    limits: &'a JavaLimits,
    /// Decompressed bytes still allowed.
    budget: u64,
    out: JavaArchiveCatalog,
    /// Problems past [`MAX_SKIPPED`].
    unlisted: u64,
    /// Packages past [`JavaLimits::max_packages`].
    dropped_packages: u64,
}

/// A pom.properties found in an archive.
struct Pom {
    group: String,
    artifact: String,
    version: String,
}

impl Walk<'_> {
    fn archive<R: Read + Seek>(
        &mut self,
        location: &str,
        file_name: &str,
        mut reader: R,
        depth: usize,
    ) -> Result<(), CatalogError> {
        let claimed = claimed_entries(&mut reader)
            .map_err(|e| format_error(location, format!("expected a zip archive: {e}")))?;
        if claimed > self.limits.max_entries {
            return Err(limit_error(
                location,
                format!(
                    "the zip declares {claimed} entries, over the {} entry limit",
                    self.limits.max_entries
                ),
            ));
        }
        reader
            .seek(SeekFrom::Start(0))
            .map_err(|e| format_error(location, format!("cannot read the archive: {e}")))?;
        let mut zip = zip::ZipArchive::new(reader)
            .map_err(|e| format_error(location, format!("expected a zip archive: {e}")))?;
        if zip.len() as u64 > self.limits.max_entries {
            return Err(limit_error(
                location,
                format!(
                    "{} entries, over the {} entry limit",
                    zip.len(),
                    self.limits.max_entries
                ),
            ));
        }

        // Classify entries by name first (names come from the central directory).
        let in_ear = has_extension(file_name, &["ear"]);
        let mut manifest_idx = None;
        let mut pom_idx = Vec::new();
        let mut nested_idx = Vec::new();
        for i in 0..zip.len() {
            let Some(name) = zip.name_for_index(i) else {
                continue;
            };
            if name.ends_with('/') {
                continue;
            }
            if manifest_idx.is_none() && name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
                manifest_idx = Some(i);
            } else if is_pom_properties(name) {
                pom_idx.push(i);
            } else if is_java_archive(name) || (in_ear && has_extension(name, &["rar"])) {
                nested_idx.push(i);
            }
        }

        let manifest = match manifest_idx {
            Some(i) => self
                .read_entry(&mut zip, i, location, self.limits.max_entry_bytes)
                .and_then(|bytes| Manifest::parse(&bytes).map_err(|e| at(location, e)))
                .map_err(|e| self.skip(e))
                .ok(),
            None => None,
        };
        let mut poms: Vec<Pom> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let pom_count = pom_idx.len();
        for (n, i) in pom_idx.into_iter().enumerate() {
            if poms.len() >= self.limits.max_packages {
                // Not read: counted as packages past the limit.
                self.dropped_packages += (pom_count - n) as u64;
                break;
            }
            let Ok(bytes) = self
                .read_entry(&mut zip, i, location, self.limits.max_entry_bytes)
                .map_err(|e| self.skip(e))
            else {
                continue;
            };
            if let Some((group, artifact, version)) = pom_coordinates(&bytes) {
                if seen.insert((group.clone(), artifact.clone(), version.clone())) {
                    poms.push(Pom {
                        group,
                        artifact,
                        version,
                    });
                }
            }
        }
        self.identify(location, file_name, manifest.as_ref(), &poms);

        if depth >= self.limits.max_depth {
            // One problem for all of this archive's nested archives.
            if let Some(name) = nested_idx.first().and_then(|&i| zip.name_for_index(i)) {
                let more = match nested_idx.len() {
                    1 => String::new(),
                    n => format!(" (and {} more in this archive)", n - 1),
                };
                let e = limit_error(
                    &format!("{location}:{name}"),
                    format!(
                        "archive nested deeper than the {} level limit{more}",
                        self.limits.max_depth
                    ),
                );
                self.skip(e);
            }
            return Ok(());
        }
        for i in nested_idx {
            let Some(name) = zip.name_for_index(i).map(str::to_owned) else {
                continue;
            };
            let nested_location = format!("{location}:{name}");
            let bytes = match self.read_entry(&mut zip, i, location, self.limits.max_nested_bytes) {
                Ok(b) => b,
                Err(e) => {
                    self.skip(e);
                    continue;
                }
            };
            let nested_name = name.rsplit('/').next().unwrap_or(&name);
            if let Err(e) =
                self.archive(&nested_location, nested_name, Cursor::new(bytes), depth + 1)
            {
                self.skip(e);
            }
        }
        Ok(())
    }

    fn skip(&mut self, e: CatalogError) {
        if self.out.skipped.len() < MAX_SKIPPED {
            self.out.skipped.push(e);
        } else {
            self.unlisted += 1;
        }
    }

    fn push(&mut self, pkg: Package) {
        if self.out.packages.len() < self.limits.max_packages {
            self.out.packages.push(pkg);
        } else {
            self.dropped_packages += 1;
        }
    }

    /// Reads entry `i` whole, refusing more than `max` bytes, more than the remaining budget,
    /// and large entries whose compression ratio is suspicious.
    fn read_entry<R: Read + Seek>(
        &mut self,
        zip: &mut zip::ZipArchive<R>,
        i: usize,
        location: &str,
        max: u64,
    ) -> Result<Vec<u8>, CatalogError> {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| format_error(location, format!("cannot read entry {i}: {e}")))?;
        let here = format!("{location}:{}", entry.name());
        let compressed = entry.compressed_size();
        let cap = max.min(self.budget);
        let mut buf = Vec::new();
        let read = entry
            .by_ref()
            .take(cap.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| format_error(&here, format!("cannot decompress the entry: {e}")))?;
        let read = read as u64;
        self.budget = self.budget.saturating_sub(read.min(cap));
        if read > cap {
            let message = if cap < max {
                format!(
                    "decompressing it would exceed the {} byte total for the archive",
                    self.limits.max_total_bytes
                )
            } else {
                format!("the entry is over the {max} byte limit")
            };
            return Err(limit_error(&here, message));
        }
        if read > 1 << 20 && read / compressed.max(1) > self.limits.max_ratio {
            return Err(limit_error(
                &here,
                format!(
                    "compression ratio {}:1 is over the {}:1 limit",
                    read / compressed.max(1),
                    self.limits.max_ratio
                ),
            ));
        }
        Ok(buf)
    }

    fn identify(
        &mut self,
        location: &str,
        file_name: &str,
        manifest: Option<&Manifest>,
        poms: &[Pom],
    ) {
        let stem = file_name
            .rsplit_once('.')
            .map_or(file_name, |(stem, _)| stem);
        let (file_artifact, file_version) = split_file_name(stem);
        let own = poms
            .iter()
            .position(|p| p.artifact == stem || p.artifact == file_artifact)
            .or(if poms.len() == 1 { Some(0) } else { None });
        let license = manifest.and_then(|m| m.get("Bundle-License"));

        if own.is_none() {
            if let Some(pkg) = manifest_package(location, file_artifact, file_version, manifest) {
                let pkg = with_license(pkg, license);
                let dup = poms.iter().any(|p| {
                    p.artifact == pkg.name
                        && p.version == pkg.version
                        && pkg.purl.namespace() == Some(p.group.as_str())
                });
                if !dup {
                    self.push(pkg);
                }
            }
        }
        for (i, p) in poms.iter().enumerate() {
            let Ok(purl) = Purl::new("maven", Some(&p.group), &p.artifact, Some(&p.version)) else {
                continue;
            };
            let pkg = Package::new(
                Ecosystem::Maven,
                p.artifact.clone(),
                p.version.clone(),
                purl,
                location,
            );
            self.push(if own == Some(i) {
                with_license(pkg, license)
            } else {
                pkg
            });
        }
    }
}

fn with_license(mut pkg: Package, license: Option<&str>) -> Package {
    if let Some(l) = license {
        pkg.add_license(l);
    }
    pkg
}

/// The package of an archive without its own pom.properties, from its file name and manifest.
fn manifest_package(
    location: &str,
    file_artifact: &str,
    file_version: Option<&str>,
    manifest: Option<&Manifest>,
) -> Option<Package> {
    let field = |k: &str| {
        manifest
            .and_then(|m| m.get(k))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let name = Some(file_artifact).filter(|n| !n.is_empty()).or_else(|| {
        [
            field("Bundle-SymbolicName").and_then(|n| n.split(';').next()),
            field("Implementation-Title"),
            field("Specification-Title"),
        ]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|n| !n.is_empty() && !n.contains(char::is_whitespace))
    })?;
    let version = file_version.or_else(|| {
        field("Implementation-Version")
            .or_else(|| field("Bundle-Version"))
            .or_else(|| field("Specification-Version"))
    })?;
    let group = field("Implementation-Vendor-Id")
        .filter(|g| looks_like_group(g))
        .or_else(|| {
            field("Bundle-SymbolicName")
                .and_then(|n| n.split(';').next())
                .map(str::trim)
                .filter(|g| looks_like_group(g))
        })
        .unwrap_or(name);
    let purl = Purl::new("maven", Some(group), name, Some(version)).ok()?;
    Some(Package::new(
        Ecosystem::Maven,
        name.to_owned(),
        version.to_owned(),
        purl,
        location,
    ))
}

/// `org.apache.commons`: dot-separated, non-empty segments of ASCII letters, digits, `_`, `-`.
fn looks_like_group(s: &str) -> bool {
    s.contains('.')
        && s.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

/// `name-1.2.3` → (`name`, `1.2.3`). The version starts at the last `-`-separated segment that
/// begins with a digit and follows a segment that does not (`log4j-1.2-api-2.19.0` →
/// `log4j-1.2-api`, `2.19.0`; `guava-31.1-jre` → `guava`, `31.1-jre`).
pub(crate) fn split_file_name(stem: &str) -> (&str, Option<&str>) {
    let digit_led = |s: &str| s.bytes().next().is_some_and(|b| b.is_ascii_digit());
    let mut split = None;
    let mut prev_digit_led = false;
    let mut offset = 0;
    for seg in stem.split('-') {
        if offset > 0 && digit_led(seg) && !prev_digit_led {
            split = Some(offset);
        }
        prev_digit_led = digit_led(seg);
        offset += seg.len() + 1;
    }
    match split {
        Some(at) => match (stem.get(..at.saturating_sub(1)), stem.get(at..)) {
            (Some(name), Some(version)) if !name.is_empty() => (name, Some(version)),
            _ => (stem, None),
        },
        None => (stem, None),
    }
}

/// `META-INF/maven/<group>/<artifact>/pom.properties` at the archive root.
fn is_pom_properties(name: &str) -> bool {
    name.strip_prefix("META-INF/maven/")
        .and_then(|rest| rest.strip_suffix("/pom.properties"))
        .and_then(|ga| ga.split_once('/'))
        .is_some_and(|(g, a)| !g.is_empty() && !a.is_empty() && !a.contains('/'))
}

/// The largest entry count claimed by an end-of-central-directory record in the archive's tail
/// (and, for zip64, by the zip64 record it points to). The zip reader sizes its tables from this
/// count, so it is checked before the reader sees the archive. Hand-written because the zip crate
/// offers no way to read the count without allocating for it; the format is fixed (APPNOTE 4.3.14
/// to 4.3.16). A zip64 claim whose record cannot be found is refused.
fn claimed_entries<R: Read + Seek>(r: &mut R) -> std::io::Result<u64> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const LOCATOR: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
    const EOCD64: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
    let invalid = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    let len = r.seek(SeekFrom::End(0))?;
    let tail_len = len.min(22 + 0xffff + 20);
    r.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = Vec::new();
    r.by_ref().take(tail_len).read_to_end(&mut tail)?;
    let u16_at = |b: &[u8], at: usize| {
        b.get(at..at + 2)
            .and_then(|s| <[u8; 2]>::try_from(s).ok())
            .map(u16::from_le_bytes)
    };
    let u32_at = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(u32::from_le_bytes)
    };
    let u64_at = |b: &[u8], at: usize| {
        b.get(at..at + 8)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map(u64::from_le_bytes)
    };
    let mut found = false;
    let mut max = 0u64;
    for at in (0..tail.len().saturating_sub(21)).rev() {
        if tail.get(at..at + 4) != Some(&EOCD[..]) {
            continue;
        }
        found = true;
        let (Some(entries), Some(total), Some(cd_offset)) = (
            u16_at(&tail, at + 8),
            u16_at(&tail, at + 10),
            u32_at(&tail, at + 16),
        ) else {
            continue;
        };
        max = max.max(u64::from(entries.max(total)));
        if entries == 0xffff || total == 0xffff || cd_offset == 0xffff_ffff {
            // zip64: the locator sits just before this record and gives the zip64 record's offset.
            let loc = at
                .checked_sub(20)
                .and_then(|l| tail.get(l..at))
                .filter(|l| l.get(..4) == Some(&LOCATOR[..]));
            let record_offset = loc
                .and_then(|l| u64_at(l, 8))
                .ok_or_else(|| invalid("zip64 end of central directory locator missing"))?;
            r.seek(SeekFrom::Start(record_offset))?;
            let mut rec = Vec::new();
            r.by_ref().take(56).read_to_end(&mut rec)?;
            if rec.get(..4) != Some(&EOCD64[..]) {
                return Err(invalid("zip64 end of central directory record missing"));
            }
            let entries64 = u64_at(&rec, 24).unwrap_or(u64::MAX);
            let total64 = u64_at(&rec, 32).unwrap_or(u64::MAX);
            max = max.max(entries64.max(total64));
        }
    }
    if !found {
        return Err(invalid("no end of central directory record"));
    }
    Ok(max)
}

fn format_error(path: &str, message: String) -> CatalogError {
    CatalogError::Format {
        path: path.to_owned(),
        message,
    }
}

fn limit_error(path: &str, message: String) -> CatalogError {
    CatalogError::Limit {
        path: path.to_owned(),
        message,
    }
}

/// Re-labels an error from a text parser with the archive location.
fn at(location: &str, e: CatalogError) -> CatalogError {
    format_error(&format!("{location}:META-INF/MANIFEST.MF"), e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8])], stored: bool) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let method = if stored {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let opts = SimpleFileOptions::default().compression_method(method);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn purls(c: &JavaArchiveCatalog) -> Vec<(String, String, Vec<String>)> {
        c.packages
            .iter()
            .map(|p| {
                (
                    p.purl.to_string(),
                    p.locations[0].path.clone(),
                    p.licenses.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn file_names() {
        let cases = [
            ("commons-lang3-3.12.0", ("commons-lang3", Some("3.12.0"))),
            ("log4j-1.2-api-2.19.0", ("log4j-1.2-api", Some("2.19.0"))),
            ("guava-31.1-jre", ("guava", Some("31.1-jre"))),
            ("foo-1.0-2", ("foo", Some("1.0-2"))),
            ("jackson-databind", ("jackson-databind", None)),
            ("2048-game-1.0", ("2048-game", Some("1.0"))),
            ("1.0", ("1.0", None)),
            ("-1.0", ("-1.0", None)),
            ("", ("", None)),
        ];
        for (stem, want) in cases {
            assert_eq!(split_file_name(stem), want, "{stem}");
        }
    }

    #[test]
    fn archive_names() {
        assert!(is_java_archive("/app/x.JAR"));
        assert!(is_java_archive("a/b.war") && is_java_archive("c.hpi") && is_java_archive("d.kar"));
        assert!(
            !is_java_archive("/app/x.rar") && !is_java_archive(".jar") && !is_java_archive("jar")
        );
        assert!(is_pom_properties("META-INF/maven/g/a/pom.properties"));
        assert!(!is_pom_properties("META-INF/maven/g/a/b/pom.properties"));
        assert!(!is_pom_properties("x/META-INF/maven/g/a/pom.properties"));
        assert!(!is_pom_properties("META-INF/maven//a/pom.properties"));
    }

    #[test]
    fn war_with_pom_manifest_and_nested_jars() -> Result<(), CatalogError> {
        let inner = zip_of(
            &[
                ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\nImplementation-Version: 2.1\r\nImplementation-Vendor-Id: org.example\r\nBundle-License: MIT\r\n\r\n"),
                ("a/B.class", b"\xca\xfe\xba\xbe"),
            ],
            false,
        );
        let shaded = zip_of(
            &[
                (
                    "META-INF/maven/com.acme/app/pom.properties",
                    b"groupId=com.acme\nartifactId=app\nversion=1.0\n",
                ),
                (
                    "META-INF/maven/org.slf4j/slf4j-api/pom.properties",
                    b"groupId=org.slf4j\nartifactId=slf4j-api\nversion=2.0.9\n",
                ),
                ("META-INF/MANIFEST.MF", b"Bundle-License: Apache-2.0\n"),
            ],
            false,
        );
        let war = zip_of(
            &[
                ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
                ("WEB-INF/lib/inner.jar", &inner),
                ("WEB-INF/lib/app-1.0.jar", &shaded),
                ("WEB-INF/lib/", b""),
            ],
            true,
        );
        let c = catalog_java_archive(
            "/srv/site-3.0.war",
            Cursor::new(war),
            &JavaLimits::default(),
        )?;
        assert!(c.skipped.is_empty(), "{:?}", c.skipped);
        let loc = |s: &str| format!("/srv/site-3.0.war{s}");
        assert_eq!(
            purls(&c),
            [
                // The war: no pom.properties, no group in its manifest: name, version from the
                // file name and the name as the group.
                ("pkg:maven/site/site@3.0".to_owned(), loc(""), vec![]),
                // No pom.properties: version and group from the manifest, name from the file.
                (
                    "pkg:maven/org.example/inner@2.1".to_owned(),
                    loc(":WEB-INF/lib/inner.jar"),
                    vec!["MIT".to_owned()]
                ),
                // Its own pom.properties (artifact = file name) gets the license; the shaded
                // one is a package too.
                (
                    "pkg:maven/com.acme/app@1.0".to_owned(),
                    loc(":WEB-INF/lib/app-1.0.jar"),
                    vec!["Apache-2.0".to_owned()]
                ),
                (
                    "pkg:maven/org.slf4j/slf4j-api@2.0.9".to_owned(),
                    loc(":WEB-INF/lib/app-1.0.jar"),
                    vec![]
                ),
            ]
        );
        Ok(())
    }

    #[test]
    fn hostile_archives() {
        let limits = JavaLimits::default();
        // Not a zip, empty, truncated.
        for bytes in [&b"not a zip"[..], b"", b"PK\x05\x06"] {
            assert!(matches!(
                catalog_java_archive("x.jar", Cursor::new(bytes.to_vec()), &limits),
                Err(CatalogError::Format { .. })
            ));
        }
        let good = zip_of(
            &[(
                "META-INF/maven/g/a/pom.properties",
                b"groupId=g\nartifactId=a\nversion=1\n",
            )],
            false,
        );
        let truncated = good.get(..good.len() - 30).unwrap().to_vec();
        assert!(catalog_java_archive("a.jar", Cursor::new(truncated), &limits).is_err());

        // A declared entry count over the limit is refused before the zip reader allocates.
        let n = good.len();
        let mut lying = good.clone();
        lying[n - 22 + 8..n - 22 + 12].copy_from_slice(&[0xff, 0x00, 0xff, 0x00]);
        let small = JavaLimits {
            max_entries: 10,
            ..JavaLimits::default()
        };
        assert!(matches!(
            catalog_java_archive("a.jar", Cursor::new(lying), &small),
            Err(CatalogError::Limit { .. })
        ));
        // A zip64 claim without its zip64 record is refused.
        let mut zip64 = good.clone();
        zip64[n - 22 + 8..n - 22 + 12].copy_from_slice(&[0xff; 4]);
        assert!(matches!(
            catalog_java_archive("a.jar", Cursor::new(zip64), &limits),
            Err(CatalogError::Format { .. })
        ));

        // An 8 MiB manifest: over the entry limit, skipped; the file name still identifies it.
        let bomb = zip_of(&[("META-INF/MANIFEST.MF", &vec![b'a'; 8 << 20])], false);
        let c = catalog_java_archive("bomb-1.0.jar", Cursor::new(bomb), &limits).unwrap();
        assert!(
            matches!(c.skipped.as_slice(), [CatalogError::Limit { .. }]),
            "{:?}",
            c.skipped
        );
        assert_eq!(purls(&c)[0].0, "pkg:maven/bomb/bomb@1.0");
    }

    #[test]
    fn nesting_limit() {
        let mut bytes = zip_of(
            &[(
                "META-INF/maven/g/deep/pom.properties",
                b"groupId=g\nartifactId=deep\nversion=1\n",
            )],
            false,
        );
        for _ in 0..6 {
            bytes = zip_of(&[("lib/n.jar", &bytes)], true);
        }
        let c =
            catalog_java_archive("top.jar", Cursor::new(bytes), &JavaLimits::default()).unwrap();
        assert!(c.packages.is_empty());
        assert!(
            matches!(c.skipped.as_slice(), [CatalogError::Limit { path, .. }] if path.matches(':').count() == 5),
            "{:?}",
            c.skipped
        );
    }

    #[test]
    fn package_and_problem_caps() {
        let poms: Vec<(String, Vec<u8>)> = (0..30)
            .map(|i| {
                (
                    format!("META-INF/maven/g/a{i}/pom.properties"),
                    format!("groupId=g\nartifactId=a{i}\nversion=1\n").into_bytes(),
                )
            })
            .collect();
        let entries: Vec<(&str, &[u8])> = poms
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let limits = JavaLimits {
            max_packages: 10,
            ..JavaLimits::default()
        };
        let c = catalog_java_archive("many.jar", Cursor::new(zip_of(&entries, false)), &limits)
            .unwrap();
        assert_eq!(c.packages.len(), 10);
        assert!(
            matches!(c.skipped.as_slice(), [CatalogError::Limit { message, .. }] if message.contains("package limit"))
        );

        // 2000 broken nested jars: 1000 problems listed, one entry counting the rest.
        let names: Vec<String> = (0..2000).map(|i| format!("lib/b{i}.jar")).collect();
        let entries: Vec<(&str, &[u8])> = names
            .iter()
            .map(|n| (n.as_str(), &b"not a zip"[..]))
            .collect();
        let c = catalog_java_archive(
            "broken.jar",
            Cursor::new(zip_of(&entries, true)),
            &JavaLimits::default(),
        )
        .unwrap();
        assert_eq!(c.skipped.len(), MAX_SKIPPED + 1);
        assert!(
            matches!(c.skipped.last(), Some(CatalogError::Limit { message, .. }) if message.starts_with("1000 more"))
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = catalog_java_archive("x.jar", Cursor::new(bytes), &JavaLimits::default());
        }

        #[test]
        fn never_panics_on_mutated_zip(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let inner = zip_of(&[("META-INF/maven/g/a/pom.properties", b"groupId=g\nartifactId=a\nversion=1\n")], false);
            let mut bytes = zip_of(&[("META-INF/MANIFEST.MF", b"Implementation-Version: 1\n"), ("lib/a.jar", &inner)], false);
            let n = bytes.len();
            for (at, b) in flips {
                bytes[at % n] = b;
            }
            let _ = catalog_java_archive("x.jar", Cursor::new(bytes), &JavaLimits::default());
        }
    }
}
