//! Go binaries: the build information the Go linker embeds (`.go.buildinfo`).
//!
//! Layout (Go ≥ 1.18, "pointer-free" form): a 32-byte header starting with the magic
//! `\xff Go buildinf:` (14 bytes), then the pointer size (1 byte) and flags (1 byte; bit 2 set =
//! strings inline), padding to 32 bytes; then two strings, each prefixed by its length as an
//! unsigned LEB128 varint: the Go version, then the module info. The module info is framed by
//! 16-byte sentinels and holds tab-separated lines: `path`, `mod` (main module), `dep`, `=>`
//! (replacement of the line before), `build` (settings). Older binaries (Go < 1.18) store
//! pointers instead and are not read here.

use crate::{CatalogError, Ecosystem, Package, Purl};

const MAGIC: &[u8] = b"\xff Go buildinf:";
const FLAG_INLINE: u8 = 0x2;
const SENTINEL_LEN: usize = 16;

/// One module line (`mod`, `dep` or `=>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoModule {
    /// Module path.
    pub path: String,
    /// Version (`v1.2.3`, a pseudo-version, or `(devel)`).
    pub version: String,
    /// go.sum hash, if recorded.
    pub sum: Option<String>,
    /// The replacement (`=>` line), if any.
    pub replace: Option<Box<GoModule>>,
}

/// The build information of a Go binary, as `go version -m` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoBuildInfo {
    /// Toolchain version, e.g. `go1.22.5`.
    pub go_version: String,
    /// Main package path (`path` line).
    pub path: Option<String>,
    /// Main module (`mod` line); absent for GOPATH-mode builds.
    pub main: Option<GoModule>,
    /// Dependencies (`dep` lines), in order.
    pub deps: Vec<GoModule>,
    /// Build settings (`build` lines), in order.
    pub settings: Vec<(String, String)>,
}

/// Whether `prefix` (the first bytes of a file) starts an ELF image: the layer reader uses this
/// to decide which executables to hand to [`go_binary`].
pub fn is_elf(prefix: &[u8]) -> bool {
    prefix.starts_with(b"\x7fELF")
}

fn uvarint(data: &[u8]) -> Option<(usize, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in data.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f).checked_shl(u32::try_from(7 * i).ok()?)?;
        if b & 0x80 == 0 {
            return Some((usize::try_from(value).ok()?, i + 1));
        }
    }
    None
}

fn read_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, n) = uvarint(data)?;
    let rest = data.get(n..)?;
    Some((rest.get(..len)?, rest.get(len..)?))
}

/// Finds and decodes the build information in a Go binary. In an ELF file the
/// `.go.buildinfo` section is read (the linker itself contains the magic as data elsewhere);
/// otherwise, or if the section is missing, the bytes are searched for a header that validates
/// (pointer size 4 or 8, known flags, printable version). `None` if absent, truncated or in the
/// pre-1.18 pointer form.
pub fn parse_go_buildinfo(content: &[u8]) -> Option<GoBuildInfo> {
    if let Some(section) = elf_section(content, b".go.buildinfo") {
        if let Some(info) = scan(section, 16) {
            return Some(info);
        }
    }
    scan(content, 1)
}

fn scan(data: &[u8], align: usize) -> Option<GoBuildInfo> {
    let mut from = 0;
    while let Some(pos) = find(data.get(from..)?, MAGIC).map(|p| p + from) {
        from = pos + 1;
        if pos % align != 0 {
            continue;
        }
        if let Some(info) = decode_at(data, pos) {
            return Some(info);
        }
    }
    None
}

fn decode_at(data: &[u8], pos: usize) -> Option<GoBuildInfo> {
    let header = data.get(pos..pos.checked_add(32)?)?;
    let ptr_size = *header.get(14)?;
    let flags = *header.get(15)?;
    if !matches!(ptr_size, 4 | 8) || flags & !0x3 != 0 || flags & FLAG_INLINE == 0 {
        return None;
    }
    let (version, rest) = read_string(data.get(pos + 32..)?)?;
    if version.is_empty() || !version.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return None;
    }
    let (modinfo, _) = read_string(rest)?;
    let mut info = parse_modinfo(&String::from_utf8_lossy(strip_sentinels(modinfo)));
    info.go_version = String::from_utf8_lossy(version).into_owned();
    Some(info)
}

