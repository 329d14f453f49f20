//! Rule tests: every rule's own bad example fires it and its good example does not, plus table
//! cases for the logic that examples alone do not pin down (positions included).

use rampart_core::{Finding, Severity};
use rampart_k8s::{ManifestFile, PssOptions, rules, scan};
use std::collections::BTreeSet;

fn findings(text: &str) -> Vec<Finding> {
    let (file, errors) = ManifestFile::load("t.yaml", text);
    assert!(errors.is_empty(), "fixture must be valid YAML: {errors:?}");
    scan(&[file], &PssOptions::default()).findings
}

fn fired(text: &str) -> BTreeSet<&'static str> {
    findings(text).into_iter().map(|f| f.rule_id).collect()
}

#[test]
fn ids_are_unique_and_documented() {
    let all = rules();
    let ids: BTreeSet<_> = all.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), all.len(), "duplicate rule id");
    let names: BTreeSet<_> = all.iter().map(|r| r.name).collect();
    assert_eq!(names.len(), all.len(), "duplicate rule name");
    for r in &all {
        assert!(
            !r.title.is_empty() && !r.rationale.is_empty() && !r.remediation.is_empty(),
            "{}",
            r.id
        );
        assert!(!r.references.is_empty(), "{} has no reference", r.id);
    }
}

#[test]
fn every_rule_fires_on_its_bad_example_and_not_on_its_good_example() {
    for r in rules() {
        assert!(
            fired(r.bad_example).contains(r.id),
            "{} does not fire on its bad example",
            r.id
        );
        assert!(
            !fired(r.good_example).contains(r.id),
            "{} fires on its good example: {:?}",
            r.id,
            findings(r.good_example)
                .iter()
                .filter(|f| f.rule_id == r.id)
                .map(|f| &f.message)
                .collect::<Vec<_>>()
        );
    }
}

const HARDENED: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: r.example/web:1@sha256:0000000000000000000000000000000000000000000000000000000000000000
        resources: {limits: {cpu: 1, memory: 1Gi}}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
";

#[test]
fn a_hardened_workload_has_no_findings() {
    let f = findings(HARDENED);
    assert!(
        f.is_empty(),
        "{:#?}",
        f.iter()
            .map(|f| (&f.rule_id, &f.message))
            .collect::<Vec<_>>()
    );
}

#[test]
fn findings_point_at_the_offending_field() {
    let text = HARDENED.replace("allowPrivilegeEscalation: false", "privileged: true");
    let f = findings(&text);
    let privileged = f.iter().find(|f| f.rule_id == "PSS001").expect("PSS001");
    assert_eq!(
        (privileged.location.line, privileged.location.column),
        (17, 11)
    );
    let obj = privileged.location.object.as_ref().expect("object");
    assert_eq!(
        (
            obj.kind.as_str(),
            obj.namespace.as_deref(),
            obj.name.as_str(),
            obj.container.as_deref()
        ),
        ("Deployment", Some("shop"), "web", Some("web"))
    );
    assert_eq!(privileged.severity, Severity::Critical);
    assert!(
        privileged.message.contains("container \"web\""),
        "{}",
        privileged.message
    );
    // A missing field points at the container that lacks it.
    let text = HARDENED.replace("          readOnlyRootFilesystem: true\n", "");
    let ro = findings(&text)
        .into_iter()
        .find(|f| f.rule_id == "K8S007")
        .expect("K8S007");
    assert_eq!(ro.location.line, 16, "securityContext line: {ro:?}");
}

#[test]
fn pss_levels() {
    let text = HARDENED.replace("          capabilities: {drop: [ALL]}\n", "");
    assert!(fired(&text).contains("PSS018"));
    let (file, _) = ManifestFile::load("t.yaml", &text);
    let baseline = PssOptions {
        level: rampart_pss::Level::Baseline,
        ..PssOptions::default()
    };
    let ids: BTreeSet<_> = scan(&[file], &baseline)
        .findings
        .into_iter()
        .map(|f| f.rule_id)
        .collect();
    assert!(
        !ids.contains("PSS018"),
        "baseline does not require dropping capabilities"
    );
}

#[test]
fn added_sys_admin_is_the_high_baseline_violation() {
    let text = HARDENED.replace("{drop: [ALL]}", "{drop: [ALL], add: [SYS_ADMIN]}");
    let f = findings(&text);
    let caps = f.iter().find(|f| f.rule_id == "PSS003").expect("PSS003");
    assert_eq!(caps.severity, Severity::High);
    assert!(caps.message.contains("SYS_ADMIN"), "{}", caps.message);
}

