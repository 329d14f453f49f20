//! DF006, DF007 and DF027: secrets in `ENV`/`ARG` by name, credentials by value anywhere in the
//! Dockerfile, and secret files copied into the image. Messages never include a secret value.

use super::{Cx, StageView};
use crate::ast::{Instruction, Kind, Pos, Word};
use crate::shell::basename;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity, cis_docker};
use rampart_secrets::{credential_kind, high_entropy, secret_name};

const DOCS_SECRETS: Reference = Reference::new(
    RefKind::Docs,
    "Build secrets",
    "https://docs.docker.com/build/building/secrets/",
);

/// DF006.
pub static SECRET_NAME: Rule = Rule {
    id: "DF006",
    name: "secret-in-env-or-arg",
    title: "A secret is passed through ENV or ARG",
    severity: Severity::High,
    layer: Layer::Access,
    target: RuleTarget::Dockerfile,
    rationale: "ENV values are stored in the image configuration and visible to anyone who can \
                pull the image (`docker inspect`); ARG values are recorded in the image history \
                of the stage that uses them and in build provenance; a default value is also in \
                source control. A variable named like a password, token or key therefore leaks \
                the credential. Variables pointing at a secret (`*_FILE`, `*_PATH`), empty \
                values and references to other variables are not reported; an ARG without a \
                default is reported one step lower (the value comes from the build command).",
    remediation: "Pass build-time secrets with `RUN --mount=type=secret,id=...` (read from \
                  /run/secrets/<id>), and inject run-time secrets when the container starts \
                  (orchestrator secrets, a `*_FILE` variable pointing at a mounted file).",
    bad_example: "FROM alpine:3.19\nENV DB_PASSWORD=hunter2\nUSER 10001\n",
    good_example: "FROM alpine:3.19\nENV DB_PASSWORD_FILE=/run/secrets/db_password\nUSER 10001\n",
    references: &[
        cis_docker::SECRETS,
        DOCS_SECRETS,
        Reference::new(
            RefKind::Docs,
            "Build checks: SecretsUsedInArgOrEnv",
            "https://docs.docker.com/reference/build-checks/secrets-used-in-arg-or-env/",
        ),
    ],
};

/// DF007.
pub static CREDENTIAL: Rule = Rule {
    id: "DF007",
    name: "hardcoded-credential",
    title: "A credential is written in the Dockerfile",
    severity: Severity::Critical,
    layer: Layer::Access,
    target: RuleTarget::Dockerfile,
    rationale: "A value shaped like a real credential (AWS access key id, GitHub, GitLab, Slack, \
                npm, PyPI, Stripe or Google API token, a private key block, a JWT, a URL with a \
                password, or a high-entropy value in a secret-named variable) sits in the \
                Dockerfile, so it is in source control, in the image metadata or layer history, \
                and in every copy of them. It must be considered leaked.",
    remediation: "Revoke and rotate the credential now; then pass it at build time with \
                  `RUN --mount=type=secret` or at run time from a secret store, never in the \
                  Dockerfile.",
    bad_example: "FROM alpine:3.19\nENV AWS_ACCESS_KEY=AKIAIOSFODNN7EXAMPLE\nUSER 10001\n",
    good_example: "FROM alpine:3.19\nRUN --mount=type=secret,id=aws,target=/root/.aws/credentials aws s3 cp s3://bucket/x /x\nUSER 10001\n",
    references: &[cis_docker::SECRETS, DOCS_SECRETS],
};

