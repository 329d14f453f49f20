//! The image layer's rules (`IMG...`): what an inspected image is judged on. Each rule's
//! examples are image sketches (see [`crate::sketch`]); a test builds both into images and
//! checks the bad one fires the rule and the good one does not.

use rampart_core::{
    Assessment, Finding, Layer, Location, RefKind, Reference, Rule, RuleTarget, Severity,
    cis_docker,
};

use crate::Inspection;
use crate::facts::SecretSource;

const DISTROLESS: Reference = Reference::new(
    RefKind::Docs,
    "Distroless container images",
    "https://github.com/GoogleContainerTools/distroless",
);

macro_rules! image_rule {
    ($name:ident, $id:literal, $rule_name:literal, $title:literal, $sev:expr,
     rationale: $rat:expr, remediation: $rem:expr, bad: $bad:expr, good: $good:expr,
     refs: $refs:expr) => {
        #[doc = concat!($id, ": ", $title, ".")]
        pub static $name: Rule = Rule {
            id: $id,
            name: $rule_name,
            title: $title,
            severity: $sev,
            layer: Layer::Image,
            target: RuleTarget::Image,
            rationale: $rat,
            remediation: $rem,
            bad_example: $bad,
            good_example: $good,
            references: $refs,
        };
    };
}

image_rule!(ROOT_USER, "IMG001", "image-runs-as-root", "The image runs as root", Severity::High,
    rationale: "An image without a USER, or with USER root or 0, starts every container as uid 0 \
                unless the orchestrator overrides it. Any code-execution bug then runs as root in \
                the container, one kernel bug or writable mount away from root on the node.",
    remediation: "Create an unprivileged user in the image and set it with USER (numeric, so \
                  Kubernetes can verify runAsNonRoot), or build on a base that runs as non-root.",
    bad: "OS debian 12\nFILE /etc/passwd 0644 root:x:0:0:root:/root:/bin/sh\\n\nUSER root\n",
    good: "OS debian 12\nFILE /etc/passwd 0644 root:x:0:0:root:/root:/bin/sh\\napp:x:10001:10001::/home/app:/sbin/nologin\\n\nUSER 10001\n",
    refs: &[cis_docker::USER]);

image_rule!(EOL_OS, "IMG002", "end-of-life-os", "The operating system is past its end of support", Severity::High,
    rationale: "Once a distribution release leaves security support, new vulnerabilities in its \
                packages are no longer fixed: scanners stop reporting them and the image only \
                grows more exposed.",
    remediation: "Rebuild on a supported release of the distribution (or a distroless base that \
                  tracks one).",
    bad: "OS debian 10\n",
    good: "OS debian 12\n",
    refs: &[Reference::new(RefKind::Docs, "Debian LTS", "https://wiki.debian.org/LTS")]);

image_rule!(SHELL, "IMG003", "shell-in-image", "The image contains a shell", Severity::Low,
    rationale: "A shell is the first tool of an intruder: with it, any command injection or \
                remote-code bug becomes an interactive session. Distroless images have none.",
    remediation: "Use a multi-stage build and a distroless or scratch final stage; if a shell is \
                  needed for debugging, use ephemeral debug containers instead.",
    bad: "FILE /bin/sh 0755\n",
    good: "FILE /app/server 0755\n",
    refs: &[DISTROLESS, cis_docker::PACKAGES]);

image_rule!(PACKAGE_MANAGER, "IMG004", "package-manager-in-image", "The image contains a package manager", Severity::Medium,
    rationale: "A package manager in the running image lets an intruder install any tool they \
                need, and shows the final stage was not trimmed.",
    remediation: "Install packages in a build stage and copy only the results into a final stage \
                  without apt/apk/pip/npm.",
    bad: "FILE /usr/bin/apt-get 0755\nFILE /usr/bin/dpkg 0755\n",
    good: "FILE /app/server 0755\n",
    refs: &[cis_docker::PACKAGES, DISTROLESS]);

image_rule!(BUILD_TOOLS, "IMG005", "build-tools-in-image", "The image contains compilers or build tools", Severity::Medium,
    rationale: "Compilers and build tools let an intruder build exploits inside the container and \
                mean the build stage was shipped.",
    remediation: "Compile in a build stage; copy only the artifacts into the final stage.",
    bad: "FILE /usr/bin/gcc 0755\nFILE /usr/bin/make 0755\n",
    good: "FILE /app/server 0755\n",
    refs: &[cis_docker::PACKAGES]);

