//! Reading RBAC objects, service accounts, namespaces and workloads from manifests or a
//! `kubectl get -o json` dump (a `List`), with the API server's validation of the RBAC kinds:
//! an object it would reject is an input error at its position and is left out; the rest is
//! analysed.

use crate::model::{
    Binding, BindingKind, Cluster, Expression, Operator, Origin, Pod, PolicyRule, Role, RoleKind,
    Selector, ServiceAccount, Subject, SubjectKind,
};
use rampart_k8s::ManifestFile;
use rampart_k8s::objects::{Object, Workload, objects};
use rampart_k8s::yaml::{Node, Pos, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The RBAC API group.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Files larger than this are not read (as `rampart scan`).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A problem in the input: the object is left out, the rest is analysed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, thiserror::Error, serde::Serialize)]
#[error("{file}:{line}:{column}: {message}")]
pub struct LoadError {
    pub file: String,
    /// 1-based; 0 when the problem is not at a position (an unreadable file).
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl LoadError {
    fn at(file: &str, pos: Pos, message: String) -> LoadError {
        LoadError {
            file: file.to_owned(),
            line: pos.line,
            column: pos.column,
            message,
        }
    }

    /// As rampart-core's input error (the report's type).
    pub fn to_input_error(&self) -> rampart_core::InputError {
        rampart_core::InputError {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message: self.message.clone(),
        }
    }
}

/// Reads every `.yaml`, `.yml` and `.json` file under `paths` (files or directories, sorted,
/// hidden entries skipped) and loads them.
pub fn load_paths(paths: &[PathBuf]) -> (Cluster, Vec<LoadError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        collect_files(p, &mut files, &mut errors, 0);
    }
    let mut manifests = Vec::new();
    for f in files {
        let name = f.display().to_string();
        match std::fs::metadata(&f) {
            Ok(m) if m.len() > MAX_FILE_BYTES => {
                errors.push(LoadError {
                    file: name,
                    line: 0,
                    column: 0,
                    message: format!(
                        "file is {} bytes, over the limit of {MAX_FILE_BYTES}",
                        m.len()
                    ),
                });
                continue;
            }
            _ => {}
        }
        match std::fs::read(&f) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let (manifest, yaml_errors) = ManifestFile::load(name.clone(), &text);
                if !yaml_errors.is_empty() && rampart_k8s::looks_like_manifest(&text) {
                    errors.extend(yaml_errors.into_iter().map(|e| LoadError {
                        file: name.clone(),
                        line: e.line,
                        column: e.column,
                        message: e.message,
                    }));
                }
                manifests.push(manifest);
            }
            Err(e) => errors.push(LoadError {
                file: name,
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    let (cluster, more) = load_manifests(&manifests);
    errors.extend(more);
    (cluster, errors)
}

fn collect_files(p: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>, depth: usize) {
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) => {
            errors.push(LoadError {
                file: p.display().to_string(),
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            });
            return;
        }
    };
    if meta.is_file() {
        out.push(p.to_path_buf());
        return;
    }
    if !meta.is_dir() || depth > 64 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(p) else {
        errors.push(LoadError {
            file: p.display().to_string(),
            line: 0,
            column: 0,
            message: "cannot list the directory".to_owned(),
        });
        return;
    };
    let mut children: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    children.sort();
    for c in children {
        let name = c.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if c.is_dir() {
            collect_files(&c, out, errors, depth + 1);
        } else if [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e)) {
            out.push(c);
        }
    }
}

