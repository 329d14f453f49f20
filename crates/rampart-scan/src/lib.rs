//! The scan engine. Given paths, it finds the Dockerfiles and Kubernetes manifests below them,
//! reads each within limits (size, binary, encoding), runs every layer's rules (Dockerfiles one
//! by one, manifests all together since controls span files), applies inline and configured
//! suppressions, and builds the [`Report`] with its layer map.
//!
//! Invariants: a bad file never stops the scan (it becomes an [`InputError`] naming the file and
//! position, and the rest is scanned); nothing is written anywhere.

pub mod config;
pub mod controlplane;
pub mod images;
pub mod intent;
pub mod seccomp;
pub mod select;
pub mod sources;
pub mod supply;
pub mod suppress;
pub mod vulns;

use rampart_core::{Assessment, InputError, Layer, Report, Rule, Summary, Tool};
use rampart_k8s::{ManifestFile, PssOptions};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use suppress::InlineSuppressions;

pub use config::{CONFIG_FILE, Config, ConfigError};

/// Files larger than this are reported, not read.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// Directories never descended into.
const SKIP_DIRS: &[&str] = &[".git", "node_modules", ".hg", ".svn"];

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub config: Config,
    /// Today, for suppression expiry (a parameter so tests control the clock).
    pub today: jiff::civil::Date,
    pub pss: PssOptions,
    pub max_file_size: u64,
    /// Honour `.gitignore`, `.ignore` and `.git/info/exclude` files, as ripgrep does.
    pub respect_ignore: bool,
    /// Check images and SBOMs for known vulnerabilities (none: not checked).
    pub vulns: Option<vulns::VulnScan>,
    /// The trust policy's verdicts on the registry images scanned (computed by the caller,
    /// which holds the registry client; see [`supply::verify_image`]).
    pub trust: supply::TrustResults,
    // Everyday habits (issue 13 §5).
    /// Which rules run (`rules` / `skip-rules` of the configuration, then the flags).
    pub rules: select::RuleSelection,
    /// Globs from the command line, relative to each directory scanned (those of the
    /// configuration file are relative to its directory).
    pub exclude: Vec<String>,
    /// What `-` among the targets reads: standard input, already read by the caller.
    pub stdin: Option<Stdin>,
    /// Charts and kustomizations that cannot be rendered are warnings, not input errors.
    pub allow_unrendered: bool,
    /// Images' intents: workloads are checked against them (INT001).
    pub intents: rampart_intent::conform::IntentSet,
    /// Intent files that could not be read (input errors of the scan).
    pub intent_errors: Vec<InputError>,
    /// Observed flows (connection lines): workloads whose egress is wider are reported (NET005).
    pub flows: Vec<rampart_netpol::generate::Flow>,
}

/// Standard input, read by the caller (`rampart scan -`).
#[derive(Debug, Clone)]
pub struct Stdin {
    pub text: String,
    /// A Dockerfile, else YAML/JSON manifests.
    pub dockerfile: bool,
}

impl ScanOptions {
    pub fn new(config: Config, today: jiff::civil::Date) -> Self {
        let pss = PssOptions {
            level: config.pss_level.unwrap_or(rampart_pss::Level::Restricted),
            version: config.pss_version.unwrap_or(rampart_pss::Version::LATEST),
        };
        ScanOptions {
            today,
            pss,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            respect_ignore: true,
            vulns: None,
            trust: supply::TrustResults::default(),
            rules: select::RuleSelection {
                only: config.rules.clone(),
                skip: config.skip_rules.clone(),
            },
            exclude: Vec::new(),
            stdin: None,
            allow_unrendered: false,
            intents: rampart_intent::conform::IntentSet::default(),
            intent_errors: Vec::new(),
            flows: Vec::new(),
            config,
        }
    }
}

