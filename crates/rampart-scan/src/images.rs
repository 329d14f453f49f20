//! Image targets: where an image is (a path of one of the local forms, or a registry
//! reference), opening it, and turning an inspection into the report's pieces.
//!
//! A target may name its form with a prefix, as skopeo and syft spell them:
//! `oci-dir:PATH` (or `oci:PATH`), `oci-archive:PATH`, `docker-archive:PATH`, `dir:PATH` (or
//! `rootfs:PATH`) for a root filesystem, `registry:REF` (or `docker://REF`). Without a prefix,
//! an existing path is recognised by its content (a directory with `index.json` and `blobs/` is
//! an OCI layout, another directory a root filesystem, a tar with `manifest.json` a docker
//! archive, another tar an OCI archive) and anything else is a registry reference.

use std::path::PathBuf;

use rampart_core::{ImageSummary, InputError};
use rampart_image::{
    CacheReport, Image, ImageError, LayerStore, Limits, Platform, Progress, Source,
};
use rampart_inspect::{InspectOptions, Inspection, SubjectKind};

/// Where an image is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageTarget {
    /// on this machine
    Local(Source),
    /// in a registry, by reference (`ghcr.io/org/app:1.2`, `localhost:5000/app@sha256:...`)
    Registry(String),
}

impl ImageTarget {
    /// Reads a target as written on the command line.
    pub fn parse(text: &str, limits: &Limits) -> Result<Self, ImageError> {
        let path = |p: &str| PathBuf::from(p);
        let prefixed = [
            ("oci-dir:", 0u8),
            ("oci:", 0),
            ("oci-archive:", 1),
            ("docker-archive:", 2),
            ("dir:", 3),
            ("rootfs:", 3),
            ("registry:", 4),
            ("docker://", 4),
        ];
        for (prefix, form) in prefixed {
            if let Some(rest) = text.strip_prefix(prefix) {
                return Ok(match form {
                    0 => Self::Local(Source::OciLayout(path(rest))),
                    1 => Self::Local(Source::OciArchive(path(rest))),
                    2 => Self::Local(Source::DockerArchive(path(rest))),
                    3 => Self::Local(Source::Rootfs(path(rest))),
                    _ => Self::Registry(rest.to_owned()),
                });
            }
        }
        if std::path::Path::new(text).exists() {
            return Source::detect(text, limits).map(Self::Local);
        }
        if looks_like_path(text) {
            return Err(ImageError::NotFound {
                path: text.to_owned(),
            });
        }
        Ok(Self::Registry(text.to_owned()))
    }
}

/// Whether a target that names nothing on disk was meant as a path, not a registry reference:
/// absolute or relative (`/`, `./`, `../`, `~/`), an archive name (`.tar`, `.tar.gz`, `.tgz`,
/// `.oci`, `.zip`), or a `a/b` whose first part is a directory here (`build/image` when
/// `build/` exists). Such a target is "no such file", never a Docker Hub pull.
pub fn looks_like_path(text: &str) -> bool {
    const ARCHIVES: [&str; 7] = [
        ".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".oci", ".zip",
    ];
    if ["/", "./", "../", "~/", "."]
        .iter()
        .any(|p| text.starts_with(p))
        || text == ".."
    {
        return true;
    }
    let lower = text.to_ascii_lowercase();
    // `app:1.tar` ends in a tag, not a file name: only the part after the last `/` counts
    let last = lower.rsplit('/').next().unwrap_or(&lower);
    if !last.contains(':') && !last.contains('@') && ARCHIVES.iter().any(|ext| last.ends_with(ext))
    {
        return true;
    }
    match text.split_once('/') {
        Some((first, _)) => {
            !first.contains('.')
                && !first.contains(':')
                && first != "localhost"
                && std::path::Path::new(first).is_dir()
        }
        None => false,
    }
}