/// Loads the objects of already parsed manifests.
pub fn load_manifests(files: &[ManifestFile]) -> (Cluster, Vec<LoadError>) {
    let mut errors = Vec::new();
    let mut roles = Vec::new();
    let mut bindings = Vec::new();
    let mut service_accounts: Vec<ServiceAccount> = Vec::new();
    let mut namespace_labels = BTreeMap::new();
    let mut workloads: Vec<(&str, Workload<'_>)> = Vec::new();
    let mut notes = Vec::new();
    for f in files {
        for doc in &f.documents {
            for o in objects(doc) {
                let file = f.path.as_str();
                let origin = Origin {
                    file: file.to_owned(),
                    line: o.node.pos.line,
                    column: o.node.pos.column,
                };
                match o.kind {
                    "Role" | "ClusterRole" if is_rbac(o.api_version) => {
                        match read_role(file, &o, origin) {
                            Ok((role, note)) => {
                                roles.push(role);
                                notes.extend(note);
                            }
                            Err(e) => errors.push(e),
                        }
                    }
                    "RoleBinding" | "ClusterRoleBinding" if is_rbac(o.api_version) => {
                        match read_binding(file, &o, origin) {
                            Ok(b) => bindings.push(b),
                            Err(e) => errors.push(e),
                        }
                    }
                    "ServiceAccount" if o.api_version == "v1" => {
                        service_accounts.push(ServiceAccount {
                            namespace: o.effective_namespace().to_owned(),
                            name: o.name.to_owned(),
                            automount: o
                                .node
                                .get("automountServiceAccountToken")
                                .and_then(Node::as_bool),
                            origin,
                        });
                    }
                    "Namespace" if o.api_version == "v1" => {
                        namespace_labels.insert(o.name.to_owned(), labels(&o));
                    }
                    _ => {
                        if let Some(w) = Workload::from_object(o) {
                            workloads.push((file, w));
                        }
                    }
                }
            }
        }
    }
    let sa_index: HashMap<(&str, &str), Option<bool>> = service_accounts
        .iter()
        .map(|s| ((s.namespace.as_str(), s.name.as_str()), s.automount))
        .collect();
    let pods: Vec<Pod> = workloads
        .iter()
        .map(|(file, w)| read_pod(file, w, &sa_index))
        .collect();
    let mut cluster = Cluster::new(roles, bindings, service_accounts, pods, namespace_labels);
    cluster.notes.extend(notes);
    cluster.notes.sort();
    (cluster, errors)
}

fn is_rbac(api_version: &str) -> bool {
    api_version
        .strip_prefix(RBAC_GROUP)
        .is_some_and(|v| v.starts_with('/'))
}

fn labels(o: &Object<'_>) -> BTreeMap<String, String> {
    o.labels()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), scalar_text(v)?)))
        .collect()
}

/// A label value as the API reads it (a string; numbers and booleans written bare are refused
/// by the API server, but their text is what a reader means).
fn scalar_text(n: &Node) -> Option<String> {
    match &n.value {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn describe(n: &Node) -> &'static str {
    match n.value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a number",
        Value::String(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

/// A list of strings at `key` of `node` (absent or null = empty); `what` names it in errors.
fn strings(file: &str, node: &Node, key: &str, what: &str) -> Result<Vec<String>, LoadError> {
    let Some(v) = node.get(key) else {
        return Ok(Vec::new());
    };
    match &v.value {
        Value::Null => Ok(Vec::new()),
        Value::Seq(items) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_owned).ok_or_else(|| {
                    LoadError::at(
                        file,
                        i.pos,
                        format!("{what}.{key}: expected a string, found {}", describe(i)),
                    )
                })
            })
            .collect(),
        _ => Err(LoadError::at(
            file,
            v.pos,
            format!(
                "{what}.{key}: expected a list of strings, found {}",
                describe(v)
            ),
        )),
    }
}

/// A required non-empty string at `key`.
fn required_str<'n>(
    file: &str,
    node: &'n Node,
    key: &str,
    what: &str,
) -> Result<&'n str, LoadError> {
    match node.get(key) {
        Some(v) => match v.as_str() {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(LoadError::at(file, v.pos, format!("{what}.{key} is empty"))),
            None => Err(LoadError::at(
                file,
                v.pos,
                format!("{what}.{key}: expected a string, found {}", describe(v)),
            )),
        },
        None => Err(LoadError::at(
            file,
            node.pos,
            format!("{what}.{key} is required"),
        )),
    }
}

fn optional_str<'n>(
    file: &str,
    node: &'n Node,
    key: &str,
    what: &str,
) -> Result<Option<&'n str>, LoadError> {
    match node.get(key) {
        None => Ok(None),
        Some(v) if matches!(v.value, Value::Null) => Ok(None),
        Some(v) => v.as_str().map(Some).ok_or_else(|| {
            LoadError::at(
                file,
                v.pos,
                format!("{what}.{key}: expected a string, found {}", describe(v)),
            )
        }),
    }
}

