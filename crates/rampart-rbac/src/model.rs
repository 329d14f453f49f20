//! The RBAC objects as the authorizer sees them: policy rules, roles (aggregation resolved),
//! bindings and their subjects, service accounts, and the pods that run as them.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where an object was read: file, 1-based line and column, and the object itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Origin {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// One `PolicyRule`, as written (the authorizer compares verbs, groups, resources and names
/// exactly, case included).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    #[serde(rename = "apiGroups")]
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    #[serde(rename = "resourceNames", skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

/// `Role` (namespaced) or `ClusterRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RoleKind {
    Role,
    ClusterRole,
}

impl RoleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Role => "Role",
            RoleKind::ClusterRole => "ClusterRole",
        }
    }
}

/// A label selector of an `aggregationRule` (`matchLabels` and `matchExpressions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub match_labels: Vec<(String, String)>,
    pub expressions: Vec<Expression>,
}

/// One `matchExpressions` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Selector {
    /// Whether the selector selects these labels (an empty selector selects everything, as
    /// `metav1.LabelSelectorAsSelector` makes it).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|e| {
                let value = labels.get(&e.key);
                match e.operator {
                    Operator::In => value.is_some_and(|v| e.values.contains(v)),
                    Operator::NotIn => value.is_none_or(|v| !e.values.contains(v)),
                    Operator::Exists => value.is_some(),
                    Operator::DoesNotExist => value.is_none(),
                }
            })
    }
}

/// A Role or ClusterRole. For an aggregated ClusterRole, `rules` are the ones the
/// clusterrole-aggregation controller writes: the union of the rules of every other ClusterRole
/// its selectors match (its own `rules` are overwritten by the controller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub kind: RoleKind,
    pub name: String,
    /// `None` for a ClusterRole.
    pub namespace: Option<String>,
    pub rules: Vec<PolicyRule>,
    pub labels: BTreeMap<String, String>,
    /// `aggregationRule.clusterRoleSelectors` (ClusterRoles only).
    pub aggregation: Option<Vec<Selector>>,
    pub origin: Origin,
}

impl Role {
    /// `ClusterRole admin`, `Role shop/app`.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {}/{}", self.kind.as_str(), ns, self.name),
            None => format!("{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// `User`, `Group` or `ServiceAccount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum SubjectKind {
    User,
    Group,
    ServiceAccount,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "User",
            SubjectKind::Group => "Group",
            SubjectKind::ServiceAccount => "ServiceAccount",
        }
    }
}

/// A subject of a binding. A ServiceAccount subject without a namespace takes the binding's
/// (as the authorizer defaults it); in a ClusterRoleBinding it then matches nobody.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl Subject {
    /// `User alice`, `Group devs`, `ServiceAccount shop/web`.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) if self.kind == SubjectKind::ServiceAccount => {
                format!("{} {}/{}", self.kind.as_str(), ns, self.name)
            }
            _ => format!("{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// `RoleBinding` or `ClusterRoleBinding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum BindingKind {
    RoleBinding,
    ClusterRoleBinding,
}

impl BindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BindingKind::RoleBinding => "RoleBinding",
            BindingKind::ClusterRoleBinding => "ClusterRoleBinding",
        }
    }
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub kind: BindingKind,
    pub name: String,
    /// `None` for a ClusterRoleBinding.
    pub namespace: Option<String>,
    pub role_kind: RoleKind,
    pub role_name: String,
    /// Subjects with the ServiceAccount namespace defaulted to the binding's.
    pub subjects: Vec<Subject>,
    pub labels: BTreeMap<String, String>,
    pub origin: Origin,
}