image_rule!(SETID, "IMG006", "setuid-setgid-file", "A file is setuid or setgid", Severity::Medium,
    rationale: "Setuid and setgid executables run with their owner's privileges: each one is a \
                privilege-escalation path out of a non-root user, and few containers need any.",
    remediation: "Remove the setuid/setgid bits in the build (`find / -perm /6000 -type f -exec \
                  chmod a-s {} +`) or drop the packages that install them; run with \
                  allowPrivilegeEscalation: false.",
    bad: "FILE /usr/bin/passwd 4755\n",
    good: "FILE /usr/bin/passwd 0755\n",
    refs: &[cis_docker::SETID]);

image_rule!(WORLD_WRITABLE, "IMG007", "world-writable", "A file or directory is world-writable", Severity::Medium,
    rationale: "Anyone in the container can replace a world-writable file or plant files in a \
                world-writable directory without the sticky bit: binaries and configuration can \
                be swapped under the application.",
    remediation: "Fix the permissions in the build (`chmod o-w`), give directories shared by \
                  users the sticky bit (like /tmp), or mount writable paths as volumes.",
    bad: "DIR /app 0777\nFILE /app/run.sh 0777\n",
    good: "DIR /app 0755\nDIR /tmp 1777\nFILE /app/run.sh 0755\n",
    refs: &[]);

image_rule!(SECRET_FILE, "IMG008", "secret-in-file", "A file in the image holds a secret", Severity::Critical,
    rationale: "Anyone who can pull the image can read its files: a private key, cloud \
                credential or token left in any layer is published with it, even when a later \
                layer deletes the file from view (only the final view is reported here). A \
                secret is a credential format (AWS, GCP service account, GitHub, GitLab, Slack, \
                npm, PyPI, Stripe, Google API keys, private keys with their body, URLs with a \
                password, JWTs) or a random-looking literal assigned to a secret-named key; by \
                the rules of the file's language, a value from a call, an attribute, a variable \
                or an expression is not a literal. A hit in a test-data directory or test file \
                of a runtime or package (`test/`, `tests/`, `testdata/`, `fixtures/`, \
                `*_test.go`, `test_*.py`...) is a test fixture: reported at low severity with \
                the reason. Runtime and package trees are judged the same wherever they are \
                installed (docs/secrets.md).",
    remediation: "Remove the secret and rotate it; pass secrets at run time (mounted secrets, \
                  environment from a secret store) and at build time with `RUN --mount=type=secret`.",
    bad: "FILE /app/.env 0600 AWS_ACCESS_KEY_ID=AKIAQWERTYUIOPASDFGH\\n\n",
    good: "FILE /app/.env 0600 AWS_REGION=eu-west-1\\n\n",
    refs: &[cis_docker::SECRETS]);

image_rule!(SECRET_ENV, "IMG009", "secret-in-env", "The image configuration holds a secret in its environment", Severity::High,
    rationale: "ENV values are stored in the image configuration: `docker inspect` or any \
                registry reader shows them, and every process in the container inherits them.",
    remediation: "Do not bake secrets into ENV; inject them at run time from a secret store.",
    bad: "ENV DB_PASSWORD=hunter2-prod\n",
    good: "ENV DB_PASSWORD_FILE=/run/secrets/db\n",
    refs: &[cis_docker::SECRETS]);

image_rule!(SECRET_HISTORY, "IMG010", "secret-in-history", "The build history holds a secret", Severity::High,
    rationale: "Build commands and the build arguments they used are recorded in the image \
                history, which anyone who can pull the image can read.",
    remediation: "Use BuildKit secret mounts (`RUN --mount=type=secret`) instead of ARG or inline \
                  credentials, and rotate the leaked secret.",
    bad: "HISTORY |1 NPM_TOKEN=npm_abcdefabcdefabcdefabcdefabcdefabcdef /bin/sh -c npm ci\n",
    good: "HISTORY /bin/sh -c npm ci\n",
    refs: &[cis_docker::SECRETS]);