fn read_rule(
    file: &str,
    node: &Node,
    what: &str,
    namespaced: bool,
) -> Result<PolicyRule, LoadError> {
    if !node.is_map() {
        return Err(LoadError::at(
            file,
            node.pos,
            format!("{what}: expected a mapping, found {}", describe(node)),
        ));
    }
    let rule = PolicyRule {
        verbs: strings(file, node, "verbs", what)?,
        api_groups: strings(file, node, "apiGroups", what)?,
        resources: strings(file, node, "resources", what)?,
        resource_names: strings(file, node, "resourceNames", what)?,
        non_resource_urls: strings(file, node, "nonResourceURLs", what)?,
    };
    // The API server's validation of a PolicyRule (ValidatePolicyRule).
    if rule.verbs.is_empty() {
        return Err(LoadError::at(
            file,
            node.pos,
            format!("{what}.verbs: at least one verb is required"),
        ));
    }
    if !rule.non_resource_urls.is_empty() {
        if namespaced {
            return Err(LoadError::at(
                file,
                node.pos_of(&[rampart_k8s::yaml::Seg::Key("nonResourceURLs")]),
                format!("{what}.nonResourceURLs: a Role's rules cannot apply to non-resource URLs"),
            ));
        }
        if !rule.api_groups.is_empty() || !rule.resources.is_empty() {
            return Err(LoadError::at(
                file,
                node.pos_of(&[rampart_k8s::yaml::Seg::Key("nonResourceURLs")]),
                format!(
                    "{what}.nonResourceURLs: a rule cannot apply to both resources and non-resource URLs"
                ),
            ));
        }
        return Ok(rule);
    }
    if rule.api_groups.is_empty() {
        return Err(LoadError::at(
            file,
            node.pos,
            format!(
                "{what}.apiGroups: resource rules must name at least one API group (\"\" is the core group)"
            ),
        ));
    }
    if rule.resources.is_empty() {
        return Err(LoadError::at(
            file,
            node.pos,
            format!("{what}.resources: resource rules must name at least one resource"),
        ));
    }
    Ok(rule)
}

fn read_selector(file: &str, node: &Node, what: &str) -> Result<Selector, LoadError> {
    let mut sel = Selector::default();
    if let Some(ml) = node.get("matchLabels") {
        if !ml.is_map() && !matches!(ml.value, Value::Null) {
            return Err(LoadError::at(
                file,
                ml.pos,
                format!(
                    "{what}.matchLabels: expected a mapping, found {}",
                    describe(ml)
                ),
            ));
        }
        for (k, v) in ml.entries() {
            let (Some(k), Some(v)) = (k.as_str(), scalar_text(v)) else {
                return Err(LoadError::at(
                    file,
                    k.pos,
                    format!("{what}.matchLabels: keys and values must be strings"),
                ));
            };
            sel.match_labels.push((k.to_owned(), v));
        }
    }
    if let Some(exprs) = node.get("matchExpressions") {
        for (i, e) in exprs.as_seq().iter().enumerate() {
            let w = format!("{what}.matchExpressions[{i}]");
            let key = required_str(file, e, "key", &w)?.to_owned();
            let op = required_str(file, e, "operator", &w)?;
            let operator = match op {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(LoadError::at(
                        file,
                        e.pos_of(&[rampart_k8s::yaml::Seg::Key("operator")]),
                        format!(
                            "{w}.operator: unknown operator \"{other}\" (expected In, NotIn, Exists or DoesNotExist)"
                        ),
                    ));
                }
            };
            let values = strings(file, e, "values", &w)?;
            sel.expressions.push(Expression {
                key,
                operator,
                values,
            });
        }
    }
    Ok(sel)
}