/// DF027.
pub static SENSITIVE_COPY: Rule = Rule {
    id: "DF027",
    name: "sensitive-file-copied",
    title: "A secret file is copied into the image",
    severity: Severity::High,
    layer: Layer::Access,
    target: RuleTarget::Dockerfile,
    rationale: "SSH keys, `.env` files, `.npmrc`/`.pypirc`/`.netrc` with tokens, cloud \
                credentials, kubeconfigs and private keys copied with COPY or ADD become a layer \
                of the image: deleting them in a later step does not remove them from the \
                earlier layer, and anyone who can pull the image can read them. In a stage that \
                does not ship they still live in the build cache (reported one step lower).",
    remediation: "Mount the file only for the step that needs it (`RUN \
                  --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci`, `--mount=type=ssh`), \
                  and list such files in .dockerignore.",
    bad_example: "FROM node:20-slim\nCOPY .npmrc /root/.npmrc\nRUN npm ci\nUSER node\n",
    good_example: "FROM node:20-slim\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci\nUSER node\n",
    references: &[cis_docker::SECRETS, DOCS_SECRETS],
};

/// Values that cannot be a secret: empty, a reference, a path, a boolean.
fn inert_value(w: &Word) -> bool {
    let v = w.value.trim();
    let raw = w.raw.trim();
    v.is_empty()
        || raw.starts_with('$')
        || v.starts_with('/')
        || v.starts_with("./")
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "0" | "1" | "none" | "null"
        )
}

/// A credential found in a variable's value: by format, or by entropy in a secret-named one.
fn value_credential(name: &str, w: &Word) -> Option<&'static str> {
    credential_kind(&w.value).or_else(|| {
        (secret_name(name) && !inert_value(w) && high_entropy(w.value.trim()))
            .then_some("a high-entropy secret")
    })
}

/// Every variable of a stage: (instruction keyword, name, value if any, position, is_arg).
fn variables(insts: &[Instruction]) -> Vec<(&'static str, &str, Option<&Word>, Pos)> {
    let mut out = Vec::new();
    for inst in insts {
        match &inst.kind {
            Kind::Env { pairs } => {
                out.extend(
                    pairs
                        .iter()
                        .map(|kv| ("ENV", kv.key.as_str(), Some(&kv.value), kv.key_pos)),
                );
            }
            Kind::Arg { decls } => {
                out.extend(
                    decls
                        .iter()
                        .map(|d| ("ARG", d.name.as_str(), d.default.as_ref(), d.pos)),
                );
            }
            _ => {}
        }
    }
    out
}

/// The global ARGs, as variables.
fn global_variables<'a>(cx: &'a Cx<'_>) -> Vec<(&'static str, &'a str, Option<&'a Word>, Pos)> {
    cx.df
        .global_args
        .iter()
        .map(|d| ("ARG", d.name.as_str(), d.default.as_ref(), d.pos))
        .collect()
}

pub(crate) fn check_names(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let Some(first) = cx.stages.first() else {
        return;
    };
    let mut report = |sv: &StageView<'_>,
                      global: bool,
                      vars: Vec<(&str, &str, Option<&Word>, Pos)>| {
        for (kw, name, value, pos) in vars {
            if !secret_name(name) {
                continue;
            }
            match value {
                Some(w) if inert_value(w) || value_credential(name, w).is_some() => {}
                Some(_) => {
                    let f = cx.finding(
                        &SECRET_NAME,
                        sv,
                        pos,
                        format!(
                            "{kw} {name} sets a literal value ({} characters, redacted): it is stored in the {}",
                            value.map_or(0, |w| w.value.chars().count()),
                            if kw == "ENV" { "image configuration" } else { "Dockerfile and build history" }
                        ),
                    );
                    let f = if kw == "ENV" && !sv.ships && !global {
                        let s = f.severity.lowered();
                        f.with_severity(s)
                    } else {
                        f
                    };
                    out.push(f);
                }
                None if kw == "ARG" => {
                    let f = cx.finding(
                        &SECRET_NAME,
                        sv,
                        pos,
                        format!(
                            "ARG {name} looks like a secret: build arguments are recorded in image history and provenance; use RUN --mount=type=secret"
                        ),
                    );
                    let s = f.severity.lowered();
                    out.push(f.with_severity(s));
                }
                None => {}
            }
        }
    };
    report(first, true, global_variables(cx));
    for sv in &cx.stages {
        report(sv, false, variables(sv.instructions));
    }
}

