//! Does a pod grant more than its images' intents? One check shared by the admission webhook's
//! `intent` gate and `rampart scan` (INT001): for every container whose image has an intent,
//! the image must be the intent's digest and the pod must be at least as strict as the intent
//! (no privilege, no escalation, not root, a read-only root, no capability beyond the intent's,
//! a seccomp profile, no host namespaces or host paths, only the intent's ports, its runtime
//! class).

use crate::doc::{Intent, Protocol};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Intents by image repository (`registry/repository`, normalised as Docker does).
#[derive(Debug, Clone, Default)]
pub struct IntentSet {
    by_repository: BTreeMap<String, (Intent, String)>,
}

/// Why a set of intents could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    /// A file or directory could not be read.
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// A document is invalid.
    #[error(transparent)]
    Intent(#[from] crate::doc::IntentError),
    /// Two intents for one repository.
    #[error("{second}: a second intent for {repository} (the first is {first})")]
    Duplicate {
        repository: String,
        first: String,
        second: String,
    },
}

impl SetError {
    /// `(file, line, column, message)`: where the problem is, for reports that list input
    /// errors (line 0: not at a position).
    pub fn located(&self) -> (String, u32, u32, String) {
        use crate::doc::IntentError;
        match self {
            SetError::Intent(IntentError::Invalid {
                path,
                line,
                column,
                message,
            }) => (path.display().to_string(), *line, *column, message.clone()),
            SetError::Intent(IntentError::Io { path, cause }) | SetError::Io { path, cause } => (
                path.display().to_string(),
                0,
                0,
                format!("cannot read the intent: {cause}"),
            ),
            SetError::Intent(e @ IntentError::TooLarge { path, .. }) => {
                (path.display().to_string(), 0, 0, e.to_string())
            }
            SetError::Duplicate { second, .. } => (second.clone(), 0, 0, self.to_string()),
        }
    }
}

/// `nginx` → `docker.io/library/nginx`, `ghcr.io/a/b` unchanged, lower-cased registry.
pub fn normalise_repository(reference: &str) -> Option<String> {
    let r = rampart_core::ImageRef::parse(reference)?;
    let registry = match r.registry.as_deref() {
        None | Some("index.docker.io" | "registry-1.docker.io") => "docker.io".to_owned(),
        Some(h) => h.to_ascii_lowercase(),
    };
    let repo = if registry == "docker.io" && !r.repository.contains('/') {
        format!("library/{}", r.repository)
    } else {
        r.repository.clone()
    };
    Some(format!("{registry}/{repo}"))
}

impl IntentSet {
    /// Adds an intent, `origin` naming where it came from.
    pub fn add(&mut self, intent: Intent, origin: &str) -> Result<(), SetError> {
        let image = intent.image.as_str().to_owned();
        self.add_for(&image, intent, origin)
    }

    /// Adds an intent for the repository of `image` (a mirror's or a copy's name): the intent
    /// is bound to a digest, not to a name, so an attestation verified on a copy applies there.
    pub fn add_for(&mut self, image: &str, intent: Intent, origin: &str) -> Result<(), SetError> {
        let repo = normalise_repository(image).unwrap_or_else(|| image.to_owned());
        if let Some((_, first)) = self.by_repository.get(&repo) {
            return Err(SetError::Duplicate {
                repository: repo,
                first: first.clone(),
                second: origin.to_owned(),
            });
        }
        self.by_repository.insert(repo, (intent, origin.to_owned()));
        Ok(())
    }

    /// Reads intent files, and the `*.toml`/`*.json` files of directories (not recursively,
    /// in name order); the first problem stops it.
    pub fn load(paths: &[PathBuf]) -> Result<IntentSet, SetError> {
        let (set, mut problems) = IntentSet::load_each(paths);
        match problems.is_empty() {
            true => Ok(set),
            false => Err(problems.remove(0)),
        }
    }

    /// Same, reading every file it can: the set, and each problem (a file that cannot be read,
    /// an invalid document, a second intent for a repository).
    pub fn load_each(paths: &[PathBuf]) -> (IntentSet, Vec<SetError>) {
        let mut set = IntentSet::default();
        let mut problems = Vec::new();
        let mut files = Vec::new();
        for p in paths {
            if !p.is_dir() {
                files.push(p.clone());
                continue;
            }
            match std::fs::read_dir(p) {
                Ok(rd) => {
                    let mut found: Vec<PathBuf> = rd
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|f| {
                            f.is_file() && f.extension().is_some_and(|x| x == "toml" || x == "json")
                        })
                        .collect();
                    found.sort();
                    files.extend(found);
                }
                Err(cause) => problems.push(SetError::Io {
                    path: p.clone(),
                    cause,
                }),
            }
        }
        for f in files {
            let added = Intent::load(&f)
                .map_err(SetError::from)
                .and_then(|i| set.add(i, &f.display().to_string()));
            if let Err(e) = added {
                problems.push(e);
            }
        }
        (set, problems)
    }

    /// The intent of an image reference's repository, with its origin.
    pub fn for_image(&self, image: &str) -> Option<(&Intent, &str)> {
        let repo = normalise_repository(image)?;
        self.by_repository.get(&repo).map(|(i, o)| (i, o.as_str()))
    }

    /// Where each intent came from, in repository order.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.by_repository.values().map(|(_, o)| o.as_str())
    }

    /// How many intents.
    pub fn len(&self) -> usize {
        self.by_repository.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_repository.is_empty()
    }
}

