//! Content digests and a reader that verifies one while streaming.

use std::fmt;
use std::io::{self, Read};

use sha2::Digest as _;

use crate::ImageError;

/// A digest algorithm this crate verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the default of OCI and Docker
    Sha256,
    /// SHA-512, allowed by the OCI image spec
    Sha512,
}

impl Algorithm {
    fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }

    /// The name used in digest strings (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }
}

/// A validated content digest such as `sha256:e3b0...`: algorithm and lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses `algorithm:hex`, accepting only sha256 and sha512 with lowercase hex of the right
    /// length (so a digest can be used as a file name without escaping anything).
    pub fn parse(value: &str) -> Result<Self, ImageError> {
        let invalid = || ImageError::InvalidDigest {
            value: value.chars().take(200).collect(),
        };
        let (algo, hex) = value.split_once(':').ok_or_else(invalid)?;
        let algorithm = match algo {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(invalid()),
        };
        if hex.len() != algorithm.hex_len()
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid());
        }
        Ok(Self {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The SHA-256 digest of `data`.
    pub fn sha256_of(data: &[u8]) -> Self {
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(data);
        h.finish()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex part.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An incremental hash of either algorithm.
pub(crate) enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub(crate) fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Self::Sha512(sha2::Sha512::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    pub(crate) fn finish(self) -> Digest {
        let (algorithm, bytes): (Algorithm, Vec<u8>) = match self {
            Self::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec()),
            Self::Sha512(h) => (Algorithm::Sha512, h.finalize().to_vec()),
        };
        let mut hex = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            for nibble in [b >> 4, b & 0xf] {
                if let Some(&c) = HEX.get(usize::from(nibble)) {
                    hex.push(char::from(c));
                }
            }
        }
        Digest { algorithm, hex }
    }
}

/// What a [`VerifyingReader`] saw: the digest of the bytes (when it hashed) and their count.
pub(crate) struct Tally {
    pub(crate) digest: Option<Digest>,
    pub(crate) bytes: u64,
}

/// Hashes and counts every byte that passes through; [`verify`] compares the [`Tally`] at the
/// end. Without an algorithm it only counts (for streams another check already covers).
pub(crate) struct VerifyingReader<R> {
    inner: R,
    hasher: Option<Hasher>,
    bytes: u64,
}

impl<R: Read> VerifyingReader<R> {
    pub(crate) fn new(inner: R, algorithm: Option<Algorithm>) -> Self {
        Self {
            inner,
            hasher: algorithm.map(Hasher::new),
            bytes: 0,
        }
    }

    /// Ends the stream: the digest of everything read and the byte count.
    pub(crate) fn finish(self) -> Tally {
        Tally {
            digest: self.hasher.map(Hasher::finish),
            bytes: self.bytes,
        }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let (Some(h), Some(chunk)) = (self.hasher.as_mut(), buf.get(..n)) {
            h.update(chunk);
        }
        self.bytes = self.bytes.saturating_add(n as u64);
        Ok(n)
    }
}

/// Checks the tally of a fully read stream against `expected` (and `size` when declared).
pub(crate) fn verify(
    tally: &Tally,
    blob: &str,
    expected: &Digest,
    size: Option<u64>,
) -> Result<(), ImageError> {
    if let Some(size) = size {
        if size != tally.bytes {
            return Err(ImageError::SizeMismatch {
                blob: blob.to_owned(),
                expected: size,
                found: tally.bytes,
            });
        }
    }
    match &tally.digest {
        Some(found) if found == expected => Ok(()),
        Some(found) if found.algorithm() == expected.algorithm() => {
            Err(ImageError::DigestMismatch {
                blob: blob.to_owned(),
                expected: expected.to_string(),
                found: found.to_string(),
            })
        }
        _ => Err(ImageError::Unverifiable {
            blob: blob.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_digests() {
        let d = Digest::sha256_of(b"");
        assert_eq!(
            d.to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::parse(&d.to_string()).ok(), Some(d));
        for bad in [
            "",
            "sha256",
            "sha256:abc",
            "md5:00",
            "sha256:../../etc/passwd",
            &format!("sha256:{}", "A".repeat(64)),
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
        assert!(Digest::parse(&format!("sha512:{}", "0".repeat(128))).is_ok());
    }
}