pub(crate) fn check_values(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let Some(first) = cx.stages.first() else {
        return;
    };
    let mut vars_of = vec![(first, global_variables(cx))];
    vars_of.extend(cx.stages.iter().map(|sv| (sv, variables(sv.instructions))));
    for (sv, vars) in vars_of {
        for (kw, name, value, pos) in vars {
            if let Some(kind) = value.and_then(|w| value_credential(name, w)) {
                out.push(cx.finding(
                    &CREDENTIAL,
                    sv,
                    pos,
                    format!("{kw} {name} holds {kind} (value redacted): revoke and rotate it"),
                ));
            }
        }
    }
    for sv in &cx.stages {
        for inst in sv.instructions {
            let (what, texts): (String, Vec<&str>) = match &inst.kind {
                Kind::Run(c) => (
                    "RUN".to_owned(),
                    std::iter::once(inst.args.as_str())
                        .chain(c.heredocs.iter().map(|h| h.content.as_str()))
                        .collect(),
                ),
                Kind::Copy(c) | Kind::Add(c) if !c.heredocs.is_empty() => (
                    format!("{} heredoc", inst.keyword.to_ascii_uppercase()),
                    c.heredocs.iter().map(|h| h.content.as_str()).collect(),
                ),
                Kind::Label { pairs } => (
                    "LABEL".to_owned(),
                    pairs.iter().map(|kv| kv.value.value.as_str()).collect(),
                ),
                _ => continue,
            };
            if let Some(kind) = texts.iter().find_map(|t| credential_kind(t)) {
                out.push(cx.finding(
                    &CREDENTIAL,
                    sv,
                    inst.pos(),
                    format!(
                        "{what} on line {} contains {kind} (redacted): revoke and rotate it",
                        inst.line
                    ),
                ));
            }
        }
    }
}

/// Whether a copied path names a secret file, and which kind.
fn sensitive_file(path: &str) -> Option<&'static str> {
    let trimmed = path.trim_end_matches('/');
    let base = basename(trimmed);
    let lower = base.to_ascii_lowercase();
    let full = trimmed.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519"
    ) {
        return Some("an SSH private key");
    }
    if lower == ".ssh" || full.contains(".ssh/") {
        return Some("an SSH directory");
    }
    if lower == ".env"
        || (lower.starts_with(".env.")
            && !["example", "sample", "template", "dist", "defaults"]
                .iter()
                .any(|s| lower.ends_with(s)))
    {
        return Some("an environment file");
    }
    if matches!(
        lower.as_str(),
        ".npmrc" | ".pypirc" | ".netrc" | ".git-credentials" | ".dockercfg" | "kubeconfig"
    ) {
        return Some("a credentials file");
    }
    if lower == ".aws"
        || full.contains(".aws/")
        || full.contains(".docker/config.json")
        || full.contains(".kube/")
    {
        return Some("a credentials file");
    }
    if [".key", ".p12", ".pfx"].iter().any(|e| lower.ends_with(e)) && lower.len() > 4 {
        return Some("a private key or keystore");
    }
    if lower.ends_with(".tfstate") {
        return Some("a Terraform state file");
    }
    None
}

pub(crate) fn check_copies(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for inst in sv.instructions {
            let (Kind::Copy(c) | Kind::Add(c)) = &inst.kind else {
                continue;
            };
            if inst.flag_value("from").is_some() {
                continue;
            }
            for src in &c.sources {
                if src.raw.starts_with("<<") || src.value.contains("://") {
                    continue;
                }
                if let Some(kind) = sensitive_file(&src.value) {
                    out.push(cx.staged_finding(
                        &SENSITIVE_COPY,
                        sv,
                        src.pos,
                        format!(
                            "{} copies `{}`, {kind}, into a layer of {}",
                            inst.keyword.to_ascii_uppercase(),
                            src.value,
                            sv.label()
                        ),
                    ));
                }
            }
        }
    }
}
