//! Packages compiled into executables: Go build information and cargo-auditable data, read from
//! an ELF file without holding it in memory.
//!
//! - Seekable (a file of a root filesystem directory): the ELF header, the section header table
//!   and the section name table are read, then only `.go.buildinfo` and `.dep-v0`.
//! - Stream (a tar entry): the bytes pass once. Go's build information is found by its magic
//!   (a header that validates, as `go version -m` does); cargo-auditable's `.dep-v0` is a
//!   non-loaded section, which linkers place after the loaded segments, so the bytes from the end
//!   of the last `PT_LOAD` segment to the end of the file are kept (bounded) and the section
//!   headers, at the end, locate it there.
//!
//! The ELF parsing is done by hand: it needs only a few header fields, from partial buffers, and
//! must never trust an offset; general ELF crates want the whole file in memory.

use std::io::{self, Read, Seek, SeekFrom};

use rampart_image::FileContent;
use rampart_sbom::catalog::{
    DOTNET_BUNDLE_SIGNATURE, GoBuildInfo, dotnet_bundle, go_module_package, parse_go_buildinfo,
    rust_dep_v0_packages,
};
use rampart_sbom::{Ecosystem, Package, Purl};

const GO_MAGIC: &[u8] = b"\xff Go buildinf:";
/// Bytes after the Go magic kept to decode the version and module info (module info of real
/// binaries is a few KiB; a million dependencies would not fit a binary anyway).
const GO_WINDOW: usize = 1 << 20;
/// Bytes kept while streaming after the end of the loaded segments, and (half as many) before
/// the section header table: `.dep-v0` is near one or the other (symbol tables and debug
/// information of unstripped binaries can be large).
const TAIL_WINDOW: u64 = 16 << 20;
/// Largest section header table kept (65535 entries of 64 bytes).
const MAX_TABLE: u64 = 65_535 * 64;
/// Largest section read from a seekable file.
const MAX_SECTION: u64 = 16 << 20;
const READ_CHUNK: usize = 256 * 1024;
/// Largest .NET single-file bundle read whole (its deps.json is found through a header at the
/// end that points back into the file).
const MAX_DOTNET_BUNDLE: u64 = 512 << 20;

/// What was found in one executable.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BinaryFacts {
    /// packages compiled in (Go modules with the Go standard library; Rust crates)
    pub packages: Vec<Package>,
    /// a problem reading the embedded data (a malformed `.dep-v0`, say)
    pub error: Option<String>,
}

/// ELF header fields this module uses.
#[derive(Debug, Clone, Copy)]
struct Elf {
    is64: bool,
    le: bool,
    phoff: u64,
    phentsize: u64,
    phnum: u64,
    shoff: u64,
    shentsize: u64,
    shnum: u64,
    shstrndx: u64,
}

fn uint(bytes: &[u8], off: u64, size: usize, le: bool) -> Option<u64> {
    let off = usize::try_from(off).ok()?;
    let b = bytes.get(off..off.checked_add(size)?)?;
    let mut v: u64 = 0;
    for i in 0..size {
        let byte = if le { b.get(size - 1 - i)? } else { b.get(i)? };
        v = (v << 8) | u64::from(*byte);
    }
    Some(v)
}

impl Elf {
    fn parse(head: &[u8]) -> Option<Self> {
        if !head.starts_with(b"\x7fELF") {
            return None;
        }
        let is64 = match head.get(4)? {
            1 => false,
            2 => true,
            _ => return None,
        };
        let le = match head.get(5)? {
            1 => true,
            2 => false,
            _ => return None,
        };
        let u = |off: u64, size: usize| uint(head, off, size, le);
        Some(if is64 {
            Self {
                is64,
                le,
                phoff: u(0x20, 8)?,
                phentsize: u(0x36, 2)?,
                phnum: u(0x38, 2)?,
                shoff: u(0x28, 8)?,
                shentsize: u(0x3a, 2)?,
                shnum: u(0x3c, 2)?,
                shstrndx: u(0x3e, 2)?,
            }
        } else {
            Self {
                is64,
                le,
                phoff: u(0x1c, 4)?,
                phentsize: u(0x2a, 2)?,
                phnum: u(0x2c, 2)?,
                shoff: u(0x20, 4)?,
                shentsize: u(0x2e, 2)?,
                shnum: u(0x30, 2)?,
                shstrndx: u(0x32, 2)?,
            }
        })
    }