/// One way a pod grants more than an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excess {
    /// The container's name (empty for a pod-level field).
    pub container: String,
    /// The field, relative to the pod spec (`containers[0].securityContext.privileged`,
    /// `hostNetwork`).
    pub field: String,
    /// What is granted beyond the intent.
    pub message: String,
}

/// What the check found in one pod spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodCheck {
    /// Grants beyond an intent.
    pub excess: Vec<Excess>,
    /// Containers whose image has no intent: `(container, field, image)`.
    pub without_intent: Vec<(String, String, String)>,
}

fn bool_at(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

fn sc(v: &Value) -> Option<&Value> {
    v.get("securityContext").filter(|s| s.is_object())
}

/// Checks a pod spec (`spec` of a Pod, or a template's `spec`) against `set`.
pub fn check_pod_spec(set: &IntentSet, spec: &Value) -> PodCheck {
    let mut out = PodCheck::default();
    let pod_sc = sc(spec);
    for (list, key) in [
        (spec.get("initContainers"), "initContainers"),
        (spec.get("containers"), "containers"),
        (spec.get("ephemeralContainers"), "ephemeralContainers"),
    ] {
        let Some(items) = list.and_then(Value::as_array) else {
            continue;
        };
        for (i, c) in items.iter().enumerate() {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let at = format!("{key}[{i}]");
            let Some(image) = c.get("image").and_then(Value::as_str) else {
                continue;
            };
            let Some((intent, _)) = set.for_image(image) else {
                out.without_intent.push((name, at, image.to_owned()));
                continue;
            };
            check_container(intent, spec, pod_sc, c, &name, &at, image, &mut out.excess);
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn check_container(
    intent: &Intent,
    spec: &Value,
    pod_sc: Option<&Value>,
    c: &Value,
    name: &str,
    at: &str,
    image: &str,
    out: &mut Vec<Excess>,
) {
    let mut excess = |field: String, message: String| {
        out.push(Excess {
            container: name.to_owned(),
            field,
            message,
        });
    };
    let csc = sc(c);
    // The image: the intent's digest.
    let digest = image.rsplit_once('@').map(|(_, d)| d);
    if digest != Some(intent.image.digest()) {
        excess(
            format!("{at}.image"),
            format!(
                "image {image:?} is not the intent's digest {} (the intent is for that image only)",
                intent.image.digest()
            ),
        );
    }
    let effective = |key: &str| -> Option<&Value> {
        csc.and_then(|s| s.get(key))
            .filter(|v| !v.is_null())
            .or_else(|| pod_sc.and_then(|s| s.get(key)).filter(|v| !v.is_null()))
    };
    if csc.and_then(|s| bool_at(s, "privileged")) == Some(true) {
        excess(
            format!("{at}.securityContext.privileged"),
            "privileged: the intent grants no privileged mode".into(),
        );
    }
    if intent.process.no_new_privileges
        && csc.and_then(|s| bool_at(s, "allowPrivilegeEscalation")) != Some(false)
    {
        excess(
            format!("{at}.securityContext.allowPrivilegeEscalation"),
            "privilege escalation is not disabled (allowPrivilegeEscalation must be false: the intent says no new privileges)".into(),
        );
    }
    if intent.process.user != 0 {
        let uid = effective("runAsUser").and_then(Value::as_i64);
        let non_root = effective("runAsNonRoot").and_then(Value::as_bool);
        match uid {
            Some(0) => excess(
                format!("{at}.securityContext.runAsUser"),
                format!(
                    "runs as root (runAsUser 0); the intent runs as user {}",
                    intent.process.user
                ),
            ),
            None if non_root != Some(true) => excess(
                format!("{at}.securityContext.runAsNonRoot"),
                format!(
                    "may run as root (no runAsUser, runAsNonRoot not true); the intent runs as user {}",
                    intent.process.user
                ),
            ),
            _ => {}
        }
    }
    if intent.files.read_only_root
        && csc.and_then(|s| bool_at(s, "readOnlyRootFilesystem")) != Some(true)
    {
        excess(
            format!("{at}.securityContext.readOnlyRootFilesystem"),
            "the root filesystem is writable; the intent's is read-only".into(),
        );
    }
    let caps = csc.and_then(|s| s.get("capabilities"));
    let names = |key: &str| -> Vec<String> {
        caps.and_then(|c| c.get(key))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.trim_start_matches("CAP_").to_ascii_uppercase())
                    .collect()
            })
            .unwrap_or_default()
    };
    if !names("drop").iter().any(|d| d == "ALL") {
        excess(
            format!("{at}.securityContext.capabilities.drop"),
            "does not drop ALL capabilities: the runtime's defaults stay, beyond the intent's"
                .into(),
        );
    }
    let allowed: Vec<&str> = intent
        .kernel
        .capabilities
        .iter()
        .map(|c| c.as_str())
        .collect();
    for add in names("add") {
        if !allowed.contains(&add.as_str()) {
            excess(
                format!("{at}.securityContext.capabilities.add"),
                format!("adds {add}, which the intent does not need"),
            );
        }
    }
    let seccomp_type = effective("seccompProfile")
        .and_then(|p| p.get("type"))
        .and_then(Value::as_str);
    let wants_own = intent.kernel.syscalls.is_some() || intent.kernel.seccomp.is_some();
    match seccomp_type {
        Some("Localhost") => {}
        Some("RuntimeDefault") if !wants_own => {}
        Some("RuntimeDefault") => excess(
            format!("{at}.securityContext.seccompProfile"),
            "seccomp RuntimeDefault is wider than the intent's own profile (Localhost)".into(),
        ),
        other => excess(
            format!("{at}.securityContext.seccompProfile"),
            format!(
                "no seccomp confinement ({}); the intent has {}",
                other.unwrap_or("no profile"),
                if wants_own {
                    "its own profile"
                } else {
                    "the runtime's default"
                }
            ),
        ),
    }
    for (key, what) in [
        ("hostNetwork", "the host's network namespace"),
        ("hostPID", "the host's process namespace"),
        ("hostIPC", "the host's IPC namespace"),
    ] {
        if bool_at(spec, key) == Some(true) {
            excess(
                key.to_owned(),
                format!("shares {what}; the intent grants no host namespace"),
            );
        }
    }
    let listen: Vec<(u16, Protocol)> = intent
        .network
        .listen
        .iter()
        .map(|l| (l.port.0, l.protocol))
        .collect();
    if let Some(ports) = c.get("ports").and_then(Value::as_array) {
        for (j, p) in ports.iter().enumerate() {
            let Some(port) = p.get("containerPort").and_then(Value::as_u64) else {
                continue;
            };
            let proto = match p.get("protocol").and_then(Value::as_str) {
                Some("UDP") => Protocol::Udp,
                Some("SCTP") => Protocol::Sctp,
                _ => Protocol::Tcp,
            };
            if !listen
                .iter()
                .any(|(n, pr)| u64::from(*n) == port && *pr == proto)
            {
                excess(
                    format!("{at}.ports[{j}]"),
                    format!(
                        "exposes {} {port}, a port the intent does not listen on",
                        proto.as_str()
                    ),
                );
            }
            if p.get("hostPort")
                .and_then(Value::as_u64)
                .is_some_and(|h| h > 0)
            {
                excess(
                    format!("{at}.ports[{j}].hostPort"),
                    "binds a host port; the intent grants none".into(),
                );
            }
        }
    }
    if let Some(class) = &intent.runtime {
        let got = spec.get("runtimeClassName").and_then(Value::as_str);
        if got != Some(class.class.as_str()) {
            excess(
                "runtimeClassName".into(),
                format!(
                    "runtime class {} is not the intent's {}",
                    got.unwrap_or("(none)"),
                    class.class
                ),
            );
        }
    }
    let host_paths: Vec<&str> = spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("hostPath").is_some())
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .collect();
    if let Some(mounts) = c.get("volumeMounts").and_then(Value::as_array) {
        for (j, m) in mounts.iter().enumerate() {
            if let Some(n) = m.get("name").and_then(Value::as_str) {
                if host_paths.contains(&n) {
                    excess(
                        format!("{at}.volumeMounts[{j}]"),
                        format!(
                            "mounts the host path volume {n:?}; the intent grants no host path"
                        ),
                    );
                }
            }
        }
    }
}

/// The intent files given to a tool, resolved relative to `base` when relative.
pub fn resolve(base: &Path, paths: &[PathBuf]) -> Vec<PathBuf> {
    paths
        .iter()
        .map(|p| {
            if p.is_absolute() {
                p.clone()
            } else {
                base.join(p)
            }
        })
        .collect()
}
