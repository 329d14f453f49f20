//! A passive observer of a tar stream that bounds what the `tar` crate would buffer whole: GNU
//! long names / long links and PAX extended headers are read into memory by the crate, so a
//! hostile layer could declare one of many gigabytes. The guard follows the tar block structure
//! (headers, data, PAX `size` overrides, GNU sparse extension blocks) and fails the stream
//! before such a header's data is read.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

const BLOCK: usize = 512;

pub(crate) struct TarGuard<R> {
    inner: R,
    header: Vec<u8>,
    data_left: u64,
    pax: Option<Vec<u8>>,
    pax_size: Option<u64>,
    sparse_ext: bool,
    limit: u64,
    tripped: Rc<Cell<bool>>,
    /// the largest metadata entry met (what a replay of the layer checks against the limit)
    largest: u64,
}

impl<R: Read> TarGuard<R> {
    pub(crate) fn new(inner: R, limit: u64, tripped: Rc<Cell<bool>>) -> Self {
        Self {
            inner,
            header: Vec::with_capacity(BLOCK),
            data_left: 0,
            pax: None,
            pax_size: None,
            sparse_ext: false,
            limit,
            tripped,
            largest: 0,
        }
    }

    /// The declared size of the largest GNU long-name / long-link or PAX header entry met.
    pub(crate) fn largest_metadata(&self) -> u64 {
        self.largest
    }

    fn observe(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.data_left > 0 {
                let k = usize::try_from(self.data_left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                let (data, rest) = bytes.split_at(k);
                if let Some(pax) = self.pax.as_mut() {
                    pax.extend_from_slice(data);
                }
                self.data_left -= k as u64;
                bytes = rest;
                if self.data_left == 0 {
                    if let Some(pax) = self.pax.take() {
                        if let Some(size) = pax_size(&pax) {
                            self.pax_size = Some(size);
                        }
                    }
                }
                continue;
            }
            let k = (BLOCK - self.header.len()).min(bytes.len());
            let (head, rest) = bytes.split_at(k);
            self.header.extend_from_slice(head);
            bytes = rest;
            if self.header.len() == BLOCK {
                let block = std::mem::take(&mut self.header);
                self.header.reserve(BLOCK);
                self.on_header(&block)?;
            }
        }
        Ok(())
    }

    fn on_header(&mut self, block: &[u8]) -> io::Result<()> {
        if self.sparse_ext {
            self.sparse_ext = block.get(504).is_some_and(|&b| b != 0);
            return Ok(());
        }
        if block.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let kind = block.get(156).copied().unwrap_or(0);
        let declared = block.get(124..136).map_or(0, parse_size);
        let size = match kind {
            b'L' | b'K' | b'x' | b'g' => {
                self.largest = self.largest.max(declared);
                if declared > self.limit {
                    self.tripped.set(true);
                    return Err(io::Error::other("tar metadata entry too large"));
                }
                if kind == b'x' {
                    self.pax = Some(Vec::new());
                }
                declared
            }
            _ => {
                if kind == b'S' {
                    self.sparse_ext = block.get(482).is_some_and(|&b| b != 0);
                }
                self.pax_size.take().unwrap_or(declared)
            }
        };
        self.data_left = size.div_ceil(BLOCK as u64).saturating_mul(BLOCK as u64);
        if self.data_left == 0 {
            if let Some(pax) = self.pax.take() {
                self.pax_size = pax_size(&pax);
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observe(buf.get(..n).unwrap_or(&[]))?;
        Ok(n)
    }
}

/// A tar numeric field: octal ASCII, or base-256 when the high bit of the first byte is set.
fn parse_size(field: &[u8]) -> u64 {
    match field.split_first() {
        Some((&first, rest)) if first & 0x80 != 0 => {
            rest.iter().fold(u64::from(first & 0x7f), |acc, &b| {
                acc.saturating_mul(256).saturating_add(u64::from(b))
            })
        }
        _ => {
            let text: String = field.iter().map(|&b| char::from(b)).collect();
            u64::from_str_radix(text.trim_matches(|c: char| c == '\0' || c == ' '), 8).unwrap_or(0)
        }
    }
}

/// The `size` record of PAX extended header data (`<len> size=<n>\n` records).
fn pax_size(data: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(data);
    let mut size = None;
    for record in text.split('\n') {
        if let Some((_, kv)) = record.split_once(' ') {
            if let Some(v) = kv.strip_prefix("size=") {
                size = v.trim_end_matches('\0').parse().ok();
            }
        }
    }
    size
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_numeric_fields() {
        assert_eq!(parse_size(b"00000000017\0"), 15);
        assert_eq!(parse_size(b"      17 \0\0\0"), 15);
        assert_eq!(parse_size(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), 256);
        assert_eq!(parse_size(b"garbage\0\0\0\0\0"), 0);
        assert_eq!(pax_size(b"12 size=500\n30 path=a\n"), Some(500));
    }

    #[test]
    fn stays_in_sync_over_long_names_pax_and_header_lookalike_data() {
        // file data that looks like a GNU long-name header declaring 8 GiB
        let mut fake = tar::Header::new_gnu();
        fake.set_entry_type(tar::EntryType::GNULongName);
        fake.set_size(8 << 30);
        fake.set_cksum();
        let fake = fake.as_bytes().to_vec();
        let mut b = tar::Builder::new(Vec::new());
        for i in 0..20 {
            let mut h = tar::Header::new_gnu();
            h.set_size(fake.len() as u64);
            h.set_mode(0o644);
            let name = format!("{}/{i}", "n".repeat(150 + i));
            b.append_data(&mut h, name, fake.as_slice()).unwrap();
            b.append_pax_extensions([("comment", &b"x"[..])]).unwrap();
            let mut h = tar::Header::new_gnu();
            h.set_size(3);
            b.append_data(&mut h, format!("short{i}"), &b"abc"[..])
                .unwrap();
        }
        let bytes = b.into_inner().unwrap();
        let tripped = Rc::new(Cell::new(false));
        let mut guard = TarGuard::new(bytes.as_slice(), 1024, Rc::clone(&tripped));
        let mut archive = tar::Archive::new(&mut guard);
        let mut n = 0;
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            std::io::copy(&mut e, &mut std::io::sink()).unwrap();
            n += 1;
        }
        assert_eq!(n, 40);
        assert!(!tripped.get());
    }
}