    fn sh_table_len(&self) -> Option<u64> {
        self.shentsize.checked_mul(self.shnum)
    }

    /// (name offset, file offset, size) of section header `i` in `table` (the whole table).
    fn section(&self, table: &[u8], i: u64) -> Option<(u64, u64, u64)> {
        let base = i.checked_mul(self.shentsize)?;
        let u = |off: u64, size: usize| uint(table, base.checked_add(off)?, size, self.le);
        if self.is64 {
            Some((u(0, 4)?, u(24, 8)?, u(32, 8)?))
        } else {
            Some((u(0, 4)?, u(16, 4)?, u(20, 4)?))
        }
    }

    /// The end of the last loaded segment in the file, from the program headers in `head`.
    fn load_end(&self, head: &[u8]) -> Option<u64> {
        let mut end = 0u64;
        for i in 0..self.phnum.min(4096) {
            let base = self.phoff.checked_add(i.checked_mul(self.phentsize)?)?;
            let u = |off: u64, size: usize| uint(head, base.checked_add(off)?, size, self.le);
            let p_type = u(0, 4)?;
            if p_type != 1 {
                continue; // PT_LOAD only
            }
            let (offset, filesz) = if self.is64 {
                (u(8, 8)?, u(32, 8)?)
            } else {
                (u(4, 4)?, u(16, 4)?)
            };
            end = end.max(offset.checked_add(filesz)?);
        }
        Some(end)
    }

    /// Finds the sections named in `names` given the section header table and the section name
    /// table: their (file offset, size), in the order of `names`.
    fn find(&self, table: &[u8], strtab: &[u8], names: &[&[u8]]) -> Vec<Option<(u64, u64)>> {
        let mut out = vec![None; names.len()];
        for i in 0..self.shnum.min(65_535) {
            let Some((name_off, off, size)) = self.section(table, i) else {
                continue;
            };
            let Some(rest) = usize::try_from(name_off).ok().and_then(|n| strtab.get(n..)) else {
                continue;
            };
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            let name = rest.get(..end).unwrap_or_default();
            for (slot, wanted) in out.iter_mut().zip(names) {
                if slot.is_none() && name == *wanted {
                    *slot = Some((off, size));
                }
            }
        }
        out
    }
}

/// Whether `path`/size is worth opening as a possible binary: a regular file with an execute bit
/// of at least 4 KiB (the layer reader asks this before seeing any content).
pub fn may_be_binary(mode: u32, size: u64) -> bool {
    mode & 0o111 != 0 && size >= 4096
}

/// Reads an executable and returns the packages compiled into it (`None` if it is not ELF or
/// holds nothing known).
pub fn analyze(path: &str, content: FileContent<'_>) -> io::Result<Option<BinaryFacts>> {
    match content {
        FileContent::File(f) => analyze_seekable(path, f),
        FileContent::Stream(r) => analyze_stream(path, r),
    }
}

/// A .NET single-file bundle is an app host (an ELF file) with the bundled files appended after
/// the ELF's own end (its section header table); the host carries a signature preceded by the
/// offset of the bundle header. The bytes of a stream are searched for the signature up to the
/// ELF's end, and only what follows that end is kept; the bundle is then rebuilt with zeros in
/// place of the host's code, which the bundle reader does not look at.
#[derive(Default)]
struct DotnetSearch {
    /// the last bytes of the previous chunk, for a signature cut by a chunk boundary
    carry: Vec<u8>,
    /// the signature's offset in the file and the 8 bytes before it
    marker: Option<(u64, [u8; 8])>,
    /// the bytes after the ELF's end, once a marker was seen
    appended: Vec<u8>,
    too_large: bool,
}

