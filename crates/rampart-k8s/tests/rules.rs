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
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
        livenessProbe: {httpGet: {path: /healthz, port: 8080}}
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
        (19, 11)
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
    assert_eq!(ro.location.line, 18, "securityContext line: {ro:?}");
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
    for (api, kind) in [
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "DaemonSet"),
        ("apps/v1", "ReplicaSet"),
        ("v1", "ReplicationController"),
        ("batch/v1", "Job"),
        // OpenShift, Argo Rollouts, and any kind whose spec.template is a pod template.
        ("apps.openshift.io/v1", "DeploymentConfig"),
        ("argoproj.io/v1alpha1", "Rollout"),
        ("apps.kruise.io/v1alpha1", "CloneSet"),
        ("serving.knative.dev/v1", "Service"),
    ] {
        let text = format!(
            "apiVersion: {api}\nkind: {kind}\nmetadata: {{name: p}}\nspec: {{template: {{spec: {{{pod_spec}}}}}}}\n"
        );
        let f = findings(&text);
        let privileged = f.iter().find(|f| f.rule_id == "PSS001");
        assert_eq!(
            privileged.map(|f| (
                f.subject.as_str(),
                f.location.object.as_ref().map(|o| o.kind.as_str())
            )),
            Some((format!("{kind} p").as_str(), Some(kind))),
            "{kind}: the kind is reported as found"
        );
    }
    // Not pod templates: a Rollout that references its workload, a kind whose template is
    // something else.
    for text in [
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n",
        "apiVersion: example.com/v1\nkind: Report\nmetadata: {name: r}\nspec:\n  template: {spec: {title: x}}\n",
    ] {
        assert!(findings(text).is_empty(), "{text}");
    }
    // A custom workload survives the scan's pruning of irrelevant documents.
    let (mut file, _) = ManifestFile::load(
        "t.yaml",
        &format!(
            "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {{name: p}}\nspec: {{template: {{spec: {{{pod_spec}}}}}}}\n"
        ),
    );
    assert_eq!(file.retain_relevant(), 1);
    assert!(
        scan(&[file], &PssOptions::default())
            .findings
            .iter()
            .any(|f| f.rule_id == "PSS001")
    );
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

fn cluster_role(name: &str, extra: &str, rules: &str) -> String {
    let sep = if rules.starts_with('[') { " " } else { "\n" };
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\n{extra}rules:{sep}{rules}"
    )
}

/// (rule, expected severity) of each finding on the roles in `text`.
fn rbac(text: &str) -> Vec<(&'static str, Severity, String)> {
    findings(text)
        .into_iter()
        .filter(|f| f.rule_id.starts_with("RBAC"))
        .map(|f| (f.rule_id, f.severity, f.message))
        .collect()
}