#[test]
fn service_account_setting_counts_for_the_token() {
    let base = HARDENED.replace(
        "      automountServiceAccountToken: false\n",
        "      serviceAccountName: web\n",
    );
    assert!(fired(&base).contains("K8S002"));
    let with_sa = format!(
        "{base}---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: web, namespace: shop}}\nautomountServiceAccountToken: false\n"
    );
    assert!(!fired(&with_sa).contains("K8S002"));
    let other_ns = with_sa.replace(
        "{name: web, namespace: shop}\nautomount",
        "{name: web, namespace: other}\nautomount",
    );
    assert!(
        fired(&other_ns).contains("K8S002"),
        "a ServiceAccount in another namespace does not count"
    );
}

#[test]
fn network_policy_selection() {
    let only_db = HARDENED.replace(
        "  podSelector: {}\n",
        "  podSelector: {matchLabels: {app: db}}\n",
    );
    let ids = fired(&only_db);
    assert!(ids.contains("NET001") && ids.contains("NET002"), "{ids:?}");
    let ingress_only = HARDENED.replace("policyTypes: [Ingress, Egress]", "policyTypes: [Ingress]");
    let ids = fired(&ingress_only);
    assert!(!ids.contains("NET001") && ids.contains("NET002"), "{ids:?}");
    let other_ns = HARDENED.replace(
        "{name: deny, namespace: shop}",
        "{name: deny, namespace: prod}",
    );
    let f = findings(&other_ns);
    let net = f.iter().find(|f| f.rule_id == "NET001").expect("NET001");
    assert!(
        net.message
            .contains("namespace \"shop\" has no NetworkPolicy"),
        "{}",
        net.message
    );
}

#[test]
fn host_path_mounts() {
    let add = |mount: &str, path: &str| {
        HARDENED.replace(
            "          capabilities: {drop: [ALL]}\n",
            &format!("          capabilities: {{drop: [ALL]}}\n        volumeMounts: [{mount}]\n      volumes:\n      - name: h\n        hostPath: {{path: {path}}}\n"),
        )
    };
    let f = findings(&add("{name: h, mountPath: /x}", "/var/run/docker.sock"));
    let hp = f.iter().find(|f| f.rule_id == "K8S008").expect("K8S008");
    assert_eq!(
        hp.severity,
        Severity::Critical,
        "docker socket is a node takeover"
    );
    let f = findings(&add("{name: h, mountPath: /x}", "/srv/data"));
    assert_eq!(
        f.iter().find(|f| f.rule_id == "K8S008").map(|f| f.severity),
        Some(Severity::High)
    );
    assert!(
        !fired(&add("{name: h, mountPath: /x, readOnly: true}", "/var/log")).contains("K8S008")
    );
}

#[test]
fn env_secrets() {
    let with_env = |env: &str| {
        HARDENED.replace(
            "        resources:",
            &format!("        env: [{env}]\n        resources:"),
        )
    };
    assert!(
        fired(&with_env(
            "{name: STRIPE_KEY, value: sk_live_abcdefghijklmnopqrstuvwx}"
        ))
        .contains("K8S006")
    );
    assert!(fired(&with_env("{name: DB_PASSWORD, value: 'Pa55-w0rd!x'}")).contains("K8S006"));
    assert!(
        !fired(&with_env(
            "{name: DB_PASSWORD_FILE, value: /run/secrets/db}"
        ))
        .contains("K8S006")
    );
    assert!(!fired(&with_env("{name: LOG_LEVEL, value: debug}")).contains("K8S006"));
    let f = findings(&with_env("{name: DB_PASSWORD, value: 'Pa55-w0rd!x'}"));
    let m = &f
        .iter()
        .find(|f| f.rule_id == "K8S006")
        .expect("K8S006")
        .message;
    assert!(
        !m.contains("Pa55-w0rd!x"),
        "the secret itself never appears: {m}"
    );
}

#[test]
fn rbac_cases() {
    let binding = |kind: &str, name: &str| {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: b}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\nsubjects:\n- {{kind: {kind}, name: \"{name}\", apiGroup: rbac.authorization.k8s.io}}\n"
        )
    };
    assert!(!fired(&binding("Group", "system:masters")).contains("RBAC005"));
    assert!(fired(&binding("User", "alice@example.com")).contains("RBAC005"));
    let role = |rules: &str| {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: r}}\nrules:\n{rules}"
        )
    };
    let f = findings(&role(
        "- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n",
    ));
    assert_eq!(
        f.iter()
            .find(|f| f.rule_id == "RBAC001")
            .map(|f| f.severity),
        Some(Severity::Critical)
    );
    assert!(
        !fired(&role(
            "- {apiGroups: [apps], resources: [deployments], verbs: [get]}\n"
        ))
        .contains("RBAC001")
    );
    let f = findings(&role(
        "- {apiGroups: [''], resources: [secrets], resourceNames: [one], verbs: [get]}\n",
    ));
    assert_eq!(
        f.iter()
            .find(|f| f.rule_id == "RBAC002")
            .map(|f| f.severity),
        Some(Severity::Low)
    );
    assert!(
        !fired(&role(
            "- {apiGroups: [''], resources: [secrets], verbs: [create]}\n"
        ))
        .contains("RBAC002")
    );
    assert!(
        fired(&role(
            "- {apiGroups: [''], resources: [users], verbs: [impersonate]}\n"
        ))
        .contains("RBAC004")
    );
}