impl DotnetSearch {
    fn feed(&mut self, pos: u64, chunk: &[u8], elf_end: u64) {
        let end = pos + chunk.len() as u64;
        if self.marker.is_none() && pos < elf_end {
            let keep = DOTNET_BUNDLE_SIGNATURE.len() + 8;
            // The seam between the previous chunk and this one, then this chunk itself.
            let mut seam = std::mem::take(&mut self.carry);
            let seam_pos = pos - seam.len() as u64;
            seam.extend_from_slice(chunk.get(..keep.min(chunk.len())).unwrap_or_default());
            self.marker = Self::find(&seam, seam_pos).or_else(|| Self::find(chunk, pos));
            let tail = chunk.len().saturating_sub(keep);
            self.carry = chunk.get(tail..).unwrap_or_default().to_vec();
        }
        if self.marker.is_some() && end > elf_end && !self.too_large {
            let from = usize::try_from(elf_end.saturating_sub(pos)).unwrap_or(usize::MAX);
            let part = chunk.get(from.min(chunk.len())..).unwrap_or_default();
            if (self.appended.len() + part.len()) as u64 > MAX_DOTNET_BUNDLE {
                self.too_large = true;
                self.appended = Vec::new();
            } else {
                self.appended.extend_from_slice(part);
            }
        }
    }

    /// A signature preceded by a non-zero header offset in `bytes` (at stream offset `pos`).
    fn find(bytes: &[u8], pos: u64) -> Option<(u64, [u8; 8])> {
        let finder = memchr::memmem::Finder::new(&DOTNET_BUNDLE_SIGNATURE);
        finder.find_iter(bytes).find_map(|at| {
            let offset = at
                .checked_sub(8)
                .and_then(|s| bytes.get(s..at))
                .and_then(|b| <[u8; 8]>::try_from(b).ok())?;
            offset
                .iter()
                .any(|b| *b != 0)
                .then_some((pos + at as u64, offset))
        })
    }

    /// The packages of the bundle, when there was one (`None`: not a bundle after all).
    fn finish(self, path: &str, elf_end: u64) -> Option<BinaryFacts> {
        let (at, offset) = self.marker?;
        if self.too_large {
            return Some(BinaryFacts {
                packages: Vec::new(),
                error: Some(format!(
                    "{path}: a .NET single-file bundle over {MAX_DOTNET_BUNDLE} bytes; its \
                     NuGet packages are not listed"
                )),
            });
        }
        if self.appended.is_empty() {
            return None;
        }
        let head = usize::try_from(elf_end).ok()?;
        let mut rebuilt = vec![0u8; head];
        let at = usize::try_from(at).ok()?;
        rebuilt
            .get_mut(at.checked_sub(8)?..at)?
            .copy_from_slice(&offset);
        rebuilt
            .get_mut(at..at.checked_add(DOTNET_BUNDLE_SIGNATURE.len())?)?
            .copy_from_slice(&DOTNET_BUNDLE_SIGNATURE);
        rebuilt.extend_from_slice(&self.appended);
        let packages = dotnet_packages(path, &rebuilt);
        (!packages.is_empty()).then_some(BinaryFacts {
            packages,
            error: None,
        })
    }
}

fn facts(path: &str, go: Option<GoBuildInfo>, dep_v0: Option<&[u8]>) -> Option<BinaryFacts> {
    let mut out = BinaryFacts::default();
    if let Some(info) = go {
        out.packages.extend(go_packages(path, &info));
    }
    if let Some(section) = dep_v0 {
        match rust_dep_v0_packages(path, section) {
            Ok(p) => out.packages.extend(p),
            Err(e) => out.error = Some(e.to_string()),
        }
    }
    (!out.packages.is_empty() || out.error.is_some()).then_some(out)
}

