//! rampart's own release image, to its own standard (docs/image.md): `scripts/build-image.sh`
//! with this test's binary builds it without a Docker daemon, reproducibly; it holds the binary,
//! its libraries and nothing that runs but them; pushed to a real registry (Debian's
//! docker-registry, skopeo), signed with `rampart sign` and its SBOM attested with `rampart
//! attest` under a key made by `rampart key`, both verified; `rampart scan --image` of it with
//! the trust policy shows every layer it can assess holding, and with the fleet, monitor and
//! webhook manifests that run it, every layer but build; it runs under runc with a read-only
//! root as its non-root user, under its own recorded seccomp profile.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Auth, Registry, ok};
use serde_json::{Value, json};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn rampart(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.args(args)
        .current_dir(dir)
        .env_remove("COSIGN_PASSWORD")
        .env_remove("RAMPART_PASSWORD")
        .env("RAMPART_CACHE_DIR", dir.join("cache"))
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `scripts/build-image.sh BINARY OUT`: the layout's path (its last line of output).
fn build_image(out: &Path) -> PathBuf {
    let run = Command::new("bash")
        .arg(common::root().join("scripts/build-image.sh"))
        .arg(env!("CARGO_BIN_EXE_rampart"))
        .arg(out)
        .output()
        .unwrap();
    ok(&run);
    PathBuf::from(text(&run.stdout).trim())
}

/// The digest of the layout's only manifest.
fn manifest_digest(layout: &Path) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        VERSION
    );
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
}

/// Every path below `root` (relative, directories with a trailing `/`).
fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            out.insert(format!("{rel}/"));
            walk(root, &p, out);
        } else {
            out.insert(rel);
        }
    }
}

fn layer<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == name)
        .unwrap()
}