impl Binding {
    /// `ClusterRoleBinding admins`, `RoleBinding shop/dev`.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {}/{}", self.kind.as_str(), ns, self.name),
            None => format!("{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// A pod or the pod template of a workload: the identity it runs as and what it can reach of
/// its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    /// The workload's kind (`Pod`, `Deployment`, `CronJob`...).
    pub kind: String,
    pub name: String,
    /// `metadata.namespace` as written (`None` when not set; it then runs in `default`).
    pub namespace_written: Option<String>,
    /// The namespace it runs in.
    pub namespace: String,
    pub service_account: String,
    /// Whether the service account's token is mounted (the pod's
    /// `automountServiceAccountToken`, else the ServiceAccount's, else true).
    pub token_mounted: bool,
    /// Why the pod is a way to its node (privileged container, hostPID, hostNetwork, hostIPC,
    /// hostPath volume), empty when it is not.
    pub host_access: Vec<String>,
    pub origin: Origin,
}

impl Pod {
    /// `Deployment shop/web`.
    pub fn display(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// A ServiceAccount object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
    pub automount: Option<bool>,
    pub origin: Origin,
}

/// Something worth knowing that is not an error: a binding to a role that does not exist, a
/// rule that can never match.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Note {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// The built-in ClusterRole with every permission.
pub const CLUSTER_ADMIN: &str = "cluster-admin";

/// Everything loaded, indexed for the authorizer.
#[derive(Debug, Default)]
pub struct Cluster {
    pub roles: Vec<Role>,
    pub bindings: Vec<Binding>,
    pub service_accounts: Vec<ServiceAccount>,
    pub pods: Vec<Pod>,
    /// Namespace objects and their labels.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    pub notes: Vec<Note>,
    pub(crate) cluster_roles: HashMap<String, usize>,
    pub(crate) ns_roles: HashMap<(String, String), usize>,
    pub(crate) cluster_bindings: Vec<usize>,
    pub(crate) ns_bindings: HashMap<String, Vec<usize>>,
}

impl Cluster {
    /// Builds the indexes, resolves aggregated ClusterRoles and notes bindings to missing roles.
    /// A later object of the same kind, namespace and name replaces an earlier one (as a later
    /// `kubectl apply` would).
    pub fn new(
        roles: Vec<Role>,
        bindings: Vec<Binding>,
        service_accounts: Vec<ServiceAccount>,
        pods: Vec<Pod>,
        namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    ) -> Cluster {
        let mut c = Cluster {
            roles,
            bindings,
            service_accounts,
            pods,
            namespace_labels,
            ..Cluster::default()
        };
        // cluster-admin is built into every cluster (the API server creates it at start):
        // a binding to it means `*` on everything even when the input does not define it.
        if !c
            .roles
            .iter()
            .any(|r| r.kind == RoleKind::ClusterRole && r.name == CLUSTER_ADMIN)
            && let Some(b) = c
                .bindings
                .iter()
                .find(|b| b.role_kind == RoleKind::ClusterRole && b.role_name == CLUSTER_ADMIN)
        {
            let all = vec!["*".to_owned()];
            c.notes.push(Note {
                file: b.origin.file.clone(),
                line: b.origin.line,
                column: b.origin.column,
                message: format!(
                    "{} refers to ClusterRole cluster-admin, which the input does not define: taken as the built-in one (every verb on every resource and URL)",
                    b.display()
                ),
            });
            c.roles.push(Role {
                kind: RoleKind::ClusterRole,
                name: CLUSTER_ADMIN.to_owned(),
                namespace: None,
                rules: vec![
                    PolicyRule {
                        verbs: all.clone(),
                        api_groups: all.clone(),
                        resources: all.clone(),
                        ..PolicyRule::default()
                    },
                    PolicyRule {
                        verbs: all.clone(),
                        non_resource_urls: all,
                        ..PolicyRule::default()
                    },
                ],
                labels: BTreeMap::new(),
                aggregation: None,
                origin: Origin {
                    file: "<built-in>".to_owned(),
                    line: 0,
                    column: 0,
                },
            });
        }
        for (i, r) in c.roles.iter().enumerate() {
            match (&r.kind, &r.namespace) {
                (RoleKind::ClusterRole, _) => {
                    c.cluster_roles.insert(r.name.clone(), i);
                }
                (RoleKind::Role, Some(ns)) => {
                    c.ns_roles.insert((ns.clone(), r.name.clone()), i);
                }
                (RoleKind::Role, None) => {}
            }
        }
        c.aggregate();
        for (i, b) in c.bindings.iter().enumerate() {
            match &b.namespace {
                None => c.cluster_bindings.push(i),
                Some(ns) => c.ns_bindings.entry(ns.clone()).or_default().push(i),
            }
        }
        let mut notes = Vec::new();
        for b in &c.bindings {
            if c.role_of(b).is_none() {
                let whose = match (&b.role_kind, &b.namespace) {
                    (RoleKind::Role, Some(ns)) => format!("Role {ns}/{}", b.role_name),
                    (kind, _) => format!("{} {}", kind.as_str(), b.role_name),
                };
                notes.push(Note {
                    file: b.origin.file.clone(),
                    line: b.origin.line,
                    column: b.origin.column,
                    message: format!(
                        "{} refers to {whose}, which is not in the input: it grants nothing here",
                        b.display()
                    ),
                });
            }
        }
        c.notes.extend(notes);
        c.notes.sort();
        c.notes.dedup();
        c
    }

