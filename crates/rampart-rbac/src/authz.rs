//! The Kubernetes RBAC authorizer's decision, on the loaded objects.
//!
//! The semantics are those of `plugin/pkg/auth/authorizer/rbac` and
//! `pkg/apis/rbac/v1/evaluation_helpers.go` (docs/rbac.md lists them with examples):
//!
//! - a request is allowed when some rule of some role bound to a subject that applies to the
//!   requester allows it; RBAC never denies, so the order of bindings does not matter;
//! - the bindings visited are every ClusterRoleBinding and, when the request has a namespace,
//!   that namespace's RoleBindings (cluster-scoped and non-resource requests have none);
//! - a RoleBinding's `Role` is looked up in the binding's namespace; a binding whose role is
//!   missing grants nothing;
//! - subjects: `User` by name, `Group` by membership, `ServiceAccount` by the user name
//!   `system:serviceaccount:NS:NAME` (NS defaulting to the binding's namespace);
//! - verbs and apiGroups: `*` or equal; resources: `*`, equal to `resource` or
//!   `resource/subresource`, or `*/subresource` for a request with that subresource (there is
//!   no `pods/*` wildcard); resourceNames: empty allows every name, else the request's name must
//!   be one of them (a request without a name, such as `create` or `list`, never matches);
//!   nonResourceURLs: `*`, equal, or a prefix ending in `*`.

use crate::model::{Binding, Cluster, PolicyRule, Subject, SubjectKind};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// What a request is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Target {
    /// An API resource (`subresource` and `name` empty when the request has none).
    Resource {
        #[serde(rename = "apiGroup")]
        api_group: String,
        resource: String,
        subresource: String,
        name: String,
    },
    /// A non-resource URL such as `/healthz` or `/logs/kube-apiserver.log`.
    NonResource { path: String },
}

/// A request's attributes, as the API server hands them to the authorizer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Request {
    pub verb: String,
    /// `""` for cluster-scoped resources and non-resource URLs.
    pub namespace: String,
    pub target: Target,
}

impl Request {
    /// A resource request.
    pub fn resource(
        verb: &str,
        api_group: &str,
        resource: &str,
        subresource: &str,
        namespace: &str,
        name: &str,
    ) -> Request {
        Request {
            verb: verb.to_owned(),
            namespace: namespace.to_owned(),
            target: Target::Resource {
                api_group: api_group.to_owned(),
                resource: resource.to_owned(),
                subresource: subresource.to_owned(),
                name: name.to_owned(),
            },
        }
    }

    /// A non-resource request.
    pub fn non_resource(verb: &str, path: &str) -> Request {
        Request {
            verb: verb.to_owned(),
            namespace: String::new(),
            target: Target::NonResource {
                path: path.to_owned(),
            },
        }
    }

    /// `create pods/exec in shop`, `get /healthz`.
    pub fn display(&self) -> String {
        match &self.target {
            Target::NonResource { path } => format!("{} {path}", self.verb),
            Target::Resource {
                api_group,
                resource,
                subresource,
                name,
            } => {
                let mut r = resource.clone();
                if !api_group.is_empty() {
                    r = format!("{r}.{api_group}");
                }
                if !subresource.is_empty() {
                    r = format!("{r}/{subresource}");
                }
                if !name.is_empty() {
                    r = format!("{r} \"{name}\"");
                }
                if self.namespace.is_empty() {
                    format!("{} {r} cluster-wide", self.verb)
                } else {
                    format!("{} {r} in {}", self.verb, self.namespace)
                }
            }
        }
    }
}