/// Every rule rampart knows, in id order.
pub fn catalog() -> Vec<&'static Rule> {
    let mut all: Vec<&'static Rule> = Vec::new();
    all.extend_from_slice(rampart_dockerfile::rules());
    all.extend(rampart_k8s::rules());
    all.extend_from_slice(rampart_rbac::RULES);
    all.extend_from_slice(rampart_inspect::rules::rules());
    all.push(&suppress::EXPIRED_SUPPRESSION);
    all.push(&seccomp::LOOSE_PROFILE);
    all.push(&seccomp::MISSING_PROFILE);
    all.push(&rampart_vuln::assess::KNOWN_VULNERABILITY);
    all.extend_from_slice(rampart_seccomp::catalog::CATALOG);
    all.extend_from_slice(supply::RULES);
    all.push(&intent::BEYOND_INTENT);
    all.push(&intent::POLICY_BEYOND_INTENT);
    all.extend_from_slice(rampart_netpol::rules::RULES);
    all.extend(rampart_host::rules());
    all.extend(controlplane::RULES.iter().copied());
    all.sort_by_key(|r| r.id);
    all
}

/// The rule with this id (case-insensitive) or name.
pub fn find_rule(id_or_name: &str) -> Option<&'static Rule> {
    catalog()
        .into_iter()
        .find(|r| r.id.eq_ignore_ascii_case(id_or_name) || r.name == id_or_name)
}

/// What a discovered file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dockerfile,
    /// `.yaml`/`.yml`: a manifest if it holds Kubernetes objects.
    Yaml,
    /// `.json`: a manifest only if it holds Kubernetes objects; other JSON is ignored.
    Json,
}

fn classify(path: &Path, explicit: bool) -> Option<Kind> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Some(Kind::Yaml)
    } else if lower.ends_with(".json") {
        Some(Kind::Json)
    } else if rampart_dockerfile::is_dockerfile_name(name) || explicit {
        Some(Kind::Dockerfile)
    } else {
        None
    }
}

