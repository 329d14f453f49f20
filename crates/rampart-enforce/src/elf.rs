//! What the kernel opens for exec besides the file itself: the ELF interpreter (`PT_INTERP`,
//! the dynamic loader) of a dynamically linked program and the `#!` interpreter of a script.
//! Landlock checks `LANDLOCK_ACCESS_FS_EXECUTE` on each (the kernel opens them with
//! `open_exec`), so an exec allow-list must include them.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::root::Root;

/// The kernel's limit on nested interpreters (`#!` chains; fs/exec.c allows 5 levels).
const MAX_DEPTH: usize = 5;
/// The bytes of a `#!` line the kernel reads (BINPRM_BUF_SIZE).
const BINPRM_BUF_SIZE: usize = 256;
/// More program headers than any real ELF has: the limit on what is read.
const MAX_PHNUM: u64 = 512;
/// The longest interpreter path read.
const MAX_INTERP: u64 = 4096;

const PT_INTERP: u32 = 3;

/// The interpreter the kernel opens when `path` is executed: `PT_INTERP` of an ELF, the program
/// of a `#!` line. `None` for a static ELF, a file of another format, or an unreadable file.
pub fn interpreter(path: &Path) -> Option<PathBuf> {
    // regular files only: opening a FIFO would wait for a writer, a device could do anything
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let mut f = File::open(path).ok()?;
    let mut head = [0u8; BINPRM_BUF_SIZE];
    let n = read_up_to(&mut f, &mut head).ok()?;
    let head = head.get(..n)?;
    if let Some(rest) = head.strip_prefix(b"#!") {
        return shebang(rest);
    }
    if head.starts_with(b"\x7fELF") {
        return elf_interp(&mut f, head);
    }
    None
}

/// `path`'s interpreters, theirs, and so on (as deep as the kernel goes).
pub fn interpreters_of(path: &Path) -> Vec<PathBuf> {
    interpreters_cached(&Root::host(), path, &mut HashMap::new())
}

/// [`interpreters_of`] for a path of the filesystem under `root`, each interpreter's own
/// interpreter read once (`cache`). The interpreters are named as the root's processes see them.
fn interpreters_cached(
    root: &Root,
    path: &Path,
    cache: &mut HashMap<PathBuf, Option<PathBuf>>,
) -> Vec<PathBuf> {
    let read = |p: &Path| interpreter(&root.outside(&root.resolve(p)));
    let mut out = Vec::new();
    let Some(mut cur) = read(path) else {
        return out;
    };
    for _ in 0..MAX_DEPTH {
        if out.contains(&cur) {
            break;
        }
        out.push(cur.clone());
        let next = cache
            .entry(cur.clone())
            .or_insert_with(|| read(&cur))
            .clone();
        match next {
            Some(n) => cur = n,
            None => break,
        }
    }
    out
}

/// The interpreters needed by the executables at `paths`: files directly, directories walked
/// (at most `max_files` files; the walk stops there and says so by returning `false`).
pub fn interpreters_beneath(paths: &[PathBuf], max_files: usize) -> (BTreeSet<PathBuf>, bool) {
    interpreters_beneath_in(&Root::host(), paths, max_files)
}

/// [`interpreters_beneath`] for paths of the filesystem under `root` (a container's, seen from
/// the host): symbolic links resolve inside it.
pub fn interpreters_beneath_in(
    root: &Root,
    paths: &[PathBuf],
    max_files: usize,
) -> (BTreeSet<PathBuf>, bool) {
    let mut out = BTreeSet::new();
    let mut cache = HashMap::new();
    let mut seen = 0usize;
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(root.outside(&p)) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(rd) = std::fs::read_dir(root.outside(&p)) {
                stack.extend(rd.flatten().map(|e| p.join(e.file_name())));
            }
            continue;
        }
        seen += 1;
        if seen > max_files {
            return (out, false);
        }
        // a symlink is followed (exec does), its target's interpreter counts
        out.extend(interpreters_cached(root, &p, &mut cache));
    }
    (out, true)
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let Some(rest) = buf.get_mut(n..) else { break };
        match f.read(rest)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The program of a `#!` line (what follows `#!`, up to the first blank or end of line).