image_rule!(HOSTILE_LAYER, "IMG011", "hostile-layer-entries", "A layer holds entries that try to escape the image root", Severity::High,
    rationale: "Tar entries with `..` or absolute paths, or hardlinks pointing outside the root, \
                are how a malicious layer writes to the host of a careless extractor. rampart \
                contained them; their presence says the image was crafted or built by a broken tool.",
    remediation: "Do not run the image; find out who built it and how. Rebuild it from a trusted \
                  Dockerfile with a standard builder.",
    bad: "ENTRY ../../etc/cron.d/owned\n",
    good: "FILE /app/server 0755\n",
    refs: &[]);

image_rule!(SSH_EXPOSED, "IMG012", "ssh-port-exposed", "The image exposes the SSH port", Severity::Medium,
rationale: "An SSH server in a container is a second way in, with its own credentials to leak \
            and patch; containers are entered with the orchestrator's exec, not SSH.",
remediation: "Remove the SSH server and the EXPOSE 22; use `kubectl exec` or ephemeral debug \
              containers.",
bad: "EXPOSE 22/tcp\n",
good: "EXPOSE 8080/tcp\n",
refs: &[cis_docker::SSHD]);

image_rule!(UNKNOWN_USER, "IMG013", "user-not-in-passwd", "The configured user does not exist in the image", Severity::Low,
    rationale: "A USER name that /etc/passwd does not define makes the container fail to start, \
                or run with an unexpected identity if one is added later.",
    remediation: "Use a numeric uid in USER, or create the user in the image.",
    bad: "FILE /etc/passwd 0644 root:x:0:0:root:/root:/bin/sh\\n\nUSER app\n",
    good: "FILE /etc/passwd 0644 root:x:0:0:root:/root:/bin/sh\\napp:x:10001:10001::/:/sbin/nologin\\n\nUSER app\n",
    refs: &[]);

/// Every image rule, in id order.
pub fn rules() -> &'static [&'static Rule] {
    static RULES: [&Rule; 13] = [
        &ROOT_USER,
        &EOL_OS,
        &SHELL,
        &PACKAGE_MANAGER,
        &BUILD_TOOLS,
        &SETID,
        &WORLD_WRITABLE,
        &SECRET_FILE,
        &SECRET_ENV,
        &SECRET_HISTORY,
        &HOSTILE_LAYER,
        &SSH_EXPOSED,
        &UNKNOWN_USER,
    ];
    &RULES
}