fn display(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

fn error(file: &str, line: u32, column: u32, message: impl Into<String>) -> InputError {
    InputError {
        file: file.to_owned(),
        line,
        column,
        message: message.into(),
    }
}

/// What discovery found: files to read, directories to render, whether standard input was
/// named, and the problems met while listing.
#[derive(Default)]
struct Discovered {
    files: Vec<(PathBuf, Kind)>,
    render: Vec<(PathBuf, sources::RenderKind)>,
    stdin: bool,
    errors: Vec<InputError>,
}

fn globs(list: &[String]) -> globset::GlobSet {
    let mut b = globset::GlobSetBuilder::new();
    for g in list {
        if let Ok(glob) = globset::Glob::new(g) {
            b.add(glob);
        }
    }
    b.build().unwrap_or_else(|_| globset::GlobSet::empty())
}

/// Files to scan, directories to render (Helm charts, kustomizations), and problems met while
/// listing them. A chart's files are never read as manifests (its templates are not YAML until
/// rendered); the files a kustomization names are read through its rendering only.
fn discover(targets: &[PathBuf], opts: &ScanOptions) -> Discovered {
    let mut out = Discovered::default();
    // Command-line globs are relative to each directory scanned; the configuration's to its
    // own directory.
    let flag_exclude = globs(&opts.exclude);
    let config_dir = opts
        .config
        .path
        .as_deref()
        .and_then(Path::parent)
        .map(sources::absolute);
    let config_exclude = globs(&opts.config.exclude);
    for target in targets {
        if target.as_os_str() == "-" {
            out.stdin = true;
            continue;
        }
        let meta = match std::fs::metadata(target) {
            Ok(m) => m,
            Err(e) => {
                out.errors
                    .push(error(&display(target), 0, 0, format!("cannot read: {e}")));
                continue;
            }
        };
        if meta.is_file() {
            match classify(target, true) {
                Some(kind) => out.files.push((target.clone(), kind)),
                None => out.errors.push(error(
                    &display(target),
                    0,
                    0,
                    "not a Dockerfile or a YAML/JSON manifest",
                )),
            }
            continue;
        }
        let mut walk = ignore::WalkBuilder::new(target);
        let skip = flag_exclude.clone();
        let config_skip = config_exclude.clone();
        let root = target.clone();
        let root_abs = sources::absolute(target);
        let config_dir = config_dir.clone();
        walk.follow_links(true)
            .hidden(false)
            .parents(opts.respect_ignore)
            .ignore(opts.respect_ignore)
            .git_ignore(opts.respect_ignore)
            .git_exclude(opts.respect_ignore)
            .git_global(false)
            .require_git(false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .filter_entry(move |e| {
                let skip_dir = e.file_type().is_some_and(|t| t.is_dir())
                    && e.depth() > 0
                    && e.file_name()
                        .to_str()
                        .is_some_and(|n| SKIP_DIRS.contains(&n));
                let rel = e.path().strip_prefix(&root).unwrap_or(e.path());
                let excluded = e.depth() > 0
                    && (skip.is_match(rel)
                        || match &config_dir {
                            Some(dir) => root_abs
                                .join(rel)
                                .strip_prefix(dir)
                                .is_ok_and(|r| config_skip.is_match(r)),
                            None => config_skip.is_match(rel),
                        });
                // Inside a Helm chart nothing is read: the chart is rendered as a whole.
                let in_chart = e.depth() > 0
                    && e.path()
                        .parent()
                        .is_some_and(|p| p.join("Chart.yaml").is_file());
                !(skip_dir || excluded || in_chart)
            });
        // Per directory: the files its kustomization renders (None: not a kustomization).
        let mut kustomized: BTreeMap<PathBuf, Option<std::collections::BTreeSet<PathBuf>>> =
            BTreeMap::new();
        for entry in walk.build() {
            match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_dir()) => {
                    if let Some(kind) = sources::render_kind(e.path()) {
                        out.render.push((e.into_path(), kind));
                    }
                }
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => {
                    if let Some(kind) = classify(e.path(), false) {
                        if kind != Kind::Dockerfile
                            && rendered_input(e.path(), target, &mut kustomized)
                        {
                            continue;
                        }
                        out.files.push((e.into_path(), kind));
                    }
                }
                // A dangling symlink: the walker reports it as a link it could not follow.
                Ok(e) if e.path_is_symlink() && std::fs::metadata(e.path()).is_err() => {
                    if let Err(err) = std::fs::metadata(e.path()) {
                        out.errors.push(error(
                            &display(e.path()),
                            0,
                            0,
                            format!("cannot read: {err}"),
                        ));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let (path, message) = walk_error(&e, target);
                    out.errors.push(error(&display(&path), 0, 0, message));
                }
            }
        }
    }
    out
}

/// Whether `file` is an input of a kustomization in its directory or one above it (up to the
/// scanned `root`): read through the rendering, not on its own.
fn rendered_input(
    file: &Path,
    root: &Path,
    cache: &mut BTreeMap<PathBuf, Option<std::collections::BTreeSet<PathBuf>>>,
) -> bool {
    let normalized = sources::normalize(file);
    for dir in file.ancestors().skip(1) {
        let inputs = cache.entry(dir.to_owned()).or_insert_with(|| {
            sources::kustomization_file(dir).map(|_| sources::kustomize_inputs(dir))
        });
        if inputs.as_ref().is_some_and(|i| i.contains(&normalized)) {
            return true;
        }
        if dir == root || dir.as_os_str().is_empty() {
            break;
        }
    }
    false
}

/// The path and a message for a walking error (loops, unreadable directories, bad ignore files).
fn walk_error(e: &ignore::Error, fallback: &Path) -> (PathBuf, String) {
    match e {
        ignore::Error::WithPath { path, err } => (path.clone(), walk_error(err, path).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error(err, fallback)
        }
        ignore::Error::Loop { ancestor, child } => (
            child.clone(),
            format!("symlink loop: points back to {}", display(ancestor)),
        ),
        ignore::Error::Io(io) => (fallback.to_owned(), format!("cannot read: {io}")),
        ignore::Error::Partial(errs) => errs
            .first()
            .map_or((fallback.to_owned(), e.to_string()), |first| {
                walk_error(first, fallback)
            }),
        other => (fallback.to_owned(), other.to_string()),
    }
}

/// Reads a file as UTF-8 text within the size limit.
fn read_text(path: &Path, file: &str, max: u64) -> Result<String, InputError> {
    let meta =
        std::fs::metadata(path).map_err(|e| error(file, 0, 0, format!("cannot read: {e}")))?;
    if meta.len() > max {
        return Err(error(
            file,
            0,
            0,
            format!(
                "file is {} bytes, over the {} MiB limit; not scanned",
                meta.len(),
                max / (1024 * 1024)
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| error(file, 0, 0, format!("cannot read: {e}")))?;
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        let (line, column) = line_col(&bytes, at);
        return Err(error(
            file,
            line,
            column,
            "binary content (NUL byte): not a text file",
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let (line, column) = line_col(e.as_bytes(), at);
        error(file, line, column, "invalid UTF-8")
    })
}

fn line_col(bytes: &[u8], at: usize) -> (u32, u32) {
    let before = bytes.get(..at).unwrap_or(bytes);
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// What reading one file gave.
#[derive(Default)]
struct FileResult {
    assessment: Assessment,
    manifest: Option<ManifestFile>,
    inline: Option<(String, InlineSuppressions)>,
    errors: Vec<InputError>,
    dockerfile: bool,
    /// Kubernetes objects in the file (before irrelevant ones are dropped).
    objects: usize,
    /// Objects removed for breaking their Kubernetes API schema.
    invalid_objects: usize,
}

/// What happened to an object its Kubernetes API schema rejects.
fn schema_rejection() -> String {
    format!(
        "rejected by the Kubernetes {} API schema, not assessed",
        rampart_k8s::schema::KUBERNETES_VERSION
    )
}

/// Violations shown per invalid object; the rest are counted in one more error.
const MAX_VIOLATIONS_PER_OBJECT: usize = 20;

/// One input error per schema violation of each invalid object (at most
/// [`MAX_VIOLATIONS_PER_OBJECT`] each), naming the object, the field, what was expected and found.
fn schema_errors(file: &str, invalid: &[rampart_k8s::InvalidObject]) -> Vec<InputError> {
    let mut out = Vec::new();
    for object in invalid {
        let prefix = format!("{} {}", object.subject, schema_rejection());
        for v in object.violations.iter().take(MAX_VIOLATIONS_PER_OBJECT) {
            out.push(error(
                file,
                v.pos.line,
                v.pos.column,
                format!("{prefix}: {}: {}", v.path, v.problem),
            ));
        }
        if let Some(first) = object.violations.first()
            && object.violations.len() > MAX_VIOLATIONS_PER_OBJECT
        {
            out.push(error(
                file,
                first.pos.line,
                first.pos.column,
                format!(
                    "{prefix}: {} more violations not shown",
                    object.violations.len() - MAX_VIOLATIONS_PER_OBJECT
                ),
            ));
        }
    }
    out
}

fn scan_file(path: &Path, kind: Kind, opts: &ScanOptions) -> FileResult {
    let file = display(path);
    tracing::debug!(file = %file, kind = ?kind, "parsing");
    let text = match read_text(path, &file, opts.max_file_size) {
        Ok(t) => t,
        Err(e) => {
            let mut out = FileResult::default();
            // Unrelated binary or non-UTF-8 JSON is not ours to judge.
            if kind != Kind::Json {
                out.errors.push(e);
            }
            return out;
        }
    };
    let has_dockerignore = kind == Kind::Dockerfile && {
        let dir = path.parent().unwrap_or(Path::new("."));
        let specific = path
            .file_name()
            .map(|n| dir.join(format!("{}.dockerignore", n.to_string_lossy())));
        dir.join(".dockerignore").is_file() || specific.is_some_and(|p| p.is_file())
    };
    scan_text(file, &text, kind, has_dockerignore, opts)
}

/// Scans text already read (a file, a rendered template, standard input) named `file`.
fn scan_text(
    file: String,
    text: &str,
    kind: Kind,
    has_dockerignore: bool,
    opts: &ScanOptions,
) -> FileResult {
    let mut out = FileResult::default();
    match kind {
        Kind::Dockerfile => {
            out.dockerfile = true;
            let (assessment, diagnostics) =
                rampart_dockerfile::scan(&rampart_dockerfile::ScanInput {
                    path: &file,
                    text,
                    has_dockerignore,
                });
            out.assessment = assessment;
            if let Some(allow) = &opts.config.supply.registries {
                out.assessment
                    .extend(supply::dockerfile_registries(&file, text, allow));
            }
            out.errors.extend(
                diagnostics
                    .into_iter()
                    .map(|d| error(&file, d.line, d.column, d.message)),
            );
        }
        Kind::Yaml | Kind::Json => {
            let (manifest, yaml_errors) = ManifestFile::load(file.clone(), text);
            let relevant = manifest.has_objects() || rampart_k8s::looks_like_manifest(text);
            if !relevant {
                return out;
            }
            out.errors.extend(yaml_errors.into_iter().map(|e| {
                error(
                    &file,
                    e.line,
                    e.column,
                    format!("invalid YAML: {}", e.message),
                )
            }));
            if manifest.has_objects() {
                let mut manifest = manifest;
                // Objects the API server would reject are input errors, and no rule sees them.
                let checked = manifest.remove_invalid();
                out.invalid_objects = checked.invalid.len();
                out.errors.extend(schema_errors(&file, &checked.invalid));
                // The layers they would have been judged in are only partly assessed: never
                // "holds" on the objects that were left.
                for object in &checked.invalid {
                    for layer in KUBERNETES_LAYERS {
                        out.assessment
                            .partly(layer, &object.subject, schema_rejection());
                    }
                }
                out.objects = manifest.retain_relevant() + checked.invalid.len();
                out.manifest = Some(manifest);
            }
        }
    }
    let (inline, errors) = InlineSuppressions::parse(&file, text);
    out.errors.extend(errors);
    out.inline = Some((file, inline));
    out
}

/// The layers Kubernetes objects are judged in.
const KUBERNETES_LAYERS: [Layer; 5] = [
    Layer::Admission,
    Layer::Runtime,
    Layer::Network,
    Layer::Access,
    Layer::Host,
];

/// Why each layer would have nothing to assess, given what was found (`invalid`: objects left
/// out for breaking their schema, which may be why a Kubernetes layer has nothing).
fn not_assessed_reasons(invalid: usize) -> BTreeMap<Layer, String> {
    let left_out = match invalid {
        0 => String::new(),
        1 => format!(
            " (1 object rejected by the Kubernetes {} API schema was not assessed)",
            rampart_k8s::schema::KUBERNETES_VERSION
        ),
        n => format!(
            " ({n} objects rejected by the Kubernetes {} API schema were not assessed)",
            rampart_k8s::schema::KUBERNETES_VERSION
        ),
    };
    let kubernetes = KUBERNETES_LAYERS;
    [
        (Layer::Build, "no Dockerfile found"),
        (
            Layer::Image,
            "no image given: image contents are assessed from an image, not from source",
        ),
        (Layer::SupplyChain, "no image references found"),
        (
            Layer::Admission,
            "no Namespace manifests found: nothing shows Pod Security Admission is enforced",
        ),
        (Layer::Runtime, "no workloads (Pods or pod templates) found"),
        (Layer::Network, "no workloads found to segment"),
        (Layer::Access, "no workloads or RBAC objects found"),
        (
            Layer::Monitoring,
            "no runtime monitor deployed in the scanned manifests (a rampart monitor or Falco DaemonSet)",
        ),
        (Layer::Host, "no workloads (Pods or pod templates) found"),
    ]
    .into_iter()
    .map(|(l, r)| {
        if kubernetes.contains(&l) {
            (l, format!("{r}{left_out}"))
        } else {
            (l, r.to_owned())
        }
    })
    .collect()
}

/// An image inspected for the report, or why it could not be read.
pub type ImageResult = Result<rampart_inspect::Inspection, InputError>;

/// Scans `targets` (files or directories) and builds the report.
pub fn scan(targets: &[PathBuf], opts: &ScanOptions) -> Report {
    scan_with_images(targets, Vec::new(), opts)
}

/// Scans `targets` (files or directories) together with images already inspected (see
/// [`images`]), and builds one report: the image findings join the same layer map.
pub fn scan_with_images(
    targets: &[PathBuf],
    images: Vec<ImageResult>,
    opts: &ScanOptions,
) -> Report {
    scan_all(targets, images, Vec::new(), opts)
}

/// Scans `targets` with images already inspected and SBOMs already read (or the errors of
/// those that could not be): one report, one layer map. With [`ScanOptions::vulns`], images
/// and SBOMs are checked for known vulnerabilities.
pub fn scan_all(
    targets: &[PathBuf],
    images: Vec<ImageResult>,
    sboms: Vec<Result<vulns::SbomSubject, InputError>>,
    opts: &ScanOptions,
) -> Report {
    scan_all_keeping(targets, images, sboms, opts).0
}

/// [`scan_all`], giving back the images that could be read (in order), for a caller that keeps
/// them (a fleet worker stores their packages) without copying them first.
pub fn scan_all_keeping(
    targets: &[PathBuf],
    images: Vec<ImageResult>,
    sboms: Vec<Result<vulns::SbomSubject, InputError>>,
    opts: &ScanOptions,
) -> (Report, Vec<rampart_inspect::Inspection>) {
    let found = discover(targets, opts);
    let mut errors = found.errors;
    let mut warnings = Vec::new();
    tracing::info!(
        files = found.files.len(),
        dockerfiles = found
            .files
            .iter()
            .filter(|(_, k)| matches!(k, Kind::Dockerfile))
            .count(),
        input_errors = errors.len(),
        images = images.len(),
        sboms = sboms.len(),
        "discovered"
    );
    let mut results: Vec<FileResult> = found
        .files
        .par_iter()
        .map(|(path, kind)| scan_file(path, *kind, opts))
        .collect();
    // Standard input, and charts and kustomizations rendered by their tools.
    if found.stdin {
        match &opts.stdin {
            Some(s) => {
                let kind = if s.dockerfile {
                    Kind::Dockerfile
                } else {
                    Kind::Yaml
                };
                results.push(scan_text(
                    sources::STDIN_NAME.to_owned(),
                    &s.text,
                    kind,
                    false,
                    opts,
                ));
            }
            None => errors.push(error(
                sources::STDIN_NAME,
                0,
                0,
                "standard input was not read",
            )),
        }
    }
    let rendered: Vec<(String, Result<Vec<sources::VirtualFile>, String>)> = found
        .render
        .par_iter()
        .map(|(dir, kind)| {
            let result =
                sources::render(dir, dir, *kind).map_err(|e| format!("{} {e}", kind.describe()));
            (display(dir), result)
        })
        .collect();
    for (dir, result) in rendered {
        match result {
            Ok(files) => results.extend(
                files
                    .par_iter()
                    .map(|f| scan_text(f.file.clone(), &f.text, Kind::Yaml, false, opts))
                    .collect::<Vec<_>>(),
            ),
            Err(message) => {
                let e = error(&dir, 0, 0, message);
                if opts.allow_unrendered {
                    warnings.push(e);
                } else {
                    errors.push(e);
                }
            }
        }
    }

    let mut summary = Summary {
        files_scanned: results.len(),
        ..Summary::default()
    };
    let mut assessment = Assessment::new();
    let mut manifests = Vec::new();
    let mut inline = BTreeMap::new();
    let mut invalid_objects = 0;
    for r in results {
        invalid_objects += r.invalid_objects;
        summary.dockerfiles += usize::from(r.dockerfile);
        summary.objects += r.objects;
        assessment.extend(r.assessment);
        errors.extend(r.errors);
        if let Some(m) = r.manifest {
            manifests.push(m);
        }
        if let Some((file, s)) = r.inline {
            inline.insert(file, s);
        }
    }
    summary.manifests = manifests.len();
    assessment.extend(rampart_k8s::scan_with(
        &manifests,
        &opts.pss,
        intent::sandbox_required(&manifests, &opts.intents),
    ));
    // RBAC escalation paths across all files; the RBAC objects the schema let through but the
    // authorizer cannot use are reported by `rampart rbac`, not here.
    assessment.extend(rampart_rbac::assess(&manifests).0);
    assessment.extend(seccomp::assess(&manifests));
    // control-plane static pods against the CIS Kubernetes Benchmark (host layer)
    assessment.extend(controlplane::assess(&manifests));
    if let Some(allow) = &opts.config.supply.registries {
        assessment.extend(supply::manifest_registries(&manifests, allow));
    }
    assessment.extend(intent::assess(&manifests, &opts.intents));
    // reachability under the NetworkPolicies of every manifest scanned together
    let cluster = rampart_netpol::from_documents(
        manifests
            .iter()
            .map(|m| (m.path.as_str(), m.documents.as_slice())),
    );
    assessment.extend(rampart_netpol::rules::assess_with_flows(
        &cluster,
        &opts.flows,
    ));
    errors.extend(cluster.errors.iter().map(|e| rampart_core::InputError {
        file: e.file.clone(),
        line: e.line,
        column: e.column,
        message: e.message.clone(),
    }));
    errors.extend(opts.intent_errors.iter().cloned());
    assessment.extend(opts.trust.assessment.clone());
    errors.extend(opts.trust.errors.iter().cloned());
    let mut image_names = Vec::new();
    let mut summaries = Vec::new();
    let mut inspected = Vec::new();
    for image in images {
        match image {
            Ok(ins) => {
                image_names.push(ins.name.clone());
                assessment.extend(rampart_inspect::rules::assess(&ins));
                errors.extend(
                    ins.problems
                        .iter()
                        .map(|p| images::input_error(&ins.name, p)),
                );
                summaries.push(images::summary(&ins));
                inspected.push((summaries.len() - 1, ins));
            }
            Err(e) => {
                image_names.push(e.file.clone());
                errors.push(e);
            }
        }
    }
    let mut read_sboms = Vec::new();
    for sbom in sboms {
        match sbom {
            Ok(s) => {
                image_names.push(s.path.clone());
                summaries.push(s.summary());
                read_sboms.push((summaries.len() - 1, s));
            }
            Err(e) => {
                image_names.push(e.file.clone());
                errors.push(e);
            }
        }
    }
    let mut vulnerabilities = Vec::new();
    if let Some(scan) = &opts.vulns {
        let mut sets = Vec::new();
        for (i, ins) in &inspected {
            let mut ids = vec![ins.name.clone()];
            ids.extend(ins.manifest_digest.iter().cloned());
            ids.extend(ins.config_digest.iter().cloned());
            let inventory_id = ins
                .manifest_digest
                .clone()
                .or_else(|| ins.config_digest.clone())
                .unwrap_or_else(|| format!("path:{}", ins.name));
            sets.push(vulns::Checked {
                target: rampart_vuln::assess::Target {
                    subject: ins.subject(),
                    file: ins.name.clone(),
                    ids,
                    distro: ins.distro.as_ref(),
                    packages: &ins.packages,
                },
                inventory_id,
                name: ins.name.clone(),
                summary: *i,
            });
        }
        for (i, s) in &read_sboms {
            let mut ids = vec![s.path.clone()];
            ids.extend(s.describes.iter().cloned());
            // An SBOM of an image is that image: recorded under its digest (`name@sha256:...` or
            // a bare digest), once, whichever file it was read from.
            let inventory_id = s.digest().unwrap_or_else(|| format!("path:{}", s.path));
            sets.push(vulns::Checked {
                target: rampart_vuln::assess::Target {
                    subject: s.subject(),
                    file: s.path.clone(),
                    ids,
                    distro: s.distro.as_ref(),
                    packages: &s.packages,
                },
                inventory_id,
                name: s.describes.clone().unwrap_or_else(|| s.path.clone()),
                summary: *i,
            });
        }
        let (a, v, e) = vulns::run(scan, &sets, &mut summaries);
        assessment.extend(a);
        vulnerabilities = v;
        errors.extend(e);
    }

    // Rules not selected: their controls and findings go, the layer map says so.
    let skipped_rules = opts.rules.apply(&mut assessment);

    for f in &mut assessment.findings {
        if let Some(s) = inline.get(&f.location.file) {
            s.apply(&f.location.file.clone(), f);
        }
    }
    let config_file = opts
        .config
        .path
        .as_deref()
        .map_or_else(|| CONFIG_FILE.to_owned(), display);
    // Paths in the configuration are relative to its directory.
    let base = opts
        .config
        .path
        .as_deref()
        .and_then(Path::parent)
        .map(sources::absolute);
    let relative = |file: &str| -> String {
        match &base {
            Some(b) if file != sources::STDIN_NAME => {
                let abs = sources::absolute(Path::new(file));
                abs.strip_prefix(b)
                    .map_or_else(|_| file.to_owned(), display)
            }
            _ => file.to_owned(),
        }
    };
    // A vulnerability finding's ids: the advisory id, its aliases and related advisories.
    let vuln_ids = |f: &rampart_core::Finding| -> Vec<String> {
        vulnerabilities
            .iter()
            .filter(|v| {
                f.rule_id == rampart_vuln::assess::KNOWN_VULNERABILITY.id
                    && v.subject == f.subject
                    && rampart_vuln::assess::message(v) == f.message
            })
            .flat_map(|v| {
                std::iter::once(v.id.clone())
                    .chain(v.aliases.iter().cloned())
                    .chain(v.advisories.iter().cloned())
            })
            .collect()
    };
    let expired = suppress::apply_config(
        &opts.config.suppressions,
        &config_file,
        &relative,
        &vuln_ids,
        opts.today,
        &mut assessment.findings,
    );
    for f in expired {
        if opts.rules.selects(f.rule_id) {
            assessment.push(f);
        }
    }

    let target = targets
        .iter()
        .map(|t| display(t))
        .chain(image_names)
        .collect::<Vec<_>>()
        .join(" ");
    let mut report = Report::build(
        Tool {
            name: "rampart",
            version: env!("CARGO_PKG_VERSION"),
        },
        target,
        assessment,
        errors,
        summary,
        &not_assessed_reasons(invalid_objects),
    );
    report.images = summaries;
    report.note_skipped_rules(&skipped_rules);
    warnings.sort();
    report.warnings = warnings;
    // Configured suppressions of VUL001 findings waive the vulnerability too.
    for v in &mut vulnerabilities {
        if v.waived.is_none() {
            v.waived = report
                .findings
                .iter()
                .find(|f| {
                    f.rule_id == rampart_vuln::assess::KNOWN_VULNERABILITY.id
                        && f.subject == v.subject
                        && f.message == rampart_vuln::assess::message(v)
                })
                .and_then(|f| f.suppressed.clone());
        }
    }
    report.vulnerabilities = vulnerabilities;
    (report, inspected.into_iter().map(|(_, ins)| ins).collect())
}
