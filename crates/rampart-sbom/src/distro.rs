//! The distribution an image is built on, from `etc/os-release` (or `usr/lib/os-release`).

use crate::fields::strip_quotes;

/// `ID` and `VERSION_ID` from os-release, as OS package purls need them
/// (`distro=debian-12`, `distro=alpine-3.20.3`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Distro {
    /// `ID`, e.g. `debian`, `ubuntu`, `alpine`.
    pub id: String,
    /// `VERSION_ID`, e.g. `12`, `24.04`, `3.20.3`; absent on rolling releases (Debian sid).
    pub version_id: Option<String>,
    /// `VERSION_CODENAME`, e.g. `bookworm`.
    pub codename: Option<String>,
}

impl Distro {
    /// Parses os-release content (shell-style `KEY=value` lines, values optionally quoted).
    /// Returns `None` without an `ID`.
    pub fn from_os_release(content: &[u8]) -> Option<Self> {
        let text = String::from_utf8_lossy(content.get(..crate::MAX_INPUT.min(content.len()))?);
        let (mut id, mut version_id, mut codename) = (None, None, None);
        for line in text.lines() {
            let Some((key, value)) = line.trim().split_once('=') else {
                continue;
            };
            let value = strip_quotes(value.trim()).trim().to_owned();
            if value.is_empty() {
                continue;
            }
            match key.trim() {
                "ID" => id = Some(value.to_lowercase()),
                "VERSION_ID" => version_id = Some(value),
                "VERSION_CODENAME" => codename = Some(value),
                _ => {}
            }
        }
        Some(Self {
            id: id?,
            version_id,
            codename,
        })
    }

    /// The purl `distro` qualifier: `<id>-<version_id>`, or the id alone.
    pub fn purl_qualifier(&self) -> String {
        match &self.version_id {
            Some(v) => format!("{}-{v}", self.id),
            None => self.id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_and_alpine() {
        let d = Distro::from_os_release(
            b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
        );
        assert_eq!(
            d.as_ref().map(Distro::purl_qualifier).as_deref(),
            Some("debian-12")
        );
        assert_eq!(d.and_then(|d| d.codename).as_deref(), Some("bookworm"));
        let a = Distro::from_os_release(b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n");
        assert_eq!(
            a.map(|d| d.purl_qualifier()).as_deref(),
            Some("alpine-3.20.3")
        );
        assert_eq!(Distro::from_os_release(b"NAME=x\n\xff\xfe"), None);
    }

    #[test]
    fn this_machine() -> Result<(), std::io::Error> {
        let content = std::fs::read("/etc/os-release")?;
        let d = Distro::from_os_release(&content);
        assert!(d.is_some_and(|d| !d.id.is_empty()));
        Ok(())
    }
}