fn list(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

/// Judges an inspected image: every applicable rule is recorded as assessed on the image's
/// subject, and each weakness is a finding. Findings about a file are located at its path in
/// the image; findings about the configuration at the image's name.
pub fn assess(ins: &Inspection) -> Assessment {
    let mut a = Assessment::new();
    let subject = ins.subject();
    let file = ins.name.as_str();
    let at_image = || Location::new(file, 0, 0);
    let f = &ins.facts;
    let is_image = ins.kind == crate::SubjectKind::Image;
    let push = |a: &mut Assessment, rule: &'static Rule, loc: Location, msg: String| {
        a.push(Finding::new(rule, subject.as_str(), loc, msg));
    };

    // Configuration rules apply to images (a root filesystem has no configuration).
    if is_image {
        for r in [
            &ROOT_USER,
            &SECRET_ENV,
            &SECRET_HISTORY,
            &SSH_EXPOSED,
            &UNKNOWN_USER,
        ] {
            a.assessed(r, &subject, file);
        }
        if f.user.root {
            let how = if f.user.configured.is_empty() {
                String::from("no USER is set, so containers start as root (uid 0)")
            } else {
                format!("USER `{}` is root (uid 0)", f.user.configured)
            };
            push(&mut a, &ROOT_USER, at_image(), how);
        }
        if f.user.unknown_name {
            push(
                &mut a,
                &UNKNOWN_USER,
                at_image(),
                format!("USER `{}` is not defined in /etc/passwd", f.user.configured),
            );
        }
        if let Some(p) = f
            .exposed_ports
            .iter()
            .find(|p| p.split('/').next() == Some("22"))
        {
            push(&mut a, &SSH_EXPOSED, at_image(), format!("EXPOSE {p}"));
        }
    }
    a.assessed(&EOL_OS, &subject, file);
    if let Some(os) = &f.os {
        if let Some(eol) = &os.eol {
            let name = os.pretty_name.clone().unwrap_or_else(|| {
                format!("{} {}", os.id, os.version_id.clone().unwrap_or_default())
            });
            let date = eol.date.clone().unwrap_or_default();
            if eol.ended {
                push(
                    &mut a,
                    &EOL_OS,
                    Location::new("/etc/os-release", 0, 0),
                    format!("{name} reached its end of security support on {date}"),
                );
            } else if eol.days_left.is_some_and(|d| d <= 90) {
                let f = Finding::new(
                    &EOL_OS,
                    subject.as_str(),
                    Location::new("/etc/os-release", 0, 0),
                    format!(
                        "{name} leaves security support on {date}, in {} days",
                        eol.days_left.unwrap_or(0)
                    ),
                )
                .with_severity(Severity::Low);
                a.push(f);
            }
        }
    }
    for r in [
        &SHELL,
        &PACKAGE_MANAGER,
        &BUILD_TOOLS,
        &SETID,
        &WORLD_WRITABLE,
        &SECRET_FILE,
        &HOSTILE_LAYER,
    ] {
        a.assessed(r, &subject, file);
    }
    if !f.shells.is_empty() {
        push(
            &mut a,
            &SHELL,
            Location::new(f.shells.first().map_or(file, String::as_str), 0, 0),
            format!(
                "shells: {}; the image is {}",
                list(&f.shells, 6),
                f.minimality.describe()
            ),
        );
    }
    if !f.package_managers.is_empty() {
        push(
            &mut a,
            &PACKAGE_MANAGER,
            Location::new(
                f.package_managers.first().map_or(file, String::as_str),
                0,
                0,
            ),
            format!("package managers: {}", list(&f.package_managers, 8)),
        );
    }
    if !f.build_tools.is_empty() {
        push(
            &mut a,
            &BUILD_TOOLS,
            Location::new(f.build_tools.first().map_or(file, String::as_str), 0, 0),
            format!("build tools: {}", list(&f.build_tools, 8)),
        );
    }
    for s in &f.setid {
        let bits = match (s.setuid, s.setgid) {
            (true, true) => "setuid and setgid",
            (true, false) => "setuid",
            _ => "setgid",
        };
        let owner = if s.uid == 0 { " root" } else { "" };
        push(
            &mut a,
            &SETID,
            Location::new(&s.path, 0, 0),
            format!("{} is {bits}{owner} (mode {})", s.path, s.mode),
        );
    }
    for w in &f.world_writable {
        let what = if w.kind == rampart_image::EntryKind::Dir {
            "directory without the sticky bit"
        } else {
            "file"
        };
        push(
            &mut a,
            &WORLD_WRITABLE,
            Location::new(&w.path, 0, 0),
            format!("{} is a world-writable {what} (mode {})", w.path, w.mode),
        );
    }
    for s in &f.secrets {
        let (rule, loc) = match s.source {
            SecretSource::File => (&SECRET_FILE, Location::new(&s.place, s.line, s.column)),
            SecretSource::Env => (&SECRET_ENV, at_image()),
            SecretSource::History => (&SECRET_HISTORY, at_image()),
        };
        if !is_image && s.source != SecretSource::File {
            continue;
        }
        let mut finding = Finding::new(
            rule,
            subject.as_str(),
            loc,
            format!("{} in {}: {}", s.kind, s.place, s.redacted),
        );
        if let Some(why) = &s.fixture {
            finding
                .message
                .push_str(&format!("; {why}, reported at low severity"));
            finding = finding.with_severity(Severity::Low);
        }
        a.push(finding);
    }
    for an in &f.anomalies {
        use rampart_image::AnomalyKind as K;
        if !matches!(an.kind, K::PathEscape | K::AbsolutePath | K::HardlinkEscape) {
            continue;
        }
        let examples: Vec<String> = an
            .examples
            .iter()
            .map(|(p, l)| format!("`{p}` (layer {l})"))
            .collect();
        push(
            &mut a,
            &HOSTILE_LAYER,
            at_image(),
            format!(
                "{} {:?} entries, e.g. {}",
                an.count,
                an.kind,
                examples.join(", ")
            ),
        );
    }
    a
}