/// An image named in a configuration file, with a relative path taken relative to the file's
/// directory (`base`); references and absolute paths are kept as written.
pub fn resolve_configured(entry: &str, base: &std::path::Path) -> String {
    const PATH_PREFIXES: [&str; 6] = [
        "oci-dir:",
        "oci:",
        "oci-archive:",
        "docker-archive:",
        "dir:",
        "rootfs:",
    ];
    let (prefix, rest) = PATH_PREFIXES
        .iter()
        .find_map(|p| entry.strip_prefix(p).map(|r| (*p, r)))
        .unwrap_or(("", entry));
    let path = std::path::Path::new(rest);
    if path.is_absolute() || (prefix.is_empty() && !base.join(path).exists()) {
        return entry.to_owned();
    }
    format!("{prefix}{}", base.join(path).display())
}

/// How images are opened and inspected.
#[derive(Clone)]
pub struct ImageOptions {
    /// the platform to choose in a multi-platform index
    pub platform: Option<Platform>,
    pub limits: Limits,
    pub inspect: InspectOptions,
    /// told about bytes read (for a progress bar)
    pub progress: Option<Progress>,
}

/// Opens a local image target.
pub fn open_local(source: &Source, opts: &ImageOptions) -> Result<Image, ImageError> {
    Image::open_with(source, opts.platform.as_ref(), &opts.limits)
}

/// Inspects an opened image named `name`.
pub fn inspect(image: Image, name: &str, opts: &ImageOptions) -> Result<Inspection, ImageError> {
    inspect_cached(image, name, opts, None).map(|(ins, _)| ins)
}

/// Inspects an opened image named `name`, through a layer store when one is given
/// ([`rampart_inspect::inspect_cached`]): the same inspection, and what the store gave.
pub fn inspect_cached(
    image: Image,
    name: &str,
    opts: &ImageOptions,
    store: Option<&dyn LayerStore>,
) -> Result<(Inspection, Option<CacheReport>), ImageError> {
    let image = match &opts.progress {
        Some(p) => image.with_progress(p.clone()),
        None => image,
    };
    match store {
        Some(store) => rampart_inspect::inspect_cached(&image, name, &opts.inspect, store)
            .map(|(ins, report)| (ins, Some(report))),
        None => rampart_inspect::inspect(&image, name, &opts.inspect).map(|ins| (ins, None)),
    }
}

/// An image that could not be read, as an input error of the report.
pub fn input_error(name: &str, error: &dyn std::fmt::Display) -> InputError {
    let message = error.to_string();
    // the error may start with the name already: it is the error's file
    let message = message
        .strip_prefix(&format!("{name}: "))
        .map_or(message.clone(), str::to_owned);
    InputError {
        file: name.to_owned(),
        line: 0,
        column: 0,
        message,
    }
}

/// The report's summary of an inspected image.
pub fn summary(ins: &Inspection) -> ImageSummary {
    let f = &ins.facts;
    let mut packages = std::collections::BTreeMap::new();
    for p in &ins.packages {
        *packages
            .entry(p.ecosystem.purl_type().to_owned())
            .or_insert(0usize) += 1;
    }
    let os_support = f.os.as_ref().map(|os| match &os.eol {
        Some(e) => match (&e.date, e.ended) {
            (None, _) => String::from("rolling"),
            (Some(d), true) => format!("ended {d}"),
            (Some(d), false) => format!("supported until {d}"),
        },
        None => String::from("unknown"),
    });
    let user = if f.user.configured.is_empty() {
        String::from("root (default)")
    } else {
        f.user.configured.clone()
    };
    let mut tools = f.shells.clone();
    tools.extend(f.package_managers.iter().cloned());
    tools.extend(f.build_tools.iter().cloned());
    ImageSummary {
        name: ins.name.clone(),
        kind: match ins.kind {
            SubjectKind::Image => String::from("image"),
            SubjectKind::Filesystem => String::from("filesystem"),
        },
        digest: ins.manifest_digest.clone(),
        id: ins.config_digest.clone(),
        platform: ins.platform.clone(),
        os: f.os.as_ref().map(|o| {
            o.pretty_name
                .clone()
                .unwrap_or_else(|| format!("{} {}", o.id, o.version_id.clone().unwrap_or_default()))
        }),
        os_support,
        user,
        entrypoint: f.entrypoint.clone(),
        cmd: f.cmd.clone(),
        exposed_ports: f.exposed_ports.clone(),
        minimality: f.minimality.as_str().to_owned(),
        layers: ins.layers.len(),
        files: f.entries,
        packages,
        tools,
        vulnerabilities: None,
    }
}