/// The built-in resources whose API group a bare name means (as `kubectl` resolves `deployments`
/// to `apps`), and whether they are cluster-scoped.
const BUILTIN: &[(&str, &str, bool)] = &[
    ("pods", "", false),
    ("services", "", false),
    ("secrets", "", false),
    ("configmaps", "", false),
    ("serviceaccounts", "", false),
    ("persistentvolumeclaims", "", false),
    ("events", "", false),
    ("endpoints", "", false),
    ("replicationcontrollers", "", false),
    ("limitranges", "", false),
    ("resourcequotas", "", false),
    ("podtemplates", "", false),
    ("namespaces", "", true),
    ("nodes", "", true),
    ("persistentvolumes", "", true),
    ("componentstatuses", "", true),
    ("users", "", true),
    ("groups", "", true),
    ("deployments", "apps", false),
    ("statefulsets", "apps", false),
    ("daemonsets", "apps", false),
    ("replicasets", "apps", false),
    ("controllerrevisions", "apps", false),
    ("jobs", "batch", false),
    ("cronjobs", "batch", false),
    ("horizontalpodautoscalers", "autoscaling", false),
    ("poddisruptionbudgets", "policy", false),
    ("ingresses", "networking.k8s.io", false),
    ("networkpolicies", "networking.k8s.io", false),
    ("ingressclasses", "networking.k8s.io", true),
    ("roles", "rbac.authorization.k8s.io", false),
    ("rolebindings", "rbac.authorization.k8s.io", false),
    ("clusterroles", "rbac.authorization.k8s.io", true),
    ("clusterrolebindings", "rbac.authorization.k8s.io", true),
    ("certificatesigningrequests", "certificates.k8s.io", true),
    ("signers", "certificates.k8s.io", true),
    (
        "mutatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        true,
    ),
    (
        "validatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        true,
    ),
    (
        "validatingadmissionpolicies",
        "admissionregistration.k8s.io",
        true,
    ),
    (
        "validatingadmissionpolicybindings",
        "admissionregistration.k8s.io",
        true,
    ),
    ("customresourcedefinitions", "apiextensions.k8s.io", true),
    ("storageclasses", "storage.k8s.io", true),
    ("csidrivers", "storage.k8s.io", true),
    ("volumeattachments", "storage.k8s.io", true),
    ("priorityclasses", "scheduling.k8s.io", true),
    ("runtimeclasses", "node.k8s.io", true),
    ("leases", "coordination.k8s.io", false),
    ("endpointslices", "discovery.k8s.io", false),
    ("tokenreviews", "authentication.k8s.io", true),
    ("subjectaccessreviews", "authorization.k8s.io", true),
];

/// API groups without a dot in their name (so `apps/deployments` reads as group/resource and
/// `pods/exec` as resource/subresource).
const DOTLESS_GROUPS: &[&str] = &["apps", "batch", "policy", "autoscaling", "extensions"];

/// Whether the first part of `A/B` is an API group (`apps/deployments`,
/// `example.com/widgets`) rather than a resource (`pods/exec`, `deployments.apps/scale`): a
/// dotless group rampart knows, or a dotted name that does not start with a built-in resource.
/// A custom resource's subresource is written `GROUP/RESOURCE/SUBRESOURCE`.
fn is_group(part: &str) -> bool {
    DOTLESS_GROUPS.contains(&part)
        || (part.contains('.')
            && part
                .split('.')
                .next()
                .is_none_or(|r| builtin_group(r).is_none()))
}

/// The API group of a built-in resource (`deployments` → `apps`).
pub fn builtin_group(resource: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(r, _, _)| *r == resource)
        .map(|(_, g, _)| *g)
}

/// Whether a built-in resource is cluster-scoped (`nodes`, `clusterroles`...). Unknown
/// resources are taken as namespaced.
pub fn is_cluster_scoped(api_group: &str, resource: &str) -> bool {
    BUILTIN
        .iter()
        .any(|(r, g, cluster)| *r == resource && *g == api_group && *cluster)
}

/// Reads a resource argument: `pods`, `pods/exec`, `deployments.apps`, `apps/deployments`,
/// `deployments.apps/scale`, `apps/deployments/scale`, `certificatesigningrequests.certificates.k8s.io/approval`, or a
/// non-resource URL starting with `/`. A bare built-in resource gets its API group.
pub fn parse_target(text: &str, name: &str) -> Result<Target, String> {
    if text.starts_with('/') {
        return Ok(Target::NonResource {
            path: text.to_owned(),
        });
    }
    if text.is_empty() {
        return Err("empty resource".to_owned());
    }
    let parts: Vec<&str> = text.split('/').collect();
    let (group, resource, sub): (Option<&str>, &str, &str) = match parts.as_slice() {
        [r] => (None, *r, ""),
        [a, b] if is_group(a) => (Some(*a), *b, ""),
        [a, b] => (None, *a, *b),
        [g, r, s] => (Some(*g), *r, *s),
        _ => {
            return Err(format!(
                "cannot read resource \"{text}\": expected RESOURCE[.GROUP][/SUBRESOURCE], GROUP/RESOURCE[/SUBRESOURCE] or /URL"
            ));
        }
    };
    if resource.is_empty() {
        return Err(format!(
            "cannot read resource \"{text}\": empty resource name"
        ));
    }
    let (resource, group) = match group {
        Some(g) => (resource.to_owned(), g.to_owned()),
        None => match resource.split_once('.') {
            Some((r, g)) => (r.to_owned(), g.to_owned()),
            None => (
                resource.to_owned(),
                builtin_group(resource).unwrap_or("").to_owned(),
            ),
        },
    };
    let group = if group == "core" {
        String::new()
    } else {
        group
    };
    Ok(Target::Resource {
        api_group: group,
        resource,
        subresource: sub.to_owned(),
        name: name.to_owned(),
    })
}

