//! Sources that are not files to read as they are: Helm charts and Kustomize directories
//! (rendered by the real tools, `helm template` and `kubectl kustomize` / `kustomize build`),
//! standard input, and the `rampart.toml` that applies to a scanned path.
//!
//! Rendered objects point back to their sources where the tools say: Helm's `# Source:`
//! comments name each template, Kustomize's `config.kubernetes.io/origin` annotations (asked
//! for with `buildMetadata: [originAnnotations]` in a wrapper kustomization, the user's files
//! untouched) name each resource file. Neither tool maps output lines to source lines: a line
//! reported in a rendered file counts in that file's rendered output.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// The name standard input is reported under.
pub const STDIN_NAME: &str = "<stdin>";

/// Rendered output larger than this is not scanned.
const MAX_RENDERED: usize = 64 * 1024 * 1024;

/// What renders a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderKind {
    /// A Helm chart (`Chart.yaml`): `helm template`.
    Helm,
    /// A Kustomization (`kustomization.yaml`): `kubectl kustomize` or `kustomize build`.
    Kustomize,
}

impl RenderKind {
    pub fn describe(self) -> &'static str {
        match self {
            RenderKind::Helm => "Helm chart",
            RenderKind::Kustomize => "Kustomize directory",
        }
    }
}

/// The kustomization file names Kustomize recognises.
const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file of `dir`, if it has one.
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Whether `dir` is rendered before scanning, and by what. A Kustomize `Component` is not
/// rendered on its own (Kustomize cannot build one): the kustomizations using it render it.
pub fn render_kind(dir: &Path) -> Option<RenderKind> {
    if dir.join("Chart.yaml").is_file() {
        return Some(RenderKind::Helm);
    }
    let k = kustomization_file(dir)?;
    let text = std::fs::read_to_string(k).unwrap_or_default();
    let component = text
        .lines()
        .any(|l| l.trim_end() == "kind: Component" || l.trim_end() == "kind: \"Component\"");
    (!component).then_some(RenderKind::Kustomize)
}

/// Files of `dir` its kustomization file names (resources, patches, generator files...): the
/// inputs of the rendering, not scanned as manifests on their own. Every string value that
/// names an existing file relative to `dir` counts (`key=path` generator entries too).
pub fn kustomize_inputs(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let Some(k) = kustomization_file(dir) else {
        return out;
    };
    out.insert(normalize(&k));
    let text = std::fs::read_to_string(&k).unwrap_or_default();
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or("").trim();
        let value = line
            .strip_prefix("- ")
            .map(str::trim)
            .map(|v| v.rsplit_once(": ").map_or(v, |(_, v)| v))
            .or_else(|| line.split_once(": ").map(|(_, v)| v))
            .unwrap_or("")
            .trim()
            .trim_matches(['"', '\'']);
        let value = value.rsplit_once('=').map_or(value, |(_, v)| v);
        if value.is_empty() || value.contains("://") {
            continue;
        }
        let p = dir.join(value);
        if p.is_file() {
            out.insert(normalize(&p));
        }
    }
    out
}

/// A file produced by rendering or read from standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualFile {
    /// The name findings carry: the source template or resource file where known.
    pub file: String,
    pub text: String,
}

/// Lexically normalized path (`a/./b/../c` → `a/c`), keeping leading `..` of relative paths.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    let p: PathBuf = out.iter().collect();
    if p.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        p
    }
}

/// `path` made absolute against the current directory, normalized.
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        normalize(path)
    } else {
        let cwd = std::env::current_dir().unwrap_or_default();
        normalize(&cwd.join(path))
    }
}

/// The relative path from directory `from` to `to` (both absolute and normalized).
pub fn relative_to(to: &Path, from: &Path) -> PathBuf {
    let to: Vec<Component> = to.components().collect();
    let from: Vec<Component> = from.components().collect();
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in to.iter().skip(common) {
        out.push(c);
    }
    out
}

fn display(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

/// `shown` (the directory as the user named it) joined with `rel`, normalized for display.
fn shown_join(shown: &Path, rel: &Path) -> String {
    display(&normalize(&shown.join(rel)))
}

/// The first of `names` found on PATH.
fn on_path(names: &[&str]) -> Option<(String, PathBuf)> {
    let path = std::env::var_os("PATH")?;
    for name in names {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(((*name).to_owned(), p));
            }
        }
    }
    None
}

