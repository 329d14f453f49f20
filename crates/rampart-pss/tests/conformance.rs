//! Runs every upstream pod-security-admission conformance fixture
//! (`testdata/<level>/v1.<minor>/<pass|fail>/<name>.yaml`) through the
//! evaluator. See `shared/notes/psa-fixtures.md` for the expected outcomes.

// Test code: panicking with context is how a failure is reported.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]
use std::collections::BTreeMap;

use rampart_pss::{Evaluation, FieldPath, Level, PathSeg, Version, evaluate};
use serde_json::{Value, json};

/// File prefix (lowercased check ID) -> (check ID, expected message substring).
fn expectation(prefix: &str) -> (&'static str, &'static str) {
    match prefix {
        "apparmorprofile" => ("appArmorProfile", "forbidden AppArmor profile"),
        "capabilities_baseline" => ("capabilities_baseline", "capabilities"),
        "hostnamespaces" => ("hostNamespaces", "host namespaces"),
        "hostpathvolumes" => ("hostPathVolumes", "hostPath"),
        "hostports" => ("hostPorts", "hostPort"),
        "hostprobesandhostlifecycle" => ("hostProbesAndHostLifecycle", "probe or lifecycle host"),
        "privileged" => ("privileged", "privileged"),
        "procmount" => ("procMount", "procMount"),
        "seccompprofile_baseline" => ("seccompProfile_baseline", "seccompProfile"),
        "selinuxoptions" => ("seLinuxOptions", "seLinuxOptions"),
        "sysctls" => ("sysctls", "forbidden sysctl"),
        "windowshostprocess" => ("windowsHostProcess", "hostProcess"),
        "allowprivilegeescalation" => ("allowPrivilegeEscalation", "allowPrivilegeEscalation"),
        "capabilities_restricted" => ("capabilities_restricted", "unrestricted capabilities"),
        "procmount_restricted" => ("procMount_restricted", "procMount"),
        "restrictedvolumes" => ("restrictedVolumes", "restricted volume types"),
        "runasnonroot" => ("runAsNonRoot", "runAsNonRoot"),
        "runasuser" => ("runAsUser", "runAsUser"),
        "seccompprofile_restricted" => ("seccompProfile_restricted", "seccompProfile"),
        other => panic!("unknown fixture prefix {other:?}"),
    }
}

/// The restricted check that replaces a baseline check at `minor`, if any.
fn overriding(check: &str, minor: u32) -> Option<&'static str> {
    match check {
        "capabilities_baseline" if minor >= 22 => Some("capabilities_restricted"),
        "seccompProfile_baseline" if minor >= 19 => Some("seccompProfile_restricted"),
        "hostPathVolumes" => Some("restrictedVolumes"),
        "procMount" if minor >= 35 => Some("procMount_restricted"),
        _ => None,
    }
}

/// Resolves a field path in `value`.
fn resolve<'a>(value: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, seg| match seg {
        PathSeg::Key(k) => v.get(k.as_str()),
        PathSeg::Index(i) => v.get(*i),
    })
}

/// Checks the invariants every evaluation must satisfy.
fn check_shape(file: &str, pod: &Value, eval: &Evaluation) {
    for v in &eval.violations {
        assert!(!v.paths.is_empty(), "{file}: {} has no paths", v.check_id);
        for path in &v.paths {
            assert!(
                resolve(pod, path).is_some(),
                "{file}: {} path {path:?} does not exist in the pod",
                v.check_id
            );
        }
        assert!(
            !v.reason.is_empty() && !v.detail.is_empty(),
            "{file}: {v:?}"
        );
    }
}

#[derive(Default)]
struct Tally {
    cases: usize,
    failures: Vec<String>,
    per_dir: BTreeMap<String, usize>,
}

impl Tally {
    fn check(&mut self, ok: bool, msg: impl FnOnce() -> String) {
        self.cases += 1;
        if !ok {
            self.failures.push(msg());
        }
    }
}