    /// The role a binding refers to (a RoleBinding's Role is in the binding's namespace);
    /// `None` when it is not in the input.
    pub fn role_of(&self, b: &Binding) -> Option<&Role> {
        let idx = match (b.role_kind, &b.namespace) {
            (RoleKind::ClusterRole, _) => self.cluster_roles.get(&b.role_name),
            (RoleKind::Role, Some(ns)) => self.ns_roles.get(&(ns.clone(), b.role_name.clone())),
            (RoleKind::Role, None) => None,
        };
        idx.and_then(|i| self.roles.get(*i))
    }

    /// Indexes of the bindings the authorizer visits for a request in `namespace` (`""` for
    /// cluster-scoped and non-resource requests): every ClusterRoleBinding, then the
    /// namespace's RoleBindings.
    pub fn bindings_for(&self, namespace: &str) -> impl Iterator<Item = usize> + '_ {
        let local: &[usize] = if namespace.is_empty() {
            &[]
        } else {
            self.ns_bindings
                .get(namespace)
                .map(Vec::as_slice)
                .unwrap_or(&[])
        };
        self.cluster_bindings.iter().chain(local.iter()).copied()
    }

    /// Every namespace the input names: Namespace objects and the namespaces of namespaced
    /// objects and subjects.
    pub fn namespaces(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.namespace_labels.keys().cloned().collect();
        out.extend(self.roles.iter().filter_map(|r| r.namespace.clone()));
        for b in &self.bindings {
            out.extend(b.namespace.clone());
            out.extend(b.subjects.iter().filter_map(|s| s.namespace.clone()));
        }
        out.extend(self.service_accounts.iter().map(|s| s.namespace.clone()));
        out.extend(self.pods.iter().map(|p| p.namespace.clone()));
        out
    }

    /// The clusterrole-aggregation controller's fixpoint: an aggregated ClusterRole's rules
    /// are the union (in order, duplicates dropped) of the rules of every other ClusterRole one
    /// of its selectors matches; aggregated roles feeding aggregated roles settle after as many
    /// rounds as the chain is long (bounded by the number of roles).
    fn aggregate(&mut self) {
        let aggregated: Vec<usize> = self
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == RoleKind::ClusterRole && r.aggregation.is_some())
            .map(|(i, _)| i)
            .collect();
        if aggregated.is_empty() {
            return;
        }
        // The sources of each aggregated role, computed once.
        let mut sources: Vec<(usize, Vec<usize>)> = Vec::new();
        for &i in &aggregated {
            let Some(role) = self.roles.get(i) else {
                continue;
            };
            let selectors = role.aggregation.clone().unwrap_or_default();
            let from: Vec<usize> = self
                .roles
                .iter()
                .enumerate()
                .filter(|(j, r)| {
                    *j != i
                        && r.kind == RoleKind::ClusterRole
                        && self.cluster_roles.get(&r.name) == Some(j)
                        && selectors.iter().any(|s| s.matches(&r.labels))
                })
                .map(|(j, _)| j)
                .collect();
            sources.push((i, from));
        }
        for (i, _) in &sources {
            if let Some(r) = self.roles.get_mut(*i) {
                r.rules.clear();
            }
        }
        let rounds = aggregated.len() + 1;
        for _ in 0..rounds {
            let mut changed = false;
            for (i, from) in &sources {
                let mut rules: Vec<PolicyRule> = Vec::new();
                for j in from {
                    if let Some(src) = self.roles.get(*j) {
                        for rule in &src.rules {
                            if !rules.contains(rule) {
                                rules.push(rule.clone());
                            }
                        }
                    }
                }
                if let Some(r) = self.roles.get_mut(*i)
                    && r.rules != rules
                {
                    r.rules = rules;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }
}
