//! The habits users bring from Trivy, Checkov and Kubescape (issue 13 §5), end to end with the
//! real components: `rampart version`, completions loaded by real bash, zsh and fish, the man page
//! rendered by man-db, the README, vulnerability suppressions by id, rule selection,
//! `rampart.toml` found walking up, standard input, Helm charts rendered by real Helm (Helm v4's
//! Go SDK through PyPI `helm-python-sdk`) and kustomizations by the machine's `kubectl kustomize`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;

use common::{json, oracles, rampart_command, rampart_in, root};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ensure_tools(pairs: &[&str]) {
    let ok = Command::new("bash")
        .arg(root().join("scripts/ensure-tools.sh"))
        .args(pairs)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cannot install {pairs:?}");
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_rampart"))
        .parent()
        .unwrap()
        .to_owned()
}

fn sh(shell: &str, script: &str) -> Output {
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(shell)
        .args(["-c", script])
        .env("PATH", path)
        .output()
        .unwrap()
}

/// The report validates against docs/report.schema.json (new states and fields documented).
fn schema_valid(report: &Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    std::fs::write(&file, report.to_string()).unwrap();
    common::validate_with_jsonschema(&root().join("docs/report.schema.json"), &file).unwrap();
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().unwrap()
}

fn layer<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == name)
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// version, completions, man page, README

#[test]
fn version_names_the_commit_and_the_database_age() {
    let out = rampart_in(&["version"], &root());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root())
        .output()
        .unwrap();
    let head = text(&head.stdout).trim().to_owned();
    assert!(
        stdout.starts_with(&format!(
            "rampart {} (commit {head}",
            env!("CARGO_PKG_VERSION")
        )),
        "{stdout}"
    );
    // The database of the test cache: its path, build time and age.
    let db = common::cache_dir().join("osv.db");
    assert!(
        stdout.contains(&format!("advisory database: {}, built 20", db.display()))
            && stdout.contains(" old), ")
            && stdout.contains(" advisories"),
        "{stdout}"
    );
    let none = rampart_in(&["version", "--db", "/nonexistent/osv.db"], &root());
    assert_eq!(none.status.code(), Some(0));
    assert!(
        text(&none.stdout).contains("advisory database: no database at /nonexistent/osv.db"),
        "{}",
        text(&none.stdout)
    );
}

#[test]
fn completions_load_in_bash_zsh_and_fish() {
    ensure_tools(&["zsh:zsh", "fish:fish"]);
    let bash = sh(
        "bash",
        "source <(rampart completions bash) && complete -p rampart && \
         COMP_WORDS=(rampart sc) COMP_CWORD=1 && _rampart rampart sc rampart && echo \"${COMPREPLY[*]}\" && \
         COMP_WORDS=(rampart scan --skip) COMP_CWORD=2 && _rampart rampart --skip scan && echo \"${COMPREPLY[*]}\"",
    );
    let out = text(&bash.stdout);
    assert!(bash.status.success(), "{out}{}", text(&bash.stderr));
    assert!(out.contains("-F _rampart rampart"), "{out}");
    assert!(out.contains("scan") && out.contains("--skip-rule"), "{out}");

    let zsh = sh(
        "zsh",
        "autoload -U compinit && compinit -u -D && source <(rampart completions zsh) && \
         print -r -- $_comps[rampart] && whence -w _rampart",
    );
    let out = text(&zsh.stdout);
    assert!(zsh.status.success(), "{out}{}", text(&zsh.stderr));
    assert!(
        out.contains("_rampart") && out.contains("_rampart: function"),
        "{out}"
    );

    let fish = sh(
        "fish",
        "rampart completions fish | source; complete -C 'rampart sc'; complete -C 'rampart scan --skip'",
    );
    let out = text(&fish.stdout);
    assert!(fish.status.success(), "{out}{}", text(&fish.stderr));
    assert!(out.contains("scan") && out.contains("--skip-rule"), "{out}");
}