/// The Go modules of a binary and the standard library it was built with (`pkg:golang/stdlib`,
/// the name vulnerability databases use for the toolchain's packages).
fn go_packages(path: &str, info: &GoBuildInfo) -> Vec<Package> {
    let mut out: Vec<Package> = info
        .main
        .iter()
        .chain(&info.deps)
        .filter_map(|m| go_module_package(m, path))
        .collect();
    let version = info.go_version.trim_start_matches("go");
    // `go1.22.5 X:boringcrypto` and similar carry experiment suffixes after a space.
    let version = version.split_whitespace().next().unwrap_or_default();
    if !version.is_empty() {
        if let Ok(purl) = Purl::new("golang", None, "stdlib", Some(version)) {
            let mut p = Package::new(
                Ecosystem::Go,
                String::from("stdlib"),
                version.to_owned(),
                purl,
                path,
            );
            p.add_license("BSD-3-Clause");
            out.push(p);
        }
    }
    out
}

fn read_at(f: &mut std::fs::File, off: u64, len: u64) -> io::Result<Vec<u8>> {
    f.seek(SeekFrom::Start(off))?;
    let mut buf = Vec::new();
    f.take(len).read_to_end(&mut buf)?;
    Ok(buf)
}

fn analyze_seekable(path: &str, f: &mut std::fs::File) -> io::Result<Option<BinaryFacts>> {
    let size = f.metadata()?.len();
    let head = read_at(f, 0, 64)?;
    let Some(elf) = Elf::parse(&head) else {
        return Ok(None);
    };
    let table_len = elf.sh_table_len().unwrap_or(0);
    if elf.shoff == 0 || table_len == 0 || table_len > 8 << 20 || elf.shoff >= size {
        // No usable section table (rare: packed binaries): fall back to one streaming pass.
        f.seek(SeekFrom::Start(0))?;
        return analyze_stream(path, f);
    }
    let table = read_at(f, elf.shoff, table_len)?;
    let Some((_, str_off, str_size)) = elf.section(&table, elf.shstrndx) else {
        return Ok(None);
    };
    let strtab = read_at(f, str_off, str_size.min(MAX_SECTION))?;
    let found = elf.find(&table, &strtab, &[b".go.buildinfo", b".dep-v0", b".data"]);
    // Data appended after the section header table, and the bundle signature in the app
    // host's `.data`: a .NET single-file bundle (patchelf also appends data, without it).
    if size > elf.shoff.saturating_add(table_len) {
        if let Some(Some((off, len))) = found.get(2) {
            let data = read_at(f, *off, (*len).min(MAX_SECTION))?;
            if DotnetSearch::find(&data, 0).is_some() {
                if let Some(found) = dotnet_whole(path, size, || read_at(f, 0, size))? {
                    return Ok(Some(found));
                }
            }
        }
    }
    let mut go = None;
    if let Some(Some((off, len))) = found.first() {
        let bytes = read_at(f, *off, (*len).min(GO_WINDOW as u64))?;
        go = parse_go_buildinfo(&bytes);
        if go.is_none() {
            // The header points at data elsewhere in old (pre-1.18) binaries; the magic may
            // also sit at an offset inside the section.
            f.seek(SeekFrom::Start(0))?;
            return analyze_stream(path, f);
        }
    }
    let dep = match found.get(1) {
        Some(Some((off, len))) => Some(read_at(f, *off, (*len).min(MAX_SECTION))?),
        _ => None,
    };
    Ok(facts(path, go, dep.as_deref()))
}

/// Searches a stream for Go build information chunk by chunk.
#[derive(Default)]
struct GoSearch {
    /// bytes not yet searched, or from a candidate header on
    window: Vec<u8>,
    /// where the search resumes in `window`
    from: usize,
    /// a valid-looking header at `window[0]` whose strings are not complete yet
    pending: bool,
    found: Option<GoBuildInfo>,
}