/// `VerbMatches`.
pub fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

/// `APIGroupMatches`.
pub fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == "*" || g == group)
}

/// `ResourceMatches`: `*`, the combined `resource/subresource`, or `*/subresource`.
pub fn resource_matches(rule: &PolicyRule, resource: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        if r == "*" {
            return true;
        }
        let exact = if subresource.is_empty() {
            r == resource
        } else {
            r.len() == resource.len() + 1 + subresource.len()
                && r.strip_prefix(resource)
                    .and_then(|rest| rest.strip_prefix('/'))
                    == Some(subresource)
        };
        exact || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
    })
}

/// `ResourceNameMatches`.
pub fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == name)
}

/// `NonResourceURLMatches`.
pub fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls.iter().any(|u| {
        u == "*"
            || u == path
            || u.strip_suffix('*')
                .is_some_and(|prefix| path.starts_with(prefix))
    })
}

/// `RuleAllows`.
pub fn rule_allows(rule: &PolicyRule, request: &Request) -> bool {
    if !verb_matches(rule, &request.verb) {
        return false;
    }
    match &request.target {
        Target::Resource {
            api_group,
            resource,
            subresource,
            name,
        } => {
            api_group_matches(rule, api_group)
                && resource_matches(rule, resource, subresource)
                && resource_name_matches(rule, name)
        }
        Target::NonResource { path } => non_resource_url_matches(rule, path),
    }
}

/// Who is asking: a user name and groups (`user.Info`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Identity {
    /// `""` for "some member of these groups" (matches no User subject).
    pub name: String,
    pub groups: Vec<String>,
}

/// The groups every authenticated request carries.
pub const AUTHENTICATED: &str = "system:authenticated";

impl Identity {
    /// A user authenticated as `name` (member of `system:authenticated`; `system:anonymous` is
    /// in `system:unauthenticated` instead).
    pub fn user(name: &str) -> Identity {
        let group = if name == "system:anonymous" {
            "system:unauthenticated"
        } else {
            AUTHENTICATED
        };
        Identity {
            name: name.to_owned(),
            groups: vec![group.to_owned()],
        }
    }

    /// Any member of `group` (and of `system:authenticated`, unless the group is
    /// `system:unauthenticated`).
    pub fn group_member(group: &str) -> Identity {
        let mut groups = vec![group.to_owned()];
        if group != "system:unauthenticated" && group != AUTHENTICATED {
            groups.push(AUTHENTICATED.to_owned());
        }
        Identity {
            name: String::new(),
            groups,
        }
    }