#[test]
fn man_page_renders_with_man_db() {
    ensure_tools(&["man:man-db", "groff:groff-base"]);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("rampart.1");
    let out = rampart_in(&["man"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(&page, &out.stdout).unwrap();
    let man = Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(&page)
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    let rendered = text(&man.stdout);
    assert!(man.status.success(), "{}", text(&man.stderr));
    assert!(
        rendered.contains("NAME") && rendered.contains("rampart - Defense in depth"),
        "{rendered}"
    );
    for cmd in ["scan", "version", "completions", "man"] {
        assert!(
            rendered.contains(&format!("rampart-{cmd}")) || rendered.contains(cmd),
            "{cmd} missing from the page"
        );
    }
    // groff finds nothing to warn about in the page.
    let groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        groff.stderr.is_empty(),
        "groff warnings: {}",
        text(&groff.stderr)
    );
    // One page per command.
    let pages = dir.path().join("pages");
    let out = rampart_in(&["man", "--out-dir", pages.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let scan_page = std::fs::read_to_string(pages.join("rampart-scan.1")).unwrap();
    assert!(scan_page.contains("skip\\-rule"), "{scan_page}");
}

/// The README's code fences are balanced the CommonMark way (a fence closes with the same
/// character, at least as long) and every heading is outside a code block; the install command
/// is there.
#[test]
fn readme_fences_close_and_it_says_how_to_install() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut open: Option<(char, usize, usize)> = None;
    let mut headings_in_code = Vec::new();
    for (n, line) in readme.lines().enumerate() {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        let fence = ['`', '~'].into_iter().find_map(|c| {
            let len = t.chars().take_while(|x| *x == c).count();
            (indent < 4 && len >= 3).then_some((c, len))
        });
        match (open, fence) {
            (None, Some((c, len))) => open = Some((c, len, n + 1)),
            (Some((c, len, _)), Some((c2, len2)))
                if c == c2 && len2 >= len && t.trim_start_matches(c).trim().is_empty() =>
            {
                open = None
            }
            (Some(_), _) if t.starts_with("## ") || t.starts_with("### ") => {
                headings_in_code.push((n + 1, line.to_owned()))
            }
            _ => {}
        }
    }
    assert!(
        open.is_none(),
        "README: code block opened at line {} never closes",
        open.unwrap().2
    );
    assert!(
        headings_in_code.is_empty(),
        "headings inside code blocks: {headings_in_code:?}"
    );
    assert!(readme.contains("cargo install --path crates/rampart"));
}

// ---------------------------------------------------------------------------------------------
// Suppress a vulnerability by id; select rules

#[test]
fn one_vulnerability_is_suppressed_by_id_or_alias_with_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let examples = root().join("examples");
    let config = dir.path().join("rampart.toml");
    // GHSA-qwcr-r2fm-qrc7 is an alias of CVE-2024-45590 (body-parser); CVE-2024-29041 (express)
    // is the finding's own id, its suppression expired.
    std::fs::write(
        &config,
        format!(
            "images = [\"{img}\"]\n[vulnerabilities]\nadvisories = [\"{adv}\"]\n\
             [[suppress]]\nid = \"ghsa-qwcr-r2fm-qrc7\"\nreason = \"body-parser only parses trusted internal JSON\"\nexpires = \"2099-12-31\"\n\
             [[suppress]]\nid = \"CVE-2024-29041\"\nreason = \"no open redirects in the worker\"\nexpires = \"2020-01-01\"\n",
            img = examples.join("images/worker").display(),
            adv = examples.join("advisories").display(),
        ),
    )
    .unwrap();
    let out = rampart_in(
        &[
            "scan",
            "--config",
            config.to_str().unwrap(),
            "--format",
            "json",
        ],
        dir.path(),
    );
    let report = json(&out);
    let vulns = report["vulnerabilities"].as_array().unwrap();
    let vuln = |id: &str| vulns.iter().find(|v| v["id"] == id).unwrap();
    assert_eq!(
        vuln("CVE-2024-45590")["waived"]["reason"],
        "body-parser only parses trusted internal JSON"
    );
    assert!(vuln("CVE-2024-29041")["waived"].is_null());
    assert!(vuln("CVE-2024-43796")["waived"].is_null(), "only that one");
    let vul001: Vec<&Value> = findings(&report)
        .iter()
        .filter(|f| f["rule_id"] == "VUL001")
        .collect();
    let suppressed: Vec<&str> = vul001
        .iter()
        .filter(|f| !f["suppressed"].is_null())
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(suppressed.len(), 1, "{suppressed:?}");
    assert!(suppressed[0].contains("CVE-2024-45590"), "{suppressed:?}");
    let expired = findings(&report)
        .iter()
        .find(|f| f["rule_id"] == "CFG001")
        .expect("the expired suppression is reported");
    let m = expired["message"].as_str().unwrap();
    assert!(
        m.contains("CVE-2024-29041") && m.contains("expired on 2020-01-01; 1 finding"),
        "{m}"
    );
    assert_eq!(expired["location"]["line"], 9, "the line of its `id =`");

    // A typo'd entry is a configuration error with its position.
    std::fs::write(&config, "[[suppress]]\nreason = \"r\"\n").unwrap();
    let bad = rampart_in(&["scan", "--config", config.to_str().unwrap()], dir.path());
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("needs a `rule` or a vulnerability `id`"));
}