fn run(mut cmd: Command, what: &str) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.trim();
        let first: String = err.lines().take(3).collect::<Vec<_>>().join(" ");
        return Err(format!(
            "{what} failed ({}): {}",
            out.status,
            if first.is_empty() {
                "no message"
            } else {
                &first
            }
        ));
    }
    if out.stdout.len() > MAX_RENDERED {
        return Err(format!(
            "{what} printed {} bytes, over the {} MiB limit",
            out.stdout.len(),
            MAX_RENDERED / (1024 * 1024)
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("{what} printed invalid UTF-8"))
}

/// Renders the chart or kustomization `dir` (named `shown` by the user) into files named after
/// their sources, or says why it could not be rendered.
pub fn render(dir: &Path, shown: &Path, kind: RenderKind) -> Result<Vec<VirtualFile>, String> {
    match kind {
        RenderKind::Helm => render_helm(dir, shown),
        RenderKind::Kustomize => render_kustomize(dir, shown),
    }
}

fn render_helm(dir: &Path, shown: &Path) -> Result<Vec<VirtualFile>, String> {
    let Some((_, helm)) = on_path(&["helm"]) else {
        return Err(
            "not rendered: `helm` is not on PATH (install Helm, or render it yourself: \
                    `helm template CHART | rampart scan -`)"
                .to_owned(),
        );
    };
    let mut cmd = Command::new(helm);
    cmd.arg("template").arg(dir);
    let text = run(cmd, "helm template").map_err(|e| format!("not rendered: {e}"))?;
    Ok(split_helm(&text, shown))
}

/// Splits `helm template` output at its `# Source: <chart>/<path>` comments into one file per
/// template, named `<chart directory>/<path>`.
pub fn split_helm(text: &str, shown: &Path) -> Vec<VirtualFile> {
    let mut files: Vec<VirtualFile> = Vec::new();
    let mut current: Option<usize> = None;
    let mut preamble = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(source) = line.trim_end().strip_prefix("# Source: ") {
            // `<chart name>/templates/x.yaml`: the chart name is the directory rendered.
            let rel = source.split_once('/').map_or(source, |(_, r)| r);
            let name = shown_join(shown, Path::new(rel));
            let idx = match files.iter().position(|f| f.file == name) {
                Some(i) => {
                    if let Some(f) = files.get_mut(i) {
                        f.text.push_str("---\n");
                    }
                    i
                }
                None => {
                    files.push(VirtualFile {
                        file: name,
                        text: String::new(),
                    });
                    files.len() - 1
                }
            };
            current = Some(idx);
            continue;
        }
        if line.trim_end() == "---" {
            continue;
        }
        match current.and_then(|i| files.get_mut(i)) {
            Some(f) => f.text.push_str(line),
            None => preamble.push_str(line),
        }
    }
    if !preamble.trim().is_empty() {
        files.push(VirtualFile {
            file: shown_join(shown, Path::new("Chart.yaml")),
            text: preamble,
        });
    }
    files
}

fn render_kustomize(dir: &Path, shown: &Path) -> Result<Vec<VirtualFile>, String> {
    let Some((tool, bin)) = on_path(&["kubectl", "kustomize"]) else {
        return Err(
            "not rendered: neither `kubectl` nor `kustomize` is on PATH (install one, or \
                    render it yourself: `kubectl kustomize DIR | rampart scan -`)"
                .to_owned(),
        );
    };
    let dir_abs = std::fs::canonicalize(dir).map_err(|e| format!("not rendered: {e}"))?;
    // A wrapper kustomization asks for origin annotations without touching the user's files.
    let wrap =
        tempfile::tempdir().map_err(|e| format!("not rendered: temporary directory: {e}"))?;
    let wrap_abs = std::fs::canonicalize(wrap.path()).map_err(|e| format!("not rendered: {e}"))?;
    let rel = relative_to(&dir_abs, &wrap_abs);
    std::fs::write(
        wrap_abs.join("kustomization.yaml"),
        format!(
            "resources:\n- {}\nbuildMetadata: [originAnnotations]\n",
            display(&rel)
        ),
    )
    .map_err(|e| format!("not rendered: {e}"))?;
    let build = |target: &Path| {
        let mut cmd = Command::new(&bin);
        if tool == "kubectl" {
            cmd.arg("kustomize");
        } else {
            cmd.arg("build");
        }
        cmd.arg(target);
        let what = if tool == "kubectl" {
            "kubectl kustomize"
        } else {
            "kustomize build"
        };
        run(cmd, what).map_err(|e| format!("not rendered: {e}"))
    };
    let fallback = kustomization_file(dir)
        .and_then(|k| k.file_name().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("kustomization.yaml"));
    match build(&wrap_abs) {
        Ok(text) => Ok(split_kustomize(
            &text, &wrap_abs, &dir_abs, shown, &fallback,
        )),
        // An old Kustomize without origin annotations: rendered, every object named after the
        // kustomization file. The error, if it persists, is the directory's own.
        Err(_) => {
            let text = build(&dir_abs)?;
            Ok(split_kustomize(
                &text, &wrap_abs, &dir_abs, shown, &fallback,
            ))
        }
    }
}