#[test]
fn conformance_fixtures() {
    let mut tally = Tally::default();
    let mut files = 0usize;
    let corpus = rampart_testkit::pss::walk();
    let level_minor_dirs = corpus.version_dirs.len();
    for (level_name, dir_name) in &corpus.version_dirs {
        let minor: u32 = dir_name
            .strip_prefix("v1.")
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("unexpected directory {level_name}/{dir_name}"));
        assert_eq!(dir_name.parse::<Version>().ok(), Some(Version::v1(minor)));
    }

    for fx in &corpus.fixtures {
        let (level_name, dir_name, outcome, name) =
            (fx.level, fx.version.as_str(), fx.outcome, fx.name.as_str());
        let level = match level_name {
            "baseline" => Level::Baseline,
            _ => Level::Restricted,
        };
        let minor: u32 = dir_name
            .strip_prefix("v1.")
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("unexpected directory {}", fx.path.display()));
        let version = Version::v1(minor);
        files += 1;
        *tally
            .per_dir
            .entry(format!("{level_name}/{dir_name}"))
            .or_default() += 1;
        let file = format!("{level_name}/{dir_name}/{outcome}/{name}");
        let pod = &fx.pod;
        let eval = evaluate(level, version, pod);
        check_shape(&file, pod, &eval);

        // The same pod spec as a workload's pod template.
        let template = json!({
            "metadata": pod.get("metadata").cloned().unwrap_or(Value::Null),
            "spec": pod.get("spec").cloned().unwrap_or(Value::Null),
        });
        let deployment = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": {"template": template},
        });
        let cronjob = json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "spec": {"jobTemplate": {"spec": {"template": template}}},
        });
        for (kind, tpl) in [
            ("Deployment", &deployment["spec"]["template"]),
            (
                "CronJob",
                &cronjob["spec"]["jobTemplate"]["spec"]["template"],
            ),
        ] {
            let wrapped = evaluate(level, version, tpl);
            tally.check(
                wrapped.allowed() == eval.allowed()
                    && wrapped.failed_check_ids() == eval.failed_check_ids()
                    && wrapped.message() == eval.message(),
                || format!("{file}: {kind} template verdict differs from the pod"),
            );
        }

        if outcome == "pass" {
            tally.check(eval.allowed(), || {
                format!("{file}: expected allowed, got {}", eval.message())
            });
            if level == Level::Restricted {
                let base = evaluate(Level::Baseline, version, pod);
                tally.check(base.allowed(), || {
                    format!(
                        "{file}: restricted pass denied at baseline: {}",
                        base.message()
                    )
                });
            }
            continue;
        }

        let prefix = name.trim_end_matches(|c: char| c.is_ascii_digit());
        let (check, substring) = expectation(prefix);
        let ids = eval.failed_check_ids();
        let accepted = ids.contains(&check)
            || (level == Level::Restricted
                && overriding(check, minor).is_some_and(|o| ids.contains(&o)));
        let message = eval.message();
        tally.check(
            !eval.allowed() && accepted && message.contains(substring),
            || format!("{file}: expected {check} / {substring:?}, got {ids:?}: {message}"),
        );
    }

    assert!(
        tally.failures.is_empty(),
        "{} of {} conformance cases failed:\n{}",
        tally.failures.len(),
        tally.cases,
        tally.failures.join("\n")
    );
    assert_eq!(level_minor_dirs, 76, "expected 38 minors x 2 levels");
    assert!(
        tally.per_dir.values().all(|&n| n > 0),
        "empty fixture directory: {:?}",
        tally.per_dir
    );
    assert!(files > 4000, "only {files} fixture files found");
    assert!(tally.cases > 4000, "only {} cases ran", tally.cases);
    println!(
        "psa conformance: {} fixture files, {} cases passed",
        files, tally.cases
    );
}