const COMPLIANT_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: app}\nspec:\n  containers:\n  - name: c\n    image: x:1\n    securityContext: {privileged: true}\n";

#[test]
fn rules_are_selected_by_id_name_and_glob_and_skipped_rules_are_not_assessed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("pod.yaml"), COMPLIANT_POD).unwrap();
    std::fs::write(d.join("Dockerfile"), "FROM alpine:latest\nRUN echo hi\n").unwrap();
    let scan = |args: &[&str]| {
        let out = rampart_in(&[&["scan", ".", "--format", "json"], args].concat(), d);
        assert_ne!(out.status.code(), Some(2), "{}", text(&out.stderr));
        json(&out)
    };
    let rules_of = |r: &Value| -> std::collections::BTreeSet<String> {
        findings(r)
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = scan(&[]);
    assert!(
        rules_of(&all).contains("PSS001") && rules_of(&all).iter().any(|r| r.starts_with("DF"))
    );

    // --skip-rule by id and by glob: gone from the findings, named in the layer map.
    let skipped = scan(&["--skip-rule", "PSS001", "--skip-rule", "df*"]);
    let fired = rules_of(&skipped);
    assert!(
        !fired.contains("PSS001") && !fired.iter().any(|r| r.starts_with("DF")),
        "{fired:?}"
    );
    assert!(
        fired.iter().any(|r| r.starts_with("K8S")),
        "others still run: {fired:?}"
    );
    let build = layer(&skipped, "build");
    assert_eq!(build["state"], "not-assessed");
    assert!(
        build["reason"].as_str().unwrap().contains("rules not run"),
        "{build}"
    );
    let runtime = layer(&skipped, "runtime");
    assert!(
        runtime["reason"].as_str().unwrap().contains("PSS001"),
        "{runtime}"
    );

    // --rule by name: only that rule; a layer whose remaining controls pass is "partly
    // assessed", never "holds" because the others were skipped.
    std::fs::write(
        d.join("pod.yaml"),
        COMPLIANT_POD.replace("privileged: true", "privileged: false"),
    )
    .unwrap();
    let only = scan(&["--rule", "privileged"]);
    assert!(rules_of(&only).is_empty(), "{:?}", rules_of(&only));
    let runtime = layer(&only, "runtime");
    assert_eq!(runtime["state"], "partly-assessed", "{runtime}");
    schema_valid(&only);
    assert_eq!(runtime["assessed"], 1);
    let human = text(&rampart_in(&["scan", ".", "--rule", "privileged"], d).stdout);
    assert!(human.contains("partly assessed"), "{human}");
    let runtime_row = human
        .lines()
        .find(|l| l.trim_start().starts_with("runtime"))
        .unwrap();
    assert!(!runtime_row.contains("holds"), "{runtime_row}");

    // The same in rampart.toml; the flags add to skip-rules and replace rules.
    std::fs::write(d.join("rampart.toml"), "skip-rules = [\"DF*\"]\n").unwrap();
    let from_file = scan(&["--skip-rule", "K8S*"]);
    let fired = rules_of(&from_file);
    assert!(
        !fired
            .iter()
            .any(|r| r.starts_with("DF") || r.starts_with("K8S")),
        "{fired:?}"
    );
    std::fs::write(d.join("rampart.toml"), "rules = [\"DF002\"]\n").unwrap();
    let fired = rules_of(&scan(&[]));
    assert!(
        fired.iter().all(|r| r == "DF002") && !fired.is_empty(),
        "{fired:?}"
    );
    let fired = rules_of(&scan(&["--rule", "DF*"]));
    assert!(
        fired.len() > 1,
        "--rule replaces the file's list: {fired:?}"
    );

    // Unknown rules are errors, never a selection of nothing.
    let bad = rampart_in(&["scan", ".", "--skip-rule", "NOPE*"], d);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("`NOPE*` matches no rule"),
        "{}",
        text(&bad.stderr)
    );
    std::fs::write(
        d.join("rampart.toml"),
        "fail-on = \"high\"\nrules = [\"DF002\", \"XX9\"]\n",
    )
    .unwrap();
    let bad = rampart_in(&["scan", "."], d);
    assert_eq!(bad.status.code(), Some(2));
    let err = text(&bad.stderr);
    assert!(
        err.contains("2:19") && err.contains("rules: `XX9` matches no rule"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// rampart.toml found walking up

#[test]
fn config_is_found_walking_up_to_the_repository_root() {
    // From the repository root: examples/k8s gets examples/rampart.toml (its image, its
    // suppressions with paths relative to it, its expired suppression).
    let at_root = json(&rampart_in(
        &["scan", "examples/k8s", "--format", "json", "--no-vulns"],
        &root(),
    ));
    let from_k8s = json(&rampart_in(
        &["scan", ".", "--format", "json", "--no-vulns"],
        &root().join("examples/k8s"),
    ));
    for (report, image) in [
        (&at_root, "examples/images/worker"),
        (&from_k8s, "../images/worker"),
    ] {
        assert_eq!(report["images"][0]["name"], image, "the configured image");
        let f = findings(report);
        assert!(
            f.iter().any(|f| f["rule_id"] == "CFG001"),
            "expired suppression"
        );
        assert!(
            f.iter().any(|f| f["rule_id"] == "K8S002"
                && f["subject"] == "CronJob shop/worker"
                && f["suppressed"]["kind"] == "config"),
            "the suppression's paths (k8s/*.yaml) are relative to examples/rampart.toml"
        );
    }

    // The walk stops at a repository root (a directory holding .git).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("rampart.toml"), "fail-on = \"low\"\n").unwrap();
    std::fs::create_dir_all(d.join("repo/.git")).unwrap();
    std::fs::create_dir_all(d.join("repo/k8s")).unwrap();
    std::fs::create_dir_all(d.join("other/k8s")).unwrap();
    std::fs::write(d.join("repo/k8s/pod.yaml"), COMPLIANT_POD).unwrap();
    std::fs::write(d.join("other/k8s/pod.yaml"), COMPLIANT_POD).unwrap();
    let code = |args: &[&str]| rampart_in(args, d).status.code();
    assert_eq!(
        code(&["scan", "repo/k8s"]),
        Some(0),
        "the outer file is beyond the repository"
    );
    assert_eq!(
        code(&["scan", "other/k8s"]),
        Some(1),
        "fail-on low from ../../rampart.toml"
    );
    assert_eq!(
        code(&["scan", "other/k8s/pod.yaml"]),
        Some(1),
        "from a file too"
    );

    // Paths with different configurations: a usage error naming them, not one applied to all.
    let mixed = rampart_in(&["scan", "repo/k8s", "other/k8s"], d);
    assert_eq!(mixed.status.code(), Some(2));
    let err = text(&mixed.stderr);
    assert!(
        err.contains("different configurations")
            && err.contains("repo/k8s has no rampart.toml")
            && err.contains("other/k8s uses rampart.toml")
            && err.contains("--config"),
        "{err}"
    );
    assert_eq!(
        code(&["scan", "repo/k8s", "other/k8s", "--no-config"]),
        Some(0)
    );
}

// ---------------------------------------------------------------------------------------------
// Standard input

fn rampart_stdin(args: &[&str], cwd: &Path, input: &[u8]) -> Output {
    let mut child = rampart_command()
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn positions(report: &Value) -> std::collections::BTreeSet<(u64, u64, String)> {
    findings(report)
        .iter()
        .map(|f| {
            (
                f["location"]["line"].as_u64().unwrap(),
                f["location"]["column"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn standard_input_is_scanned_as_manifests_or_a_dockerfile() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let manifest = std::fs::read(root().join("examples/k8s/legacy.yaml")).unwrap();
    let out = rampart_stdin(&["scan", "-", "--format", "json"], d, &manifest);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let piped = json(&out);
    assert!(
        findings(&piped)
            .iter()
            .all(|f| f["location"]["file"] == "<stdin>")
    );
    let file = json(&rampart_in(
        &[
            "scan",
            "examples/k8s/legacy.yaml",
            "--format",
            "json",
            "--no-config",
        ],
        &root(),
    ));
    assert!(!positions(&file).is_empty());
    assert_eq!(
        positions(&piped),
        positions(&file),
        "same findings at the same places"
    );
    let human = text(&rampart_stdin(&["scan", "-"], d, &manifest).stdout);
    assert!(human.contains("<stdin>"), "{human}");

    let dockerfile = std::fs::read(root().join("examples/legacy/Dockerfile")).unwrap();
    let out = rampart_stdin(
        &[
            "scan",
            "-",
            "--stdin-kind",
            "dockerfile",
            "--format",
            "json",
        ],
        d,
        &dockerfile,
    );
    let piped = json(&out);
    let file = json(&rampart_in(
        &[
            "scan",
            "examples/legacy/Dockerfile",
            "--format",
            "json",
            "--no-config",
        ],
        &root(),
    ));
    let df = |r: &Value| -> std::collections::BTreeSet<(u64, u64, String)> {
        positions(r)
            .into_iter()
            .filter(|p| p.2 != "DF007") // .dockerignore beside the file: stdin has no directory
            .collect()
    };
    assert!(df(&piped).iter().any(|p| p.2.starts_with("DF")));
    assert_eq!(df(&piped), df(&file));
    assert_eq!(piped["summary"]["dockerfiles"], 1);

    // Stdin together with files, and not twice.
    std::fs::write(d.join("pod.yaml"), COMPLIANT_POD).unwrap();
    let both = json(&rampart_stdin(
        &["scan", "pod.yaml", "-", "--format", "json"],
        d,
        &manifest,
    ));
    let files: std::collections::BTreeSet<&str> = findings(&both)
        .iter()
        .map(|f| f["location"]["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["<stdin>", "pod.yaml"].into_iter().collect());
    let twice = rampart_stdin(&["scan", "-", "-"], d, &manifest);
    assert_eq!(twice.status.code(), Some(2));
}

// ---------------------------------------------------------------------------------------------
// Helm and Kustomize

/// A directory holding a `helm` command: `helm template` on Helm v4's SDK (the oracle venv's
/// `helm-python-sdk`, tests/support/helm_template.py).
fn helm_bin() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let helm = dir.path().join("helm");
    std::fs::write(
        &helm,
        format!(
            "#!/bin/sh\nexec '{}' '{}' \"$@\"\n",
            oracles().join("venv/bin/python").display(),
            root()
                .join("crates/rampart/tests/support/helm_template.py")
                .display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helm, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    dir
}

/// A chart in the style `helm create` writes: helpers, values, conditionals, a range, a
/// subchart, NOTES.txt.
fn write_chart(dir: &Path) {
    let files: &[(&str, &str)] = &[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: shop\nversion: 1.2.0\ndependencies:\n- name: cache\n  version: 0.1.0\n",
        ),
        (
            "values.yaml",
            "replicaCount: 2\nimage:\n  repository: registry.example.com/shop\n  tag: \"1.4\"\nsecurityContext:\n  privileged: true\nservice:\n  enabled: true\n  ports: [8080, 9090]\n",
        ),
        (
            "templates/_helpers.tpl",
            "{{- define \"shop.fullname\" -}}\n{{- printf \"%s-%s\" .Release.Name .Chart.Name | trunc 63 | trimSuffix \"-\" }}\n{{- end }}\n{{- define \"shop.labels\" -}}\napp.kubernetes.io/name: {{ .Chart.Name }}\napp.kubernetes.io/instance: {{ .Release.Name }}\n{{- end }}\n",
        ),
        (
            "templates/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"shop.fullname\" . }}\n  labels:\n    {{- include \"shop.labels\" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n  selector:\n    matchLabels:\n      {{- include \"shop.labels\" . | nindent 6 }}\n  template:\n    metadata:\n      labels:\n        {{- include \"shop.labels\" . | nindent 8 }}\n    spec:\n      containers:\n      - name: {{ .Chart.Name }}\n        image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n        securityContext:\n          {{- toYaml .Values.securityContext | nindent 10 }}\n",
        ),
        (
            "templates/service.yaml",
            "{{- if .Values.service.enabled }}\napiVersion: v1\nkind: Service\nmetadata:\n  name: {{ include \"shop.fullname\" . }}\nspec:\n  ports:\n  {{- range .Values.service.ports }}\n  - port: {{ . }}\n  {{- end }}\n{{- end }}\n",
        ),
        (
            "templates/NOTES.txt",
            "Visit {{ include \"shop.fullname\" . }}\n",
        ),
        (
            "charts/cache/Chart.yaml",
            "apiVersion: v2\nname: cache\nversion: 0.1.0\n",
        ),
        (
            "charts/cache/templates/statefulset.yaml",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {{ .Release.Name }}-cache\nspec:\n  serviceName: cache\n  selector: {matchLabels: {app: cache}}\n  template:\n    metadata: {labels: {app: cache}}\n    spec:\n      hostNetwork: true\n      containers:\n      - name: redis\n        image: redis:7\n",
        ),
    ];
    for (path, body) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
}

#[test]
fn helm_charts_are_rendered_by_helm_and_findings_name_their_templates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_chart(&d.join("deploy/shop"));
    let helm = helm_bin();
    let path = format!(
        "{}:{}",
        helm.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = rampart_command()
        .args(["scan", "deploy", "--format", "json"])
        .current_dir(d)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "{}",
        report["errors"]
    );
    let at = |rule: &str| -> Vec<(String, String)> {
        findings(&report)
            .iter()
            .filter(|f| f["rule_id"] == rule)
            .map(|f| {
                (
                    f["location"]["file"].as_str().unwrap().to_owned(),
                    f["subject"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    // values.yaml's privileged: true, through toYaml, in the template it came from; the
    // release name and helpers rendered by Helm.
    assert_eq!(
        at("PSS001"),
        [(
            "deploy/shop/templates/deployment.yaml".to_owned(),
            "Deployment release-name-shop".to_owned()
        )]
    );
    // The subchart's template.
    assert!(
        at("PSS002").iter().any(|(f, s)| f
            == "deploy/shop/charts/cache/templates/statefulset.yaml"
            && s == "StatefulSet release-name-cache"),
        "{:?}",
        at("PSS002")
    );
    assert!(
        findings(&report).iter().all(|f| !f["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("values.yaml")),
        "values.yaml is no manifest"
    );

    // No helm: the chart is "not rendered", exit 2, its templates never read as manifests.
    let empty = tempfile::tempdir().unwrap();
    let out = rampart_command()
        .args(["scan", "deploy", "--format", "json"])
        .current_dir(d)
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["file"], "deploy/shop");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("Helm chart not rendered: `helm` is not on PATH"),
        "{errors:?}"
    );
    assert!(findings(&report).is_empty());
    // Accepted explicitly: a warning; with nothing else to scan nothing was assessed, which
    // is exit 2 too unless that is accepted as well.
    let unrendered = |extra: &[&str]| {
        rampart_command()
            .args(
                [
                    &["scan", "deploy", "--format", "json", "--allow-unrendered"],
                    extra,
                ]
                .concat(),
            )
            .current_dir(d)
            .env("PATH", empty.path())
            .output()
            .unwrap()
    };
    let out = unrendered(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was assessed"));
    let out = unrendered(&["--allow-empty"]);
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);
    assert_eq!(report["warnings"][0]["file"], "deploy/shop");
    schema_valid(&report);

    // A chart Helm rejects is not rendered either, with Helm's reason.
    std::fs::write(
        d.join("deploy/shop/templates/broken.yaml"),
        "kind: {{ .Values.nope.deeper }}\n",
    )
    .unwrap();
    let out = rampart_command()
        .args(["scan", "deploy", "--format", "json"])
        .current_dir(d)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let m = report["errors"][0]["message"].as_str().unwrap();
    assert!(
        m.contains("not rendered: helm template failed") && m.contains("broken.yaml"),
        "{m}"
    );

    // `helm template | rampart scan -`, the other way round.
    std::fs::remove_file(d.join("deploy/shop/templates/broken.yaml")).unwrap();
    let out = Command::new("sh")
        .args([
            "-c",
            &format!(
                "helm template deploy/shop | '{}' scan - --format json",
                env!("CARGO_BIN_EXE_rampart")
            ),
        ])
        .current_dir(d)
        .env("PATH", &path)
        .output()
        .unwrap();
    let piped = json(&out);
    assert!(
        findings(&piped)
            .iter()
            .any(|f| f["rule_id"] == "PSS001" && f["location"]["file"] == "<stdin>"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn kustomize_overlays_are_rendered_and_findings_name_their_resource_files() {
    // kubectl (with its built-in Kustomize) is on these machines.
    ensure_tools(&["kubectl:kubernetes-client"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().canonicalize().unwrap();
    let overlay = d.join("overlays/prod");
    std::fs::create_dir_all(&overlay).unwrap();
    let base = root()
        .join("../shared/corpus/manifests/microservices-demo/kubernetes-manifests")
        .canonicalize()
        .unwrap();
    let mut rel = PathBuf::new();
    for _ in overlay.components().skip(1) {
        rel.push("..");
    }
    rel.push(base.strip_prefix("/").unwrap());
    std::fs::write(
        overlay.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\n\
             resources:\n- {}\n- namespace.yaml\npatches:\n- path: privileged.yaml\n",
            rel.display()
        ),
    )
    .unwrap();
    std::fs::write(
        overlay.join("namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    )
    .unwrap();
    // A strategic-merge patch: a partial Deployment, never scanned on its own.
    std::fs::write(
        overlay.join("privileged.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: frontend\nspec:\n  template:\n    spec:\n      containers:\n      - name: server\n        securityContext:\n          privileged: true\n",
    )
    .unwrap();
    // A manifest beside the kustomization that it does not name: scanned as it is.
    std::fs::write(
        overlay.join("debug-pod.yaml"),
        COMPLIANT_POD.replace("namespace: app", "namespace: debug"),
    )
    .unwrap();
    let out = rampart_in(&["scan", "overlays", "--format", "json"], &d);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "{}",
        report["errors"]
    );
    let frontend = base.join("frontend.yaml");
    let frontend_shown = {
        let mut p = PathBuf::new();
        for _ in d.components().skip(1) {
            p.push("..");
        }
        p.push(frontend.strip_prefix("/").unwrap());
        p.display().to_string()
    };
    let pss001: Vec<(&str, &str)> = findings(&report)
        .iter()
        .filter(|f| f["rule_id"] == "PSS001")
        .map(|f| {
            (
                f["location"]["file"].as_str().unwrap(),
                f["subject"].as_str().unwrap(),
            )
        })
        .collect();
    // The overlay's patch made frontend privileged; the object came from the base's
    // frontend.yaml, in the overlay's namespace. The debug pod beside it is scanned too.
    assert!(
        pss001.contains(&(frontend_shown.as_str(), "Deployment shop/frontend")),
        "{pss001:?}"
    );
    assert!(
        pss001.contains(&("overlays/prod/debug-pod.yaml", "Pod debug/p")),
        "{pss001:?}"
    );
    assert_eq!(pss001.len(), 2, "{pss001:?}");
    let files: std::collections::BTreeSet<&str> = findings(&report)
        .iter()
        .map(|f| f["location"]["file"].as_str().unwrap())
        .collect();
    assert!(
        !files.contains("overlays/prod/privileged.yaml"),
        "{files:?}"
    );
    // Every object of the base, rendered: the 11 Deployments of the 10 files its
    // kustomization names (cartservice.yaml holds redis-cart too), in namespace shop; not
    // loadgenerator.yaml, which it does not name.
    let deployments: Vec<&str> = report["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap())
        .filter(|s| s.starts_with("Deployment "))
        .collect();
    assert_eq!(deployments.len(), 11, "{deployments:?}");
    assert!(
        deployments
            .iter()
            .all(|s| s.starts_with("Deployment shop/"))
    );
    assert!(!deployments.contains(&"Deployment shop/loadgenerator"));
    // The overlay's Namespace applies to the rendered workloads (admission layer assessed).
    assert_ne!(layer(&report, "admission")["state"], "not-assessed");

    // No renderer on PATH: not rendered, never silently skipped.
    let empty = tempfile::tempdir().unwrap();
    let out = rampart_command()
        .args(["scan", "overlays", "--format", "json"])
        .current_dir(&d)
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(report["errors"][0]["file"], "overlays/prod");
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Kustomize directory not rendered: neither `kubectl` nor `kustomize`")
    );
}