    /// A service account's identity: `system:serviceaccount:NS:NAME`, in the groups
    /// `system:serviceaccounts`, `system:serviceaccounts:NS` and `system:authenticated`.
    pub fn service_account(namespace: &str, name: &str) -> Identity {
        Identity {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{namespace}"),
                AUTHENTICATED.to_owned(),
            ],
        }
    }

    /// The identity a subject names: its user, any member of its group, its service account.
    pub fn of_subject(s: &Subject) -> Identity {
        match s.kind {
            SubjectKind::User => Identity::user(&s.name),
            SubjectKind::Group => Identity::group_member(&s.name),
            SubjectKind::ServiceAccount => {
                Identity::service_account(s.namespace.as_deref().unwrap_or(""), &s.name)
            }
        }
    }

    /// Reads `user:alice`, `group:devs`, `sa:NS:NAME`, `serviceaccount:NS:NAME` or
    /// `system:serviceaccount:NS:NAME` (a bare name is a user).
    pub fn parse(text: &str) -> Result<Identity, String> {
        let sa = |rest: &str| -> Result<Identity, String> {
            match rest.split_once(':') {
                Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains(':') => {
                    Ok(Identity::service_account(ns, name))
                }
                _ => Err(format!(
                    "cannot read service account \"{text}\": expected sa:NAMESPACE:NAME"
                )),
            }
        };
        if let Some(rest) = text.strip_prefix("system:serviceaccount:") {
            return sa(rest);
        }
        if let Some(rest) = text
            .strip_prefix("sa:")
            .or_else(|| text.strip_prefix("serviceaccount:"))
        {
            return sa(rest);
        }
        if let Some(name) = text.strip_prefix("user:") {
            return if name.is_empty() {
                Err("empty user name".to_owned())
            } else {
                Ok(Identity::user(name))
            };
        }
        if let Some(name) = text.strip_prefix("group:") {
            return if name.is_empty() {
                Err("empty group name".to_owned())
            } else {
                Ok(Identity::group_member(name))
            };
        }
        if text.is_empty() {
            return Err("empty subject".to_owned());
        }
        Ok(Identity::user(text))
    }

    /// `User alice`, `ServiceAccount shop/web`, `Group devs`.
    pub fn display(&self) -> String {
        if let Some(rest) = self.name.strip_prefix("system:serviceaccount:")
            && let Some((ns, name)) = rest.split_once(':')
        {
            return format!("ServiceAccount {ns}/{name}");
        }
        if self.name.is_empty() {
            return format!(
                "Group {}",
                self.groups.first().map(String::as_str).unwrap_or("")
            );
        }
        format!("User {}", self.name)
    }
}

/// The user name a subject matches (`system:serviceaccount:NS:NAME` for a service account),
/// `None` for a group.
fn subject_user_name(s: &Subject) -> Option<String> {
    match s.kind {
        SubjectKind::User => Some(s.name.clone()),
        SubjectKind::ServiceAccount => Some(format!(
            "system:serviceaccount:{}:{}",
            s.namespace.as_deref().unwrap_or(""),
            s.name
        )),
        SubjectKind::Group => None,
    }
}

/// `appliesToUser`: whether a binding's subject names this identity.
pub fn applies_to(identity: &Identity, subject: &Subject) -> bool {
    match subject.kind {
        SubjectKind::Group => identity.groups.contains(&subject.name),
        SubjectKind::User | SubjectKind::ServiceAccount => {
            !identity.name.is_empty()
                && subject_user_name(subject).as_deref() == Some(identity.name.as_str())
        }
    }
}

/// Why a request is allowed: a binding, the subject of it that names the requester, the role
/// and the index of the rule in the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub binding: usize,
    pub subject: usize,
    pub rule: usize,
}

/// A grant as people read it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GrantView {
    pub subject: Subject,
    /// The namespace the grant applies in; `None` for cluster-wide (a ClusterRoleBinding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub binding: String,
    pub role: String,
    pub rule: PolicyRule,
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// An index of the bindings' subjects: by user name (service accounts by theirs) and by group.
#[derive(Debug, Default)]
pub struct SubjectIndex {
    by_user: HashMap<String, Vec<(usize, usize)>>,
    by_group: HashMap<String, Vec<(usize, usize)>>,
}

impl SubjectIndex {
    pub fn new(cluster: &Cluster) -> SubjectIndex {
        let mut idx = SubjectIndex::default();
        for (b, binding) in cluster.bindings.iter().enumerate() {
            for (s, subject) in binding.subjects.iter().enumerate() {
                match subject_user_name(subject) {
                    Some(user) => idx.by_user.entry(user).or_default().push((b, s)),
                    None => idx
                        .by_group
                        .entry(subject.name.clone())
                        .or_default()
                        .push((b, s)),
                }
            }
        }
        idx
    }