fn shebang(rest: &[u8]) -> Option<PathBuf> {
    let line = rest.split(|&b| b == b'\n').next()?;
    let line: Vec<u8> = line
        .iter()
        .copied()
        .skip_while(|b| *b == b' ' || *b == b'\t')
        .take_while(|b| *b != b' ' && *b != b'\t' && *b != b'\r' && *b != 0)
        .collect();
    if line.is_empty() {
        return None;
    }
    Some(PathBuf::from(String::from_utf8(line).ok()?))
}

fn field(b: &[u8], off: usize, len: usize, le: bool) -> Option<u64> {
    let s = b.get(off..off.checked_add(len)?)?;
    let mut v = 0u64;
    if le {
        for byte in s.iter().rev() {
            v = (v << 8) | u64::from(*byte);
        }
    } else {
        for byte in s {
            v = (v << 8) | u64::from(*byte);
        }
    }
    Some(v)
}

/// `PT_INTERP` of an ELF file whose first bytes are `head`.
fn elf_interp(f: &mut File, head: &[u8]) -> Option<PathBuf> {
    let class64 = match head.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let le = match head.get(5)? {
        1 => true,
        2 => false,
        _ => return None,
    };
    let (phoff, phentsize, phnum) = if class64 {
        (
            field(head, 32, 8, le)?,
            field(head, 54, 2, le)?,
            field(head, 56, 2, le)?,
        )
    } else {
        (
            field(head, 28, 4, le)?,
            field(head, 42, 2, le)?,
            field(head, 44, 2, le)?,
        )
    };
    let min = if class64 { 56 } else { 32 };
    if phnum == 0 || phnum > MAX_PHNUM || phentsize < min {
        return None;
    }
    let mut table = vec![0u8; usize::try_from(phentsize.checked_mul(phnum)?).ok()?];
    f.seek(SeekFrom::Start(phoff)).ok()?;
    f.read_exact(&mut table).ok()?;
    for ph in table.chunks(usize::try_from(phentsize).ok()?) {
        if field(ph, 0, 4, le)? != u64::from(PT_INTERP) {
            continue;
        }
        let (off, size) = if class64 {
            (field(ph, 8, 8, le)?, field(ph, 32, 8, le)?)
        } else {
            (field(ph, 4, 4, le)?, field(ph, 16, 4, le)?)
        };
        if size == 0 || size > MAX_INTERP {
            return None;
        }
        let mut name = vec![0u8; usize::try_from(size).ok()?];
        f.seek(SeekFrom::Start(off)).ok()?;
        f.read_exact(&mut name).ok()?;
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        name.truncate(end);
        return Some(PathBuf::from(String::from_utf8(name).ok()?));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_dynamic_programs_name_their_loader() {
        // /bin/sh on Debian is dynamically linked: its PT_INTERP is the x86-64 loader
        let i = interpreter(Path::new("/bin/sh")).unwrap();
        assert!(i.to_string_lossy().contains("ld-linux"), "{i:?}");
        assert!(i.exists());
    }

    #[test]
    fn scripts_name_their_shebang_program() {
        let d = tempfile::tempdir().unwrap();
        let s = d.path().join("s");
        std::fs::write(&s, "#! /bin/sh -e\necho hi\n").unwrap();
        assert_eq!(interpreter(&s), Some(PathBuf::from("/bin/sh")));
        // and the chain continues into /bin/sh's own loader
        let all = interpreters_of(&s);
        assert_eq!(all.first(), Some(&PathBuf::from("/bin/sh")));
        assert!(
            all.get(1)
                .is_some_and(|p| p.to_string_lossy().contains("ld-linux"))
        );
        std::fs::write(&s, "#!\n").unwrap();
        assert_eq!(interpreter(&s), None);
        std::fs::write(&s, "plain text").unwrap();
        assert_eq!(interpreter(&s), None);
    }

    #[test]
    fn fifos_and_devices_are_not_opened() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        // would block forever if opened
        assert_eq!(interpreter(&fifo), None);
        let (found, complete) = interpreters_beneath(&[d.path().to_path_buf()], 10);
        assert!(found.is_empty() && complete);
        assert_eq!(interpreter(Path::new("/dev/zero")), None);
    }

    #[test]
    fn static_programs_have_none() {
        let bb = rampart_testkit::runc::busybox();
        assert_eq!(interpreter(bb), None);
    }
}