impl GoSearch {
    /// Whether the 32-byte header at the start of `h` is a pointer-free build info header.
    fn header_valid(h: &[u8]) -> bool {
        matches!(h.get(14), Some(4 | 8)) && h.get(15).is_some_and(|f| f & !0x3 == 0 && f & 0x2 != 0)
    }

    fn feed(&mut self, chunk: &[u8], eof: bool) {
        if self.found.is_some() {
            return;
        }
        self.window.extend_from_slice(chunk);
        let finder = memchr::memmem::Finder::new(GO_MAGIC);
        loop {
            let at = if self.pending {
                0
            } else {
                match self.window.get(self.from..).and_then(|w| finder.find(w)) {
                    Some(i) => self.from + i,
                    None => {
                        // Keep what could be the start of a magic cut by the chunk's end.
                        let keep = GO_MAGIC.len() - 1;
                        let cut = self.window.len().saturating_sub(keep);
                        self.window.drain(..cut);
                        self.from = 0;
                        return;
                    }
                }
            };
            let rest = self.window.get(at..).unwrap_or_default();
            let complete_header = rest.len() >= 32;
            if complete_header && !Self::header_valid(rest) {
                self.pending = false;
                self.from = at + 1;
                continue;
            }
            if complete_header {
                if let Some(info) = parse_go_buildinfo(rest) {
                    self.found = Some(info);
                    self.window = Vec::new();
                    return;
                }
            }
            if !eof && rest.len() < GO_WINDOW {
                // Wait for the rest of the strings.
                self.window.drain(..at);
                self.pending = true;
                self.from = 0;
                return;
            }
            self.pending = false;
            self.from = at + 1;
        }
    }
}

/// Byte ranges of a stream kept for after its end: the start of the non-loaded tail and the
/// bytes before the section header table (plus the table), where linkers and objcopy put
/// non-loaded sections such as `.dep-v0`.
struct Windows {
    /// (first offset, end offset, bytes kept)
    ranges: Vec<(u64, u64, Vec<u8>)>,
}

impl Windows {
    fn new(elf: &Elf, tail_from: u64) -> Self {
        let mut ranges = Vec::new();
        if tail_from != u64::MAX {
            ranges.push((tail_from, tail_from.saturating_add(TAIL_WINDOW), Vec::new()));
        }
        if elf.shoff > 0 {
            let before = elf
                .shoff
                .saturating_sub(TAIL_WINDOW / 2)
                .max(tail_from.min(elf.shoff));
            let table_end = elf
                .shoff
                .saturating_add(elf.sh_table_len().unwrap_or(0).min(MAX_TABLE));
            ranges.push((before, table_end, Vec::new()));
        }
        Self { ranges }
    }

    /// Keeps the parts of the chunk at stream offset `pos` that fall in a window.
    fn feed(&mut self, pos: u64, chunk: &[u8]) {
        let end = pos + chunk.len() as u64;
        for (from, to, kept) in &mut self.ranges {
            let s = pos.max(*from);
            let e = end.min(*to);
            if s >= e || s != *from + kept.len() as u64 {
                continue;
            }
            let a = usize::try_from(s - pos).unwrap_or(usize::MAX);
            let b = usize::try_from(e - pos).unwrap_or(usize::MAX);
            kept.extend_from_slice(chunk.get(a..b).unwrap_or_default());
        }
    }

    /// The bytes at `[off, off + len)`, when one window holds them all.
    fn get(&self, off: u64, len: u64) -> Option<&[u8]> {
        self.ranges.iter().find_map(|(from, _, kept)| {
            let a = usize::try_from(off.checked_sub(*from)?).ok()?;
            let b = a.checked_add(usize::try_from(len).ok()?)?;
            kept.get(a..b)
        })
    }
}