fn has(found: &[(&'static str, Severity, String)], id: &str) -> bool {
    found.iter().any(|(r, _, _)| *r == id)
}

#[test]
fn rbac_wildcards_imply_what_they_cover() {
    let role = |rules: &str| cluster_role("r", "", rules);
    // verbs: ["*"] on roles implies escalate and bind; on users, impersonate.
    let f = rbac(&role(
        "- {apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: ['*']}\n",
    ));
    let esc = f.iter().find(|(r, _, _)| *r == "RBAC004").expect("RBAC004");
    assert_eq!(esc.1, Severity::Critical);
    assert!(
        esc.2.contains("escalate, bind") && esc.2.contains("verbs [\"*\"]"),
        "{}",
        esc.2
    );
    let f = rbac(&role(
        "- {apiGroups: [''], resources: [users, groups], verbs: ['*']}\n",
    ));
    assert!(
        f.iter()
            .any(|(r, _, m)| *r == "RBAC004" && m.contains("impersonate")),
        "{f:?}"
    );
    // ...but not on resources they do not act on.
    assert!(!has(
        &rbac(&role(
            "- {apiGroups: [''], resources: [configmaps], verbs: ['*']}\n"
        )),
        "RBAC004"
    ));
    // apiGroups: ["*"] alone is a wildcard (medium); all three are critical.
    let f = rbac(&role(
        "- {apiGroups: ['*'], resources: [deployments], verbs: [get]}\n",
    ));
    assert_eq!(
        f.iter()
            .find(|(r, _, _)| *r == "RBAC001")
            .map(|(_, s, _)| *s),
        Some(Severity::Medium),
        "{f:?}"
    );
    // `*` resources in the core group reach secrets, exec and impersonation.
    let f = rbac(&role(
        "- {apiGroups: [''], resources: ['*'], verbs: ['*']}\n",
    ));
    for id in ["RBAC001", "RBAC002", "RBAC003", "RBAC004"] {
        assert!(has(&f, id), "{id}: {f:?}");
    }
    // Subresource wildcards: pods/* reaches exec; `*` verbs on pods alone do not.
    assert!(has(
        &rbac(&role(
            "- {apiGroups: [''], resources: ['pods/*'], verbs: [create]}\n"
        )),
        "RBAC003"
    ));
    assert!(!has(
        &rbac(&role(
            "- {apiGroups: [''], resources: [pods], verbs: ['*']}\n"
        )),
        "RBAC003"
    ));
}

#[test]
fn nodes_proxy_is_as_dangerous_as_exec() {
    let role = |verbs: &str| {
        cluster_role(
            "r",
            "",
            &format!("- {{apiGroups: [''], resources: [nodes/proxy], verbs: [{verbs}]}}\n"),
        )
    };
    for verbs in ["get", "create", "'*'"] {
        let f = rbac(&role(verbs));
        let exec = f.iter().find(|(r, _, _)| *r == "RBAC003");
        assert_eq!(
            exec.map(|(_, s, _)| *s),
            Some(Severity::High),
            "{verbs}: {f:?}"
        );
        assert!(exec.is_some_and(|(_, _, m)| m.contains("nodes/proxy")));
    }
    assert!(!has(&rbac(&role("list, watch")), "RBAC003"));
    assert!(has(
        &rbac(&cluster_role(
            "r",
            "",
            "- {apiGroups: [''], resources: ['nodes/*'], verbs: [get]}\n"
        )),
        "RBAC003"
    ));
}

#[test]
fn aggregated_cluster_roles_are_resolved() {
    let aggregator = cluster_role(
        "monitoring",
        "aggregationRule:\n  clusterRoleSelectors:\n  - matchLabels: {rbac.example.com/aggregate-to-monitoring: \"true\"}\n",
        "[]\n",
    );
    let source = |labels: &str| {
        cluster_role(
            "secret-reader",
            &format!("  labels: {{{labels}}}\n"),
            "- {apiGroups: [''], resources: [secrets], verbs: [get, list]}\n",
        )
    };
    let text = format!(
        "{aggregator}---\n{}",
        source("rbac.example.com/aggregate-to-monitoring: \"true\"")
    );
    let f = findings(&text);
    let on_aggregate: Vec<&Finding> = f
        .iter()
        .filter(|f| f.rule_id == "RBAC002" && f.subject == "ClusterRole monitoring")
        .collect();
    assert_eq!(on_aggregate.len(), 1, "{f:#?}");
    assert!(
        on_aggregate[0]
            .message
            .contains("aggregates ClusterRole \"secret-reader\""),
        "{}",
        on_aggregate[0].message
    );
    assert_eq!(
        on_aggregate[0].location.line, 5,
        "points at aggregationRule"
    );
    // The source keeps its own finding; a role the selector does not match is not aggregated.
    assert!(
        f.iter()
            .any(|f| f.rule_id == "RBAC002" && f.subject == "ClusterRole secret-reader")
    );
    let other = format!("{aggregator}---\n{}", source("team: other"));
    assert!(
        !findings(&other)
            .iter()
            .any(|f| f.subject == "ClusterRole monitoring")
    );
    // Transitively: an aggregated role aggregated into another.
    let middle = cluster_role(
        "middle",
        "  labels: {rbac.example.com/aggregate-to-monitoring: \"true\"}\naggregationRule:\n  clusterRoleSelectors:\n  - matchLabels: {tier: base}\n",
        "[]\n",
    );
    let chain = format!("{aggregator}---\n{middle}---\n{}", source("tier: base"));
    assert!(
        findings(&chain)
            .iter()
            .any(|f| f.rule_id == "RBAC002" && f.subject == "ClusterRole monitoring")
    );
}

#[test]
fn no_namespace_means_default_for_k8s003() {
    let without = HARDENED.replace(
        "metadata: {name: web, namespace: shop}",
        "metadata: {name: web}",
    );
    let f = findings(&without);
    let k = f.iter().find(|f| f.rule_id == "K8S003").expect("K8S003");
    assert!(k.message.contains("no metadata.namespace"), "{}", k.message);
    assert_eq!(k.location.line, 3);
    assert!(
        fired(&HARDENED.replace(
            "namespace: shop}\nspec:\n  template",
            "namespace: default}\nspec:\n  template"
        ))
        .contains("K8S003")
    );
    assert!(!fired(HARDENED).contains("K8S003"));
}

#[test]
fn runtime_sockets_are_findings_even_read_only() {
    let add = |mount: &str, path: &str| {
        HARDENED.replace(
            "          capabilities: {drop: [ALL]}\n",
            &format!("          capabilities: {{drop: [ALL]}}\n        volumeMounts: [{mount}]\n      volumes:\n      - name: h\n        hostPath: {{path: {path}}}\n"),
        )
    };
    for path in [
        "/var/run/docker.sock",
        "/run/containerd/containerd.sock",
        "/var/run/crio/crio.sock",
        "/var/run/cri-dockerd.sock",
        "/run/podman/podman.sock",
        "/run/containerd",
        "/var/run",
        "/",
    ] {
        let f = findings(&add("{name: h, mountPath: /s, readOnly: true}", path));
        let hp = f.iter().find(|f| f.rule_id == "K8S008");
        assert_eq!(hp.map(|f| f.severity), Some(Severity::Critical), "{path}");
        assert!(
            hp.is_some_and(|f| f
                .message
                .contains("read-only does not protect a Unix socket")),
            "{path}: {hp:?}"
        );
    }
    assert!(
        !fired(&add("{name: h, mountPath: /s, readOnly: true}", "/var/log")).contains("K8S008")
    );
    assert!(
        !fired(&add(
            "{name: h, mountPath: /s, readOnly: true}",
            "/var/run-data"
        ))
        .contains("K8S008")
    );
    // The runtimes' state directories hold state.json / config.json, no socket: read-only
    // they are what a node monitor reads to name containers (rampart monitor manifests).
    for path in [
        "/run/containerd/runc",
        "/run/containerd/io.containerd.runtime.v2.task",
        "/run/docker/runtime-runc",
    ] {
        let f = fired(&add("{name: h, mountPath: /s, readOnly: true}", path));
        assert!(!f.contains("K8S008"), "{path}: {f:?}");
    }
    // ...but the socket itself below such a prefix, or the prefix's parent, still is.
    assert!(
        fired(&add(
            "{name: h, mountPath: /s, readOnly: true}",
            "/run/containerd/s"
        ))
        .contains("K8S008")
    );
}

#[test]
fn pss015_says_what_is_missing() {
    let no_flag = HARDENED.replace("        runAsNonRoot: true\n", "");
    let f = findings(&no_flag);
    let p = f.iter().find(|f| f.rule_id == "PSS015").expect("PSS015");
    assert!(
        p.title.to_lowercase().contains("may run as root"),
        "{}",
        p.title
    );
    let with_uid = no_flag.replace(
        "        seccompProfile: {type: RuntimeDefault}\n",
        "        seccompProfile: {type: RuntimeDefault}\n        runAsUser: 10001\n",
    );
    let f = findings(&with_uid);
    let p = f.iter().find(|f| f.rule_id == "PSS015").expect("PSS015");
    assert!(
        !p.title.to_lowercase().contains("may run as root"),
        "{}",
        p.title
    );
    assert!(
        p.title.contains("runAsNonRoot: true is missing"),
        "{}",
        p.title
    );
    assert!(p.message.contains("non-zero runAsUser"), "{}", p.message);
    // An init container with no UID (and none on the pod) may run as root again.
    let mixed = no_flag
        .replace(
            "      containers:\n",
            "      initContainers: [{name: init, image: x}]\n      containers:\n",
        )
        .replace(
            "          allowPrivilegeEscalation: false\n",
            "          allowPrivilegeEscalation: false\n          runAsUser: 10001\n",
        );
    let f = findings(&mixed);
    let p = f.iter().find(|f| f.rule_id == "PSS015").expect("PSS015");
    assert!(
        p.title.to_lowercase().contains("may run as root"),
        "{}",
        p.title
    );
}

#[test]
fn probes_requests_pull_policy_service_account_and_uid() {
    // K8S010: info, regular containers, not for Jobs.
    let no_probes = HARDENED
        .replace(
            "        readinessProbe: {httpGet: {path: /ready, port: 8080}}\n",
            "",
        )
        .replace(
            "        livenessProbe: {httpGet: {path: /healthz, port: 8080}}\n",
            "",
        );
    let f = findings(&no_probes);
    let p = f.iter().find(|f| f.rule_id == "K8S010").expect("K8S010");
    assert_eq!(p.severity, Severity::Info);
    assert!(
        p.message.contains("no livenessProbe and no readinessProbe"),
        "{}",
        p.message
    );
    let job = no_probes.replace("apps/v1\nkind: Deployment", "batch/v1\nkind: Job");
    assert!(!fired(&job).contains("K8S010"));
    let only_readiness = HARDENED.replace(
        "        livenessProbe: {httpGet: {path: /healthz, port: 8080}}\n",
        "",
    );
    let f = findings(&only_readiness);
    assert!(
        f.iter()
            .any(|f| f.rule_id == "K8S010" && f.message.ends_with("has no livenessProbe"))
    );

    // K8S011: a limit stands for the request; nothing at all is a finding.
    assert!(!fired(HARDENED).contains("K8S011"));
    let only_cpu = HARDENED.replace("{limits: {cpu: 1, memory: 1Gi}}", "{requests: {cpu: 100m}}");
    let f = findings(&only_cpu);
    let r = f.iter().find(|f| f.rule_id == "K8S011").expect("K8S011");
    assert!(r.message.contains("no memory request"), "{}", r.message);
    assert_eq!(r.severity, Severity::Low);

    // K8S012: mutable tags need Always; digests do not; latest defaults to Always.
    let img = |image: &str, policy: &str| {
        HARDENED.replace(
            "        image: r.example/web:1@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
            &format!("        image: {image}\n{policy}"),
        )
    };
    assert!(fired(&img("nginx:1.27", "")).contains("K8S012"));
    assert!(
        fired(&img(
            "nginx:1.27",
            "        imagePullPolicy: IfNotPresent\n"
        ))
        .contains("K8S012")
    );
    assert!(!fired(&img("nginx:1.27", "        imagePullPolicy: Always\n")).contains("K8S012"));
    assert!(
        !fired(&img("nginx", "")).contains("K8S012"),
        "latest pulls Always by default"
    );
    assert!(fired(&img("nginx:latest", "        imagePullPolicy: Never\n")).contains("K8S012"));
    assert!(!fired(HARDENED).contains("K8S012"), "pinned by digest");

    // K8S013: the default ServiceAccount with its token mounted.
    let default_sa = HARDENED.replace("      automountServiceAccountToken: false\n", "");
    let f = findings(&default_sa);
    let d = f.iter().find(|f| f.rule_id == "K8S013").expect("K8S013");
    assert!(d.message.contains("namespace \"shop\""), "{}", d.message);
    let named = default_sa.replace(
        "    spec:\n      securityContext",
        "    spec:\n      serviceAccountName: web\n      securityContext",
    );
    assert!(!fired(&named).contains("K8S013"));
    let explicit_default = default_sa.replace(
        "    spec:\n      securityContext",
        "    spec:\n      serviceAccountName: default\n      securityContext",
    );
    assert!(fired(&explicit_default).contains("K8S013"));
    assert!(!fired(HARDENED).contains("K8S013"), "token not mounted");

    // K8S014: explicit UIDs 1..9999, the container's over the pod's.
    let uid = |pod: &str, container: &str| {
        HARDENED
            .replace(
                "        seccompProfile: {type: RuntimeDefault}\n",
                &format!("        seccompProfile: {{type: RuntimeDefault}}\n{pod}"),
            )
            .replace(
                "          allowPrivilegeEscalation: false\n",
                &format!("          allowPrivilegeEscalation: false\n{container}"),
            )
    };
    let f = findings(&uid("        runAsUser: 1000\n", ""));
    let u = f.iter().find(|f| f.rule_id == "K8S014").expect("K8S014");
    assert!(
        u.message.contains("UID 1000 (the pod's runAsUser)"),
        "{}",
        u.message
    );
    assert!(
        !fired(&uid(
            "        runAsUser: 1000\n",
            "          runAsUser: 10001\n"
        ))
        .contains("K8S014")
    );
    assert!(fired(&uid("", "          runAsUser: 999\n")).contains("K8S014"));
    assert!(!fired(&uid("        runAsUser: 65532\n", "")).contains("K8S014"));
    assert!(
        !fired(HARDENED).contains("K8S014"),
        "no UID written: the image decides"
    );
}

#[test]
fn aggregation_is_bounded_on_hostile_input() {
    // 600 ClusterRoles that all aggregate each other, each granting secrets: resolution stays
    // bounded, and each aggregated role gets one finding per rule, not one per source.
    let mut text = String::new();
    for i in 0..600 {
        text.push_str(&cluster_role(
            &format!("r{i}"),
            "  labels: {agg: \"yes\"}\naggregationRule:\n  clusterRoleSelectors:\n  - matchLabels: {agg: \"yes\"}\n",
            "- {apiGroups: [''], resources: [secrets], verbs: [get]}\n",
        ));
        text.push_str("---\n");
    }
    let f = findings(&text);
    let on_r0: Vec<&Finding> = f.iter().filter(|f| f.subject == "ClusterRole r0").collect();
    assert_eq!(on_r0.len(), 2, "own rule + one aggregated finding");
    let agg = on_r0
        .iter()
        .find(|f| f.message.starts_with("aggregates"))
        .expect("aggregated");
    assert!(agg.message.contains("and 253 more"), "{}", agg.message);
    assert!(f.len() <= 600 * 2, "{}", f.len());
}

/// RuntimeClasses and the workloads that name them (K8S009, K8S015, K8S016): handlers judged
/// from the manifests' RuntimeClasses, names judged only when the scan has none.
#[test]
fn runtime_classes_and_sandboxed_workloads() {
    let class = |name: &str, handler: &str, extra: &str| {
        format!(
            "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {{name: {name}}}\nhandler: {handler}\n{extra}---\n"
        )
    };
    let pod = |labels: &str, class: &str| {
        let rc = if class.is_empty() {
            String::new()
        } else {
            format!("  runtimeClassName: {class}\n")
        };
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: vault, namespace: sec, labels: {{{labels}}}}}\nspec:\n{rc}  containers:\n  - name: vault\n    image: vault\n"
        )
    };
    let sensitive = "rampart.io/sensitive: \"true\"";
    let of = |text: &str, id: &str| -> Vec<(Severity, String, u32)> {
        findings(text)
            .into_iter()
            .filter(|f| f.rule_id == id)
            .map(|f| (f.severity, f.message, f.location.line))
            .collect()
    };
    // a sandbox class of the manifests
    let full =
        "overhead:\n  podFixed: {memory: 64Mi}\nscheduling:\n  nodeSelector: {gvisor: \"yes\"}\n";
    let text = format!(
        "{}{}",
        class("gvisor", "runsc", full),
        pod(sensitive, "gvisor")
    );
    assert!(
        of(&text, "K8S009").is_empty()
            && of(&text, "K8S015").is_empty()
            && of(&text, "K8S016").is_empty()
    );
    // named like a sandbox, but its handler is runc
    let text = format!(
        "{}{}",
        class("gvisor", "runc", ""),
        pod(sensitive, "gvisor")
    );
    let f = of(&text, "K8S009");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, Severity::Medium);
    assert_eq!(
        f[0].1,
        "the workload is labelled rampart.io/sensitive but its RuntimeClass \"gvisor\" has handler \"runc\", not a sandbox (runsc, gvisor, kata*)"
    );
    assert_eq!(f[0].2, 10, "at runtimeClassName");
    assert!(of(&text, "K8S016").is_empty(), "runc is no sandbox class");
    // a typo when the manifests hold the cluster's classes: the pod would be refused
    let text = format!(
        "{}{}{}",
        class("gvisor", "runsc", full),
        class("kata-qemu", "kata-qemu", full),
        pod("", "gvisr")
    );
    let f = of(&text, "K8S015");
    assert_eq!(
        f,
        [(Severity::Medium, "runtimeClassName \"gvisr\" names no RuntimeClass of the manifests (they define gvisor, kata-qemu): the API server refuses the pod".to_owned(), 23)]
    );
    // without any RuntimeClass in the scan, names are not checked against it
    assert!(of(&pod("", "gvisr"), "K8S015").is_empty());
    // ... and a sensitive workload's class is judged by its name: a sandbox's name passes,
    // another cannot be confirmed (low)
    assert!(of(&pod(sensitive, "kata-clh"), "K8S009").is_empty());
    let f = of(&pod(sensitive, "fast"), "K8S009");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, Severity::Low);
    assert!(f[0].1.contains("cannot tell it is one"), "{}", f[0].1);
    // a sensitive namespace, no class at all
    let text = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: sec\n  labels: {{{sensitive}}}\n---\n{}",
        pod("", "")
    );
    assert_eq!(
        of(&text, "K8S009")[0].1,
        "namespace \"sec\" is labelled rampart.io/sensitive but the pod has no runtimeClassName"
    );
    // sandbox classes without overhead (low) or scheduling (information)
    let f = of(
        &class(
            "kata",
            "kata-fc",
            "overhead:\n  podFixed: {memory: 160Mi}\n",
        ),
        "K8S016",
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, Severity::Info);
    assert!(f[0].1.contains("no scheduling.nodeSelector"), "{}", f[0].1);
    let f = of(
        &class("gvisor", "runsc", "scheduling:\n  nodeSelector: {a: b}\n"),
        "K8S016",
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, Severity::Low);
    assert!(f[0].1.contains("no overhead.podFixed"), "{}", f[0].1);
}