/// The bytes of the ELF section named `name`, from the section headers (32 or 64 bit, either
/// byte order). `None` for anything malformed.
pub(crate) fn elf_section<'a>(content: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    if !is_elf(content) {
        return None;
    }
    let is64 = match content.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let le = match content.get(5)? {
        1 => true,
        2 => false,
        _ => return None,
    };
    let uint = |off: usize, size: usize| -> Option<usize> {
        let b = content.get(off..off.checked_add(size)?)?;
        let mut v: u64 = 0;
        for i in 0..size {
            let byte = if le { b.get(size - 1 - i)? } else { b.get(i)? };
            v = (v << 8) | u64::from(*byte);
        }
        usize::try_from(v).ok()
    };
    let (shoff, shentsize, shnum, shstrndx) = if is64 {
        (
            uint(0x28, 8)?,
            uint(0x3a, 2)?,
            uint(0x3c, 2)?,
            uint(0x3e, 2)?,
        )
    } else {
        (
            uint(0x20, 4)?,
            uint(0x2e, 2)?,
            uint(0x30, 2)?,
            uint(0x32, 2)?,
        )
    };
    let word = if is64 { 8 } else { 4 };
    // (name offset, file offset, size) of section `i`.
    let header = |i: usize| -> Option<(usize, usize, usize)> {
        let base = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let name_off = uint(base, 4)?;
        let (off_pos, size_pos) = if is64 { (24, 32) } else { (16, 20) };
        Some((
            name_off,
            uint(base.checked_add(off_pos)?, word)?,
            uint(base.checked_add(size_pos)?, word)?,
        ))
    };
    let (_, str_off, str_size) = header(shstrndx)?;
    let strtab = content.get(str_off..str_off.checked_add(str_size)?)?;
    (0..shnum.min(65_535)).find_map(|i| {
        let (n, off, size) = header(i)?;
        let rest = strtab.get(n..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        (rest.get(..end)? == name).then(|| content.get(off..off.checked_add(size)?))?
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn strip_sentinels(modinfo: &[u8]) -> &[u8] {
    let n = modinfo.len();
    if n > 2 * SENTINEL_LEN && modinfo.get(n - SENTINEL_LEN - 1) == Some(&b'\n') {
        modinfo
            .get(SENTINEL_LEN..n - SENTINEL_LEN)
            .unwrap_or(modinfo)
    } else {
        modinfo
    }
}

fn module(fields: &str) -> Option<GoModule> {
    let mut f = fields.split('\t');
    let path = f.next().filter(|p| !p.is_empty())?.to_owned();
    let version = f.next().unwrap_or_default().to_owned();
    let sum = f.next().filter(|s| !s.is_empty()).map(str::to_owned);
    Some(GoModule {
        path,
        version,
        sum,
        replace: None,
    })
}

/// Parses the module info text (the `go version -m` lines without the leading tab).
pub fn parse_modinfo(text: &str) -> GoBuildInfo {
    let mut info = GoBuildInfo::default();
    // Which module the next `=>` line replaces: None, the main module, or the last dep.
    let mut last_is_main = None;
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("path\t") {
            info.path = Some(p.to_owned());
        } else if let Some(m) = line.strip_prefix("mod\t") {
            info.main = module(m);
            last_is_main = Some(true);
        } else if let Some(d) = line.strip_prefix("dep\t") {
            if let Some(m) = module(d) {
                info.deps.push(m);
                last_is_main = Some(false);
            }
        } else if let Some(r) = line.strip_prefix("=>\t") {
            let target = match last_is_main {
                Some(true) => info.main.as_mut(),
                Some(false) => info.deps.last_mut(),
                None => None,
            };
            if let (Some(t), Some(rep)) = (target, module(r)) {
                t.replace = Some(Box::new(rep));
            }
            last_is_main = None;
        } else if let Some(b) = line.strip_prefix("build\t") {
            if let Some((k, v)) = b.split_once('=') {
                info.settings.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    info
}

/// The package of one module line (its replacement, when it names another module), found in
/// the binary at `path`.
pub fn go_module_package(m: &GoModule, path: &str) -> Option<Package> {
    // A replacement by another module path is what was compiled in; a local directory
    // replacement (`../lib`, `/src/lib`) has no module identity, so the requirement stays.
    let (mod_path, version) = match &m.replace {
        Some(r) if !r.path.starts_with(['.', '/']) => (r.path.as_str(), r.version.as_str()),
        _ => (m.path.as_str(), m.version.as_str()),
    };
    let (ns, name) = match mod_path.rsplit_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, mod_path),
    };
    let purl_version = (version != "(devel)").then_some(version);
    let purl = Purl::new("golang", ns, name, purl_version).ok()?;
    Some(Package::new(
        Ecosystem::Go,
        mod_path.to_owned(),
        version.to_owned(),
        purl,
        path,
    ))
}

/// Packages of a Go binary: its main module and every dependency. A file without readable
/// build information yields no packages (most ELF files are not Go binaries). Binaries may be
/// larger than [`crate::MAX_INPUT`]; the work is one linear scan.
pub fn go_binary(path: &str, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let Some(info) = parse_go_buildinfo(content) else {
        return Ok(Vec::new());
    };
    Ok(info
        .main
        .iter()
        .chain(&info.deps)
        .filter_map(|m| go_module_package(m, path))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = b"garbage\x7fELF".to_vec();
        b.extend(MAGIC);
        b.extend([8, FLAG_INLINE]);
        b.resize(b.len() + 16, 0);
        b.push(u8::try_from(version.len()).unwrap_or(0));
        b.extend(version.as_bytes());
        let framed = format!("{}{modinfo}{}", "0".repeat(16), "1".repeat(16));
        let mut n = framed.len();
        while n >= 0x80 {
            b.push(u8::try_from(n & 0x7f).unwrap_or(0) | 0x80);
            n >>= 7;
        }
        b.push(u8::try_from(n).unwrap_or(0));
        b.extend(framed.as_bytes());
        b
    }

    #[test]
    fn inline_format_with_replacement() -> Result<(), CatalogError> {
        let modinfo = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n\
dep\tgithub.com/a/b\tv1.0.0\th1:x=\n=>\tgithub.com/c/b\tv1.1.0\th1:y=\n\
dep\texample.com/lib\tv1.2.3\n=>\t../lib\t(devel)\t\nbuild\tGOOS=linux\n";
        let data = blob("go1.22.5", modinfo);
        let info = parse_go_buildinfo(&data);
        assert_eq!(
            info.as_ref().map(|i| i.go_version.as_str()),
            Some("go1.22.5")
        );
        assert_eq!(info.as_ref().map(|i| i.deps.len()), Some(2));
        let pkgs = go_binary("usr/bin/app", &data)?;
        let got: Vec<String> = pkgs.iter().map(|p| p.purl.to_string()).collect();
        assert_eq!(
            got,
            [
                "pkg:golang/example.com/app",
                "pkg:golang/github.com/c/b@v1.1.0",
                "pkg:golang/example.com/lib@v1.2.3"
            ]
        );
        Ok(())
    }

    /// Regression: cmd/link contains the magic as data before any real header; the first match
    /// must not be taken blindly.
    #[test]
    fn magic_as_data_is_skipped() {
        let mut data = MAGIC.to_vec();
        data.extend(b"cov_cntrs__symbol_stub1_rt0_%s_%s_liballocfree");
        data.extend(blob("go1.19.8", "path\tcmd/link\n"));
        let info = parse_go_buildinfo(&data);
        assert_eq!(
            info.as_ref().map(|i| i.go_version.as_str()),
            Some("go1.19.8")
        );
        assert_eq!(info.and_then(|i| i.path).as_deref(), Some("cmd/link"));
    }

    #[test]
    fn elf_sections_of_this_test_binary() -> Result<(), std::io::Error> {
        // The test executable is a real ELF file with a .text section.
        let exe = std::fs::read(std::env::current_exe()?)?;
        assert!(elf_section(&exe, b".text").is_some_and(|t| !t.is_empty()));
        assert!(elf_section(&exe, b".go.buildinfo").is_none());
        for cut in [0, 4, 16, 64, 100] {
            let _ = elf_section(exe.get(..cut).unwrap_or_default(), b".text");
        }
        Ok(())
    }

    #[test]
    fn truncated_and_old_format() {
        let data = blob("go1.22.5", "path\tx\n");
        for cut in 0..data.len() {
            let _ = parse_go_buildinfo(data.get(..cut).unwrap_or_default());
        }
        let mut old = MAGIC.to_vec();
        old.extend([8, 0]);
        old.resize(64, 0);
        assert_eq!(parse_go_buildinfo(&old), None);
        assert_eq!(uvarint(&[0xff; 11]), None);
    }

    proptest! {
        #[test]
        fn never_panics(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut data = MAGIC.to_vec();
            data.extend([8, FLAG_INLINE]);
            data.resize(32, 0);
            data.extend(tail);
            let _ = go_binary("x", &data);
        }

        #[test]
        fn elf_headers_never_panic(class in 0u8..4, order in 0u8..4, tail in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut data = b"\x7fELF".to_vec();
            data.extend([class, order]);
            data.extend(tail);
            let _ = elf_section(&data, b".go.buildinfo");
            let _ = go_binary("x", &data);
        }

        #[test]
        fn elf_huge_offsets_never_panic(shoff in any::<u64>(), shentsize in any::<u16>(), shnum in any::<u16>(), shstrndx in any::<u16>()) {
            let mut data = b"\x7fELF\x02\x01".to_vec();
            data.resize(0x28, 0);
            data.extend(shoff.to_le_bytes());
            data.resize(0x3a, 0);
            data.extend(shentsize.to_le_bytes());
            data.extend(shnum.to_le_bytes());
            data.extend(shstrndx.to_le_bytes());
            data.resize(512, 0xff);
            let _ = elf_section(&data, b".dep-v0");
        }

        #[test]
        fn modinfo_never_panics(s in "((path|mod|dep|=>|build)\t[a-z./()=\t]{0,20}\n){0,20}") {
            let _ = parse_modinfo(&s);
        }
    }
}