fn read_role(
    file: &str,
    o: &Object<'_>,
    origin: Origin,
) -> Result<(Role, Option<crate::model::Note>), LoadError> {
    let kind = if o.kind == "Role" {
        RoleKind::Role
    } else {
        RoleKind::ClusterRole
    };
    let what = o.subject();
    let namespaced = kind == RoleKind::Role;
    let mut rules = Vec::new();
    if let Some(list) = o.node.get("rules") {
        if !matches!(list.value, Value::Seq(_) | Value::Null) {
            return Err(LoadError::at(
                file,
                list.pos,
                format!("{what}: rules: expected a list, found {}", describe(list)),
            ));
        }
        for (i, r) in list.as_seq().iter().enumerate() {
            rules.push(read_rule(
                file,
                r,
                &format!("{what}: rules[{i}]"),
                namespaced,
            )?);
        }
    }
    let mut aggregation = None;
    let mut note = None;
    if let Some(agg) = o.node.get("aggregationRule")
        && !matches!(agg.value, Value::Null)
    {
        if namespaced {
            return Err(LoadError::at(
                file,
                agg.pos,
                format!("{what}: a Role cannot have an aggregationRule"),
            ));
        }
        let mut selectors = Vec::new();
        for (i, s) in agg
            .get("clusterRoleSelectors")
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            selectors.push(read_selector(
                file,
                s,
                &format!("{what}: aggregationRule.clusterRoleSelectors[{i}]"),
            )?);
        }
        if !rules.is_empty() {
            note = Some(crate::model::Note {
                file: file.to_owned(),
                line: agg.pos.line,
                column: agg.pos.column,
                message: format!(
                    "{what} is aggregated: the controller replaces its own {} rule(s) with those of the ClusterRoles its selectors match",
                    rules.len()
                ),
            });
        }
        aggregation = Some(selectors);
    }
    Ok((
        Role {
            kind,
            name: o.name.to_owned(),
            namespace: namespaced.then(|| o.effective_namespace().to_owned()),
            rules,
            labels: labels(o),
            aggregation,
            origin,
        },
        note,
    ))
}

fn read_binding(file: &str, o: &Object<'_>, origin: Origin) -> Result<Binding, LoadError> {
    let kind = if o.kind == "RoleBinding" {
        BindingKind::RoleBinding
    } else {
        BindingKind::ClusterRoleBinding
    };
    let what = o.subject();
    let Some(role_ref) = o.node.get("roleRef") else {
        return Err(LoadError::at(
            file,
            o.node.pos,
            format!("{what}: roleRef is required"),
        ));
    };
    if !role_ref.is_map() {
        return Err(LoadError::at(
            file,
            role_ref.pos,
            format!(
                "{what}: roleRef: expected a mapping, found {}",
                describe(role_ref)
            ),
        ));
    }
    let ref_what = format!("{what}: roleRef");
    let ref_kind = required_str(file, role_ref, "kind", &ref_what)?;
    let role_name = required_str(file, role_ref, "name", &ref_what)?;
    if let Some(g) = optional_str(file, role_ref, "apiGroup", &ref_what)?
        && g != RBAC_GROUP
    {
        return Err(LoadError::at(
            file,
            role_ref.pos_of(&[rampart_k8s::yaml::Seg::Key("apiGroup")]),
            format!("{ref_what}.apiGroup: expected \"{RBAC_GROUP}\", found \"{g}\""),
        ));
    }
    let role_kind = match (ref_kind, kind) {
        ("ClusterRole", _) => RoleKind::ClusterRole,
        ("Role", BindingKind::RoleBinding) => RoleKind::Role,
        ("Role", BindingKind::ClusterRoleBinding) => {
            return Err(LoadError::at(
                file,
                role_ref.pos_of(&[rampart_k8s::yaml::Seg::Key("kind")]),
                format!("{ref_what}.kind: a ClusterRoleBinding can only refer to a ClusterRole"),
            ));
        }
        (other, _) => {
            return Err(LoadError::at(
                file,
                role_ref.pos_of(&[rampart_k8s::yaml::Seg::Key("kind")]),
                format!("{ref_what}.kind: expected Role or ClusterRole, found \"{other}\""),
            ));
        }
    };
    let namespace = (kind == BindingKind::RoleBinding).then(|| o.effective_namespace().to_owned());
    let mut subjects = Vec::new();
    if let Some(list) = o.node.get("subjects")
        && !matches!(list.value, Value::Seq(_) | Value::Null)
    {
        return Err(LoadError::at(
            file,
            list.pos,
            format!(
                "{what}: subjects: expected a list, found {}",
                describe(list)
            ),
        ));
    }
    for (i, s) in o
        .node
        .get("subjects")
        .map(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let sw = format!("{what}: subjects[{i}]");
        if !s.is_map() {
            return Err(LoadError::at(
                file,
                s.pos,
                format!("{sw}: expected a mapping, found {}", describe(s)),
            ));
        }
        let skind = required_str(file, s, "kind", &sw)?;
        let name = required_str(file, s, "name", &sw)?;
        let api_group = optional_str(file, s, "apiGroup", &sw)?;
        let sns = optional_str(file, s, "namespace", &sw)?.filter(|n| !n.is_empty());
        let kind_pos = s.pos_of(&[rampart_k8s::yaml::Seg::Key("kind")]);
        let subject = match skind {
            "User" | "Group" => {
                if let Some(g) = api_group
                    && g != RBAC_GROUP
                {
                    return Err(LoadError::at(
                        file,
                        s.pos_of(&[rampart_k8s::yaml::Seg::Key("apiGroup")]),
                        format!(
                            "{sw}.apiGroup: a {skind} subject's apiGroup is \"{RBAC_GROUP}\", found \"{g}\""
                        ),
                    ));
                }
                Subject {
                    kind: if skind == "User" {
                        SubjectKind::User
                    } else {
                        SubjectKind::Group
                    },
                    name: name.to_owned(),
                    namespace: None,
                }
            }
            "ServiceAccount" => {
                if let Some(g) = api_group
                    && !g.is_empty()
                {
                    return Err(LoadError::at(
                        file,
                        s.pos_of(&[rampart_k8s::yaml::Seg::Key("apiGroup")]),
                        format!(
                            "{sw}.apiGroup: a ServiceAccount subject's apiGroup is \"\", found \"{g}\""
                        ),
                    ));
                }
                let ns = sns.map(str::to_owned).or_else(|| namespace.clone());
                if ns.is_none() {
                    return Err(LoadError::at(
                        file,
                        s.pos,
                        format!(
                            "{sw}.namespace: a ServiceAccount subject of a ClusterRoleBinding needs a namespace"
                        ),
                    ));
                }
                Subject {
                    kind: SubjectKind::ServiceAccount,
                    name: name.to_owned(),
                    namespace: ns,
                }
            }
            other => {
                return Err(LoadError::at(
                    file,
                    kind_pos,
                    format!(
                        "{sw}.kind: unknown subject kind \"{other}\" (expected User, Group or ServiceAccount)"
                    ),
                ));
            }
        };
        subjects.push(subject);
    }
    Ok(Binding {
        kind,
        name: o.name.to_owned(),
        namespace,
        role_kind,
        role_name: role_name.to_owned(),
        subjects,
        labels: labels(o),
        origin,
    })
}