/// The NuGet packages of a .NET single-file bundle. The signature also appears as data in
/// programs that handle bundles (this one among them), so a file whose bundle header does not
/// read is taken for such a program, not for a broken bundle: no packages, no error.
fn dotnet_packages(path: &str, bytes: &[u8]) -> Vec<Package> {
    dotnet_bundle(path, bytes).unwrap_or_default()
}

/// A .NET single-file bundle read whole when within the limit (else a problem is recorded);
/// `None` when it holds no packages after all.
fn dotnet_whole(
    path: &str,
    size: u64,
    read: impl FnOnce() -> io::Result<Vec<u8>>,
) -> io::Result<Option<BinaryFacts>> {
    if size > MAX_DOTNET_BUNDLE {
        return Ok(Some(BinaryFacts {
            packages: Vec::new(),
            error: Some(format!(
                "{path}: a .NET single-file bundle of {size} bytes, over the \
                 {MAX_DOTNET_BUNDLE}-byte limit; its NuGet packages are not listed"
            )),
        }));
    }
    let packages = dotnet_packages(path, &read()?);
    Ok((!packages.is_empty()).then_some(BinaryFacts {
        packages,
        error: None,
    }))
}

/// One pass over a stream: Go magic search and the windows where `.dep-v0` can be.
fn analyze_stream(path: &str, r: &mut dyn Read) -> io::Result<Option<BinaryFacts>> {
    let mut buf = vec![0u8; READ_CHUNK];
    let first = rampart_image::read_up_to(r, &mut buf)?;
    let head = buf.get(..first).unwrap_or_default();
    let Some(elf) = Elf::parse(head) else {
        return Ok(None);
    };
    let tail_from = elf.load_end(head).unwrap_or(u64::MAX);
    let mut go = GoSearch::default();
    let mut windows = Windows::new(&elf, tail_from);
    let elf_end = elf.shoff.saturating_add(elf.sh_table_len().unwrap_or(0));
    let mut dotnet = DotnetSearch::default();
    let mut pos: u64 = 0;
    let mut len = first;
    while len > 0 {
        let chunk = buf.get(..len).unwrap_or_default();
        let eof = len < buf.len();
        go.feed(chunk, eof);
        if go.found.is_none() {
            windows.feed(pos, chunk);
        }
        if elf.shoff > 0 {
            dotnet.feed(pos, chunk, elf_end);
        }
        pos += len as u64;
        if eof {
            break;
        }
        len = rampart_image::read_up_to(r, &mut buf)?;
    }
    if let Some(found) = dotnet.finish(path, elf_end) {
        return Ok(Some(found));
    }
    if let Some(info) = go.found {
        return Ok(facts(path, Some(info), None));
    }
    match dep_v0_in(&elf, &windows) {
        DepV0::Absent => Ok(None),
        DepV0::Found(section) => Ok(facts(path, None, Some(section))),
        DepV0::NotKept(off) => Ok(Some(BinaryFacts {
            packages: Vec::new(),
            error: Some(format!(
                "{path}: cargo-auditable data at offset {off} lies outside what is kept while \
                 streaming a layer; its Rust crates are not listed"
            )),
        })),
    }
}

enum DepV0<'w> {
    Absent,
    Found(&'w [u8]),
    NotKept(u64),
}

/// Locates `.dep-v0` through the section headers kept in the windows.
fn dep_v0_in<'w>(elf: &Elf, w: &'w Windows) -> DepV0<'w> {
    let Some(table) = elf.sh_table_len().and_then(|l| w.get(elf.shoff, l)) else {
        return DepV0::Absent;
    };
    let Some((_, str_off, str_size)) = elf.section(table, elf.shstrndx) else {
        return DepV0::Absent;
    };
    let Some(strtab) = w.get(str_off, str_size) else {
        return DepV0::Absent;
    };
    match elf
        .find(table, strtab, &[b".dep-v0"])
        .into_iter()
        .next()
        .flatten()
    {
        None => DepV0::Absent,
        Some((off, size)) => w.get(off, size).map_or(DepV0::NotKept(off), DepV0::Found),
    }
}