#[test]
fn every_workload_kind_is_checked() {
    let pod_spec = "containers: [{name: c, image: x, securityContext: {privileged: true}}]";
    let cases = [
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{{pod_spec}}}\n"),
        format!(
            "apiVersion: v1\nkind: PodTemplate\nmetadata: {{name: p}}\ntemplate: {{spec: {{{pod_spec}}}}}\n"
        ),
        format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: p}}\nspec: {{jobTemplate: {{spec: {{template: {{spec: {{{pod_spec}}}}}}}}}}}\n"
        ),
        format!(
            "apiVersion: v1\nkind: PodList\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {{name: p}}\n  spec: {{{pod_spec}}}\n"
        ),
        "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}, \"spec\": {\"ephemeralContainers\": [{\"name\": \"e\", \"image\": \"x\", \"securityContext\": {\"privileged\": true}}]}}"
            .to_owned(),
    ];
    for kind in [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
    ] {
        let text = format!(
            "apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: p}}\nspec: {{template: {{spec: {{{pod_spec}}}}}}}\n"
        );
        assert!(fired(&text).contains("PSS001"), "{kind}");
    }
    for text in &cases {
        assert!(fired(text).contains("PSS001"), "{text}");
    }
}

#[test]
fn namespace_labels() {
    let ns = |labels: &str| {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: sensitive\n  labels: {{{labels}}}\n"
        )
    };
    assert!(!fired(&ns("pod-security.kubernetes.io/enforce: restricted")).contains("ADM001"));
    let f = findings(&ns("pod-security.kubernetes.io/enforce: baseline"));
    assert_eq!(
        f.iter().find(|f| f.rule_id == "ADM001").map(|f| f.severity),
        Some(Severity::Low)
    );
    assert!(fired(&ns("pod-security.kubernetes.io/warn: restricted")).contains("ADM001"));
    // A sensitive namespace requires a sandbox runtime for its workloads.
    let sensitive = format!(
        "{}---\n{}",
        ns("rampart.io/sensitive: 'true'"),
        HARDENED.replace("namespace: shop", "namespace: sensitive")
    );
    assert!(fired(&sensitive).contains("K8S009"));
    assert!(
        !fired(&sensitive.replace(
            "automountServiceAccountToken: false",
            "automountServiceAccountToken: false\n      runtimeClassName: gvisor"
        ))
        .contains("K8S009")
    );
}

#[test]
fn images() {
    let img = |i: &str| {
        HARDENED.replace("r.example/web:1@sha256:0000000000000000000000000000000000000000000000000000000000000000", i)
    };
    let ids = fired(&img("nginx"));
    assert!(ids.contains("K8S004") && ids.contains("K8S005"));
    let ids = fired(&img("localhost:5000/nginx"));
    assert!(ids.contains("K8S005"), "a registry port is not a tag");
    let ids = fired(&img("nginx:1.27"));
    assert!(ids.contains("K8S004") && !ids.contains("K8S005"));
    let ids = fired(&img("nginx@sha256:abc"));
    assert!(ids.contains("K8S004"), "a malformed digest does not pin");
}

#[test]
fn pss_findings_are_reported_per_container() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n  - name: init\n    image: x\n    securityContext: {privileged: true}\n  containers:\n  - name: a\n    image: x\n    securityContext: {privileged: true}\n  - name: b\n    image: x\n";
    let f = findings(text);
    let privileged: Vec<(Option<&str>, u32)> = f
        .iter()
        .filter(|f| f.rule_id == "PSS001")
        .map(|f| {
            (
                f.location
                    .object
                    .as_ref()
                    .and_then(|o| o.container.as_deref()),
                f.location.line,
            )
        })
        .collect();
    assert_eq!(privileged, [(Some("init"), 8), (Some("a"), 12)]);
    // Pod-level fields give one finding at the field.
    let host = findings(&text.replace(
        "spec:\n  initContainers",
        "spec:\n  hostPID: true\n  initContainers",
    ));
    let h: Vec<_> = host
        .iter()
        .filter(|f| f.rule_id == "PSS002")
        .map(|f| {
            (
                f.location.line,
                f.location.object.as_ref().and_then(|o| o.container.clone()),
            )
        })
        .collect();
    assert_eq!(h, [(5, None)]);
}