fn read_pod(file: &str, w: &Workload<'_>, sas: &HashMap<(&str, &str), Option<bool>>) -> Pod {
    let o = &w.object;
    let namespace = o.effective_namespace().to_owned();
    let spec = w.spec();
    let get = |k: &str| spec.and_then(|s| s.get(k));
    let service_account = get("serviceAccountName")
        .and_then(Node::as_str)
        .or_else(|| get("serviceAccount").and_then(Node::as_str))
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_owned();
    let token_mounted = get("automountServiceAccountToken")
        .and_then(Node::as_bool)
        .or_else(|| {
            sas.get(&(namespace.as_str(), service_account.as_str()))
                .copied()
                .flatten()
        })
        .unwrap_or(true);
    let mut host_access = Vec::new();
    for (field, why) in [
        ("hostPID", "hostPID"),
        ("hostNetwork", "hostNetwork"),
        ("hostIPC", "hostIPC"),
    ] {
        if get(field).and_then(Node::as_bool) == Some(true) {
            host_access.push(why.to_owned());
        }
    }
    for c in w.containers() {
        if c.node
            .path(&["securityContext", "privileged"])
            .and_then(Node::as_bool)
            == Some(true)
        {
            host_access.push(format!("privileged {}", c.describe()));
        }
    }
    for v in get("volumes").map(Node::as_seq).unwrap_or(&[]) {
        if let Some(path) = v.str_at(&["hostPath", "path"]) {
            host_access.push(format!("hostPath volume {path}"));
        }
    }
    Pod {
        kind: o.kind.to_owned(),
        name: o.name.to_owned(),
        namespace_written: o.namespace.map(str::to_owned),
        namespace,
        service_account,
        token_mounted,
        host_access,
        origin: Origin {
            file: file.to_owned(),
            line: o.node.pos.line,
            column: o.node.pos.column,
        },
    }
}