/// A runc bundle of the unpacked image (umoci writes its `config.json` from the image's
/// configuration: user, entrypoint, environment), as a restricted pod runs it: read-only root,
/// no capabilities, rampart's recorded seccomp profile, tmpfs at /tmp and at the cache
/// directory (runc keeps the mode of the directory it mounts a tmpfs on: the cache's is 0755
/// and owned by 65532, as in the image).
fn run_in_image(bundle: &Path, args: &[&str], env: &[&str]) -> Output {
    let path = bundle.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(args);
    let mut envs = config["process"]["env"].as_array().unwrap().clone();
    envs.extend(env.iter().map(|e| json!(e)));
    config["process"]["env"] = Value::Array(envs);
    config["process"]["capabilities"] =
        json!({"bounding": [], "effective": [], "inheritable": [], "permitted": [], "ambient": []});
    config["root"]["readonly"] = json!(true);
    // rampart's own recorded profile (deploy/rampart.seccomp.json): what is not in it fails
    let profile = common::root().join("deploy/rampart.seccomp.json");
    config["linux"]["seccomp"] = serde_json::from_slice(&std::fs::read(profile).unwrap()).unwrap();
    let mounts = config["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["destination"] != "/tmp" && m["destination"] != "/var/cache/rampart");
    mounts.push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=16m"]}));
    mounts.push(json!({"destination": "/var/cache/rampart", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "uid=65532", "gid=65532", "size=16m"]}));
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let state = tempfile::tempdir().unwrap();
    Command::new("runc")
        .arg("--root")
        .arg(state.path())
        .args(["run", "--bundle"])
        .arg(bundle)
        .arg(rampart_testkit::runc::unique_id("rampart-image"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn the_release_image_meets_rampart_s_own_standard() {
    rampart_testkit::registry::ensure_registry_tools();
    rampart_testkit::runc::ensure_runc();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Built twice from the same binary: the same digest (SOURCE_DATE_EPOCH).
    let layout = build_image(&d.join("oci"));
    assert_eq!(layout, d.join("oci"));
    let digest = manifest_digest(&layout);
    assert_eq!(
        manifest_digest(&build_image(&d.join("again"))),
        digest,
        "the build is reproducible"
    );
    let manifest: Value = serde_json::from_slice(&blob(&layout, &digest)).unwrap();
    let config: Value = serde_json::from_slice(&blob(
        &layout,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(config["config"]["Entrypoint"], json!(["/usr/bin/rampart"]));
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.version"],
        VERSION
    );
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);

    // What is in it: rampart, the libraries and loader ldd names, and data; nothing else runs.
    let unpacked = d.join("bundle");
    rampart_testkit::tools::run_output(
        "umoci",
        &[
            "unpack",
            "--image",
            &format!("{}:{VERSION}", layout.display()),
            unpacked.to_str().unwrap(),
        ],
    );
    let rootfs = unpacked.join("rootfs");
    let mut files = BTreeSet::new();
    walk(&rootfs, &rootfs, &mut files);
    let ldd =
        text(&rampart_testkit::tools::run_output("ldd", &[env!("CARGO_BIN_EXE_rampart")]).stdout);
    let libs: Vec<String> = ldd
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.split("=> ")
                .nth(1)
                .or(Some(l).filter(|l| l.starts_with('/')))
                .and_then(|p| p.split_whitespace().next())
                .map(|p| {
                    std::fs::canonicalize(p)
                        .unwrap()
                        .display()
                        .to_string()
                        .trim_start_matches('/')
                        .to_owned()
                })
        })
        .collect();
    assert!(libs.len() >= 2, "{ldd}");
    let mut executables = BTreeSet::new();
    for f in &files {
        let p = rootfs.join(f);
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
            executables.insert(f.clone());
        }
        assert_eq!(
            meta.permissions().mode() & 0o6000,
            0,
            "{f} is setuid/setgid"
        );
        let name = f.trim_end_matches('/').rsplit('/').next().unwrap();
        assert!(
            ![
                "sh", "bash", "dash", "busybox", "apt", "apt-get", "dpkg", "rpm", "apk"
            ]
            .contains(&name)
                || f.ends_with('/'),
            "{f} in the image"
        );
    }
    let mut expected: BTreeSet<String> = libs
        .iter()
        .filter(|l| {
            let m = std::fs::metadata(Path::new("/").join(l)).unwrap();
            m.permissions().mode() & 0o111 != 0
        })
        .cloned()
        .collect();
    expected.insert("usr/bin/rampart".to_owned());
    assert_eq!(executables, expected, "only rampart and its libraries run");
    for lib in &libs {
        assert!(files.contains(lib), "{lib} missing (ldd: {ldd})");
    }
    for f in [
        "etc/passwd",
        "etc/group",
        "etc/ssl/certs/ca-certificates.crt",
        "etc/os-release",
        "tmp/",
        "var/lib/dpkg/status.d/libc6",
    ] {
        assert!(files.contains(f), "{f} missing: {files:#?}");
    }
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
    assert!(
        passwd.contains("nonroot:x:65532:65532:"),
        "the user exists: {passwd}"
    );

    // It runs under runc as 65532 with a read-only root.
    let out = run_in_image(&unpacked, &["/usr/bin/rampart", "version"], &[]);
    ok(&out);
    assert!(
        text(&out.stdout).starts_with(&format!("rampart {VERSION}")),
        "{}",
        text(&out.stdout)
    );
    // A real workload under the profile: the SBOM of the image's own /usr.
    let out = run_in_image(
        &unpacked,
        &[
            "/usr/bin/rampart",
            "sbom",
            "dir:/usr",
            "-o",
            "/tmp/sbom.json",
        ],
        &[],
    );
    ok(&out);
    // The cache directory's tmpfs is 0755 and owned by 65532: only that user writes there
    // (root without capabilities could not).
    let out = run_in_image(
        &unpacked,
        &[
            "/usr/bin/rampart",
            "key",
            "generate",
            "--output-prefix",
            "/var/cache/rampart/k",
        ],
        &["RAMPART_PASSWORD=x"],
    );
    ok(&out);
    // The root is read-only.
    let out = run_in_image(
        &unpacked,
        &[
            "/usr/bin/rampart",
            "key",
            "generate",
            "--output-prefix",
            "/home/nonroot/k",
        ],
        &["RAMPART_PASSWORD=x"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "{}",
        text(&out.stderr)
    );
    // No shell to start.
    let out = run_in_image(&unpacked, &["/bin/sh", "-c", "id"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no such file or directory"),
        "{}",
        text(&out.stderr)
    );

    // Pushed, signed, attested, verified.
    let reg = Registry::start(Auth::None);
    let repo = format!("rampart/rampart:{VERSION}");
    reg.push_layout(&layout, Some(VERSION), &repo);
    let image = reg.reference(&repo);
    let pw = [("RAMPART_PASSWORD", "release key")];
    ok(&rampart(
        &["key", "generate", "--output-prefix", "release"],
        d,
        &pw,
    ));
    ok(&rampart(
        &["sign", "--insecure", "--key", "release.key", &image],
        d,
        &pw,
    ));
    ok(&rampart(
        &["sbom", "--insecure", &image, "-o", "sbom.cdx.json"],
        d,
        &[],
    ));
    let sbom: Value =
        serde_json::from_slice(&std::fs::read(d.join("sbom.cdx.json")).unwrap()).unwrap();
    let names: BTreeSet<&str> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(names.contains("libc6"), "{names:?}");
    ok(&rampart(
        &[
            "attest",
            "--insecure",
            "--key",
            "release.key",
            "--type",
            "cyclonedx",
            "--predicate",
            "sbom.cdx.json",
            &image,
        ],
        d,
        &pw,
    ));
    let out = rampart(
        &[
            "verify",
            "--insecure",
            "--key",
            "release.pub",
            "-f",
            "json",
            &image,
        ],
        d,
        &[],
    );
    ok(&out);
    assert_eq!(common::json(&out)[0]["digest"], digest.as_str());
    ok(&rampart(
        &[
            "verify-attestation",
            "--insecure",
            "--key",
            "release.pub",
            "--type",
            "cyclonedx",
            &image,
        ],
        d,
        &[],
    ));

    // The scan of the image alone: every layer an image can show holds (its contents, the
    // supply chain through the trust policy, its vulnerabilities against a database with the
    // Debian 12 advisories its packages need); the others are not assessed, with their reason.
    let db = d.join("osv.db");
    ok(&rampart(
        &[
            "db",
            "import",
            "--db",
            db.to_str().unwrap(),
            common::root()
                .join("crates/rampart-vuln/tests/fixtures/debian")
                .to_str()
                .unwrap(),
            common::root().join("examples/advisories").to_str().unwrap(),
        ],
        d,
        &[],
    ));
    std::fs::write(
        d.join("trust.toml"),
        format!(
            "[[image]]\nmatch = [\"{}/rampart/**\"]\nkeys = [\"release.pub\"]\nattestations = [\"cyclonedx\"]\n",
            reg.host()
        ),
    )
    .unwrap();
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--no-config",
            "--insecure",
            "--image",
            &image,
            "--policy",
            "trust.toml",
            "--db",
            db.to_str().unwrap(),
            "--format",
            "json",
            "--fail-on",
            "medium",
        ];
        args.extend_from_slice(extra);
        let out = rampart(&args, d, &[]);
        let report = common::json(&out);
        assert_eq!(
            report["errors"].as_array().unwrap().len(),
            0,
            "{:#?}",
            report["errors"]
        );
        assert_eq!(
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["suppressed"].is_null())
                .filter(
                    |f| ["critical", "high", "medium"].contains(&f["severity"].as_str().unwrap())
                )
                .count(),
            0,
            "{:#?}",
            report["findings"]
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        report
    };
    let report = scan(&[]);
    let img = &report["images"][0];
    assert_eq!(img["digest"], digest.as_str());
    assert_eq!(img["user"], "65532:65532");
    assert_eq!(img["minimality"], "distroless");
    assert_eq!(
        img["tools"],
        json!([]),
        "no shell, package manager or build tool"
    );
    assert!(img["vulnerabilities"]["not_checked"].is_null(), "{img}");
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    let states: Vec<(String, String)> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["layer"].as_str().unwrap().to_owned(),
                l["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (name, state) in &states {
        let assessable = ["image", "supply-chain"].contains(&name.as_str());
        let want = if assessable { "holds" } else { "not-assessed" };
        assert_eq!(state, want, "{name}: {states:?}");
    }
    assert!(layer(&report, "supply-chain")["assessed"].as_u64().unwrap() >= 2);

    // With the manifests that run it (pinned to its digest): the fleet's workers, the monitor,
    // the webhook, every layer but build (no Dockerfile: the script is the build) is assessed
    // and holds.
    let (repository, _) = image.rsplit_once(':').unwrap();
    for (name, args) in [
        ("fleet.yaml", &["fleet", "manifests"][..]),
        (
            "monitor.yaml",
            &[
                "monitor",
                "manifests",
                "--webhook",
                "http://alerts.monitoring:2801/falco",
            ],
        ),
        ("webhook.yaml", &["admission", "manifests"]),
    ] {
        let mut all = args.to_vec();
        all.extend(["--image", repository, "--image-digest", &digest]);
        let out = rampart(&all, d, &[]);
        ok(&out);
        let yaml = text(&out.stdout);
        assert!(yaml.contains(&format!("{repository}@{digest}")), "{name}");
        std::fs::write(d.join(name), yaml).unwrap();
    }
    let report = scan(&["fleet.yaml", "monitor.yaml", "webhook.yaml"]);
    for l in report["layers"].as_array().unwrap() {
        let want = if l["layer"] == "build" {
            "not-assessed"
        } else {
            "holds"
        };
        assert_eq!(l["state"], want, "{l}");
    }
}