    /// Every (binding, subject) that names this identity, in binding order.
    pub fn bindings_of(&self, identity: &Identity) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        if !identity.name.is_empty()
            && let Some(v) = self.by_user.get(&identity.name)
        {
            out.extend(v);
        }
        for g in &identity.groups {
            if let Some(v) = self.by_group.get(g) {
                out.extend(v);
            }
        }
        out.sort_unstable();
        out.dedup_by_key(|(b, _)| *b);
        out
    }
}

impl Cluster {
    /// The rules of the role a binding refers to (none when the role is missing).
    pub fn rules_of(&self, b: &Binding) -> &[PolicyRule] {
        self.role_of(b).map(|r| r.rules.as_slice()).unwrap_or(&[])
    }

    /// The authorizer's decision with its reasons: every grant that allows the request (empty:
    /// denied).
    pub fn authorize(&self, identity: &Identity, request: &Request) -> Vec<Grant> {
        let namespace = match request.target {
            Target::NonResource { .. } => "",
            Target::Resource { .. } => request.namespace.as_str(),
        };
        let mut out = Vec::new();
        for b in self.bindings_for(namespace) {
            let Some(binding) = self.bindings.get(b) else {
                continue;
            };
            let Some(s) = binding
                .subjects
                .iter()
                .position(|s| applies_to(identity, s))
            else {
                continue;
            };
            if let Some(r) = self
                .rules_of(binding)
                .iter()
                .position(|rule| rule_allows(rule, request))
            {
                out.push(Grant {
                    binding: b,
                    subject: s,
                    rule: r,
                });
            }
        }
        out
    }

    /// Whether the request is allowed.
    pub fn allows(&self, identity: &Identity, request: &Request) -> bool {
        !self.authorize(identity, request).is_empty()
    }

    /// Every subject allowed the request, with the grant: the bindings the authorizer visits
    /// for the request's namespace, or, with `every_namespace`, every RoleBinding of every
    /// namespace too (each then allows the request in its own namespace, shown as its scope).
    pub fn who_can(&self, request: &Request, every_namespace: bool) -> Vec<Grant> {
        let non_resource = matches!(request.target, Target::NonResource { .. });
        let candidates: Vec<usize> = if every_namespace && !non_resource {
            (0..self.bindings.len()).collect()
        } else {
            let ns = if non_resource {
                ""
            } else {
                request.namespace.as_str()
            };
            self.bindings_for(ns).collect()
        };
        let mut out = Vec::new();
        for b in candidates {
            let Some(binding) = self.bindings.get(b) else {
                continue;
            };
            if let Some(r) = self
                .rules_of(binding)
                .iter()
                .position(|rule| rule_allows(rule, request))
            {
                for s in 0..binding.subjects.len() {
                    out.push(Grant {
                        binding: b,
                        subject: s,
                        rule: r,
                    });
                }
            }
        }
        out
    }

    /// Every grant of an identity: for each binding naming it, each rule of its role, with the
    /// scope (the binding's namespace, or cluster-wide).
    pub fn can(&self, identity: &Identity) -> Vec<Grant> {
        let mut out = Vec::new();
        for (b, binding) in self.bindings.iter().enumerate() {
            let Some(s) = binding
                .subjects
                .iter()
                .position(|s| applies_to(identity, s))
            else {
                continue;
            };
            for r in 0..self.rules_of(binding).len() {
                out.push(Grant {
                    binding: b,
                    subject: s,
                    rule: r,
                });
            }
        }
        out
    }

    /// A grant as people read it (`None` for indexes out of range).
    pub fn view(&self, g: &Grant) -> Option<GrantView> {
        let binding = self.bindings.get(g.binding)?;
        let subject = binding.subjects.get(g.subject)?.clone();
        let rule = self.rules_of(binding).get(g.rule)?.clone();
        let role = self.role_of(binding)?.display();
        Some(GrantView {
            subject,
            scope: binding.namespace.clone(),
            binding: binding.display(),
            role,
            rule,
            file: binding.origin.file.clone(),
            line: binding.origin.line,
            column: binding.origin.column,
        })
    }

    /// The distinct subjects of grants, sorted.
    pub fn subjects_of(&self, grants: &[Grant]) -> BTreeSet<Subject> {
        grants
            .iter()
            .filter_map(|g| {
                self.bindings
                    .get(g.binding)
                    .and_then(|b| b.subjects.get(g.subject))
                    .cloned()
            })
            .collect()
    }
}