/// Splits Kustomize output into documents and groups them by the resource file their
/// `config.kubernetes.io/origin` annotation names (relative to the wrapper `wrap`); objects
/// without one (generated) are named after the kustomization file.
fn split_kustomize(
    text: &str,
    wrap: &Path,
    dir_abs: &Path,
    shown: &Path,
    fallback: &Path,
) -> Vec<VirtualFile> {
    let mut files: Vec<VirtualFile> = Vec::new();
    let mut docs: Vec<String> = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else if let Some(d) = docs.last_mut() {
            d.push_str(line);
        }
    }
    for doc in docs.into_iter().filter(|d| !d.trim().is_empty()) {
        let mut origin = None;
        let mut lines = doc.lines();
        while let Some(l) = lines.next() {
            if l.trim_start().starts_with("config.kubernetes.io/origin:") {
                origin = lines
                    .next()
                    .and_then(|n| n.trim().strip_prefix("path: "))
                    .map(|p| p.trim().trim_matches(['"', '\'']).to_owned());
                break;
            }
        }
        let name = match origin {
            Some(p) => {
                let abs = normalize(&wrap.join(p));
                shown_join(shown, &relative_to(&abs, dir_abs))
            }
            None => shown_join(shown, fallback),
        };
        match files.iter_mut().find(|f| f.file == name) {
            Some(f) => {
                f.text.push_str("---\n");
                f.text.push_str(&doc);
            }
            None => files.push(VirtualFile {
                file: name,
                text: doc,
            }),
        }
    }
    files
}

/// The `rampart.toml` that applies to `path`: the first found walking up from it (from its
/// directory for a file) to the repository root (a directory holding `.git`, inclusive) or the
/// filesystem root, as git and cargo find theirs. Returned as a path usable from the current
/// directory (relative when `path` is).
pub fn find_config(path: &Path) -> Option<PathBuf> {
    let start = if path.is_dir() {
        path.to_owned()
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_owned)
    };
    let mut dir = normalize(&start);
    let mut abs = absolute(&start);
    loop {
        let candidate = dir.join(crate::CONFIG_FILE);
        if candidate.is_file() {
            return Some(normalize(&candidate));
        }
        if dir.join(".git").exists() {
            return None;
        }
        let parent = abs.parent()?.to_owned();
        abs = parent;
        dir = if dir.is_absolute() {
            abs.clone()
        } else {
            normalize(&dir.join(".."))
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_output_is_split_per_template() {
        let out = "---\n# Source: web/templates/a.yaml\nkind: A\n---\n# Source: web/charts/db/templates/b.yaml\nkind: B\n---\n# Source: web/templates/a.yaml\nkind: A2\n";
        let files = split_helm(out, Path::new("charts/web"));
        assert_eq!(
            files,
            [
                VirtualFile {
                    file: "charts/web/templates/a.yaml".into(),
                    text: "kind: A\n---\nkind: A2\n".into()
                },
                VirtualFile {
                    file: "charts/web/charts/db/templates/b.yaml".into(),
                    text: "kind: B\n".into()
                },
            ]
        );
    }

    #[test]
    fn paths_normalize_and_relate() {
        assert_eq!(normalize(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("../a/..")), PathBuf::from(".."));
        assert_eq!(
            relative_to(Path::new("/w/x/base"), Path::new("/w/x/overlay")),
            PathBuf::from("../base")
        );
    }
}
