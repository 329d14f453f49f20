//! Kubernetes objects found in loaded YAML: `List` kinds flattened, workloads and the pod
//! template each one runs, containers of every kind.

use crate::yaml::{Document, Node, Seg};

/// A Kubernetes object in a file.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    pub node: &'a Node,
    pub api_version: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    /// `metadata.namespace` as written; `None` when not set.
    pub namespace: Option<&'a str>,
}

impl<'a> Object<'a> {
    pub(crate) fn from_node(node: &'a Node) -> Option<Object<'a>> {
        let kind = node.str_at(&["kind"])?;
        let api_version = node.str_at(&["apiVersion"])?;
        Some(Object::of_kind(node, kind, api_version))
    }

    /// An object of a kind known from elsewhere (a typed list's items carry none).
    fn of_kind(node: &'a Node, kind: &'a str, api_version: &'a str) -> Object<'a> {
        Object {
            node,
            api_version,
            kind,
            name: node
                .str_at(&["metadata", "name"])
                .or_else(|| node.str_at(&["metadata", "generateName"]))
                .unwrap_or("<unnamed>"),
            namespace: node.str_at(&["metadata", "namespace"]),
        }
    }

    /// The namespace the object lands in when applied without `-n`: `default` if unset.
    pub fn effective_namespace(&self) -> &'a str {
        self.namespace.unwrap_or("default")
    }

    /// `Kind namespace/name`, the subject string used for controls and findings.
    pub fn subject(&self) -> String {
        match self.namespace {
            Some(ns) => format!("{} {}/{}", self.kind, ns, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    pub fn labels(&self) -> &'a [(Node, Node)] {
        self.node
            .path(&["metadata", "labels"])
            .map(Node::entries)
            .unwrap_or(&[])
    }

    pub fn label(&self, key: &str) -> Option<&'a str> {
        self.node.str_at(&["metadata", "labels", key])
    }
}

/// Every object of a document, `List` kinds (`List`, `PodList`, ...) flattened.
pub fn objects(doc: &Document) -> Vec<Object<'_>> {
    let mut out = Vec::new();
    collect(&doc.root, &mut out, 0);
    out
}

fn collect<'a>(node: &'a Node, out: &mut Vec<Object<'a>>, depth: usize) {
    let Some(obj) = Object::from_node(node) else {
        return;
    };
    if obj.kind.ends_with("List")
        && let Some(items) = node.get("items")
    {
        if depth < 8 {
            // a typed list (`PodList`, as the API serves it) leaves out its items' kind and
            // apiVersion: they are the list's
            let item_kind = obj.kind.strip_suffix("List").filter(|k| !k.is_empty());
            for item in items.as_seq() {
                match (Object::from_node(item), item_kind) {
                    (None, Some(kind)) if item.is_map() && item.get("kind").is_none() => {
                        let api_version = item.str_at(&["apiVersion"]).unwrap_or(obj.api_version);
                        out.push(Object::of_kind(item, kind, api_version));
                    }
                    _ => collect(item, out, depth + 1),
                }
            }
        }
        return;
    }
    out.push(obj);
}

/// The kinds that run pods, and where their pod template is: the built-in workload kinds and the
/// well-known workload kinds of other projects (OpenShift `DeploymentConfig`, Argo Rollouts
/// `Rollout`). Other kinds are workloads too when their `spec.template` is a pod template (see
/// [`Workload::from_object`]).
pub fn template_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &[],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job"
        | "DeploymentConfig"
        | "Rollout" => &SPEC_TEMPLATE,
        "CronJob" => &["spec", "jobTemplate", "spec", "template"],
        "PodTemplate" => &["template"],
        _ => return None,
    })
}

const SPEC_TEMPLATE: [&str; 2] = ["spec", "template"];

/// Where an object's pod template is: [`template_path`] for the kinds known to run pods, and
/// `spec.template` for any other kind whose `spec.template.spec` has a `containers` list (custom
/// workload resources such as Knative Services, OpenKruise CloneSets or operators' own kinds),
/// so a pod template is never skipped because its kind is unfamiliar.
pub fn pod_template_path(object: &Object<'_>) -> Option<&'static [&'static str]> {
    if let Some(path) = template_path(object.kind) {
        return Some(path);
    }
    let containers = object
        .node
        .path(&["spec", "template", "spec", "containers"])?;
    (!containers.as_seq().is_empty()).then_some(&SPEC_TEMPLATE)
}

/// Whether an object runs pods: see [`pod_template_path`].
pub fn is_workload(object: &Object<'_>) -> bool {
    pod_template_path(object).is_some()
}

/// An object that runs pods, with the pod (for `Pod`) or pod template it runs.
#[derive(Debug, Clone, Copy)]
pub struct Workload<'a> {
    pub object: Object<'a>,
    /// A node with `metadata` and `spec` (a PodSpec).
    pub pod: &'a Node,
}

impl<'a> Workload<'a> {
    pub fn from_object(object: Object<'a>) -> Option<Workload<'a>> {
        let path = pod_template_path(&object)?;
        let pod = object.node.path(path)?;
        pod.get("spec")?;
        Some(Workload { object, pod })
    }

    pub fn spec(&self) -> Option<&'a Node> {
        self.pod.get("spec")
    }

    /// Labels of the pods it creates.
    pub fn pod_label(&self, key: &str) -> Option<&'a str> {
        self.pod.str_at(&["metadata", "labels", key])
    }

    pub fn pod_labels(&self) -> &'a [(Node, Node)] {
        self.pod
            .path(&["metadata", "labels"])
            .map(Node::entries)
            .unwrap_or(&[])
    }

    /// Every container: init, regular, ephemeral.
    pub fn containers(&self) -> Vec<Container<'a>> {
        let mut out = Vec::new();
        let Some(spec) = self.spec() else { return out };
        for kind in ContainerKind::ALL {
            if let Some(list) = spec.get(kind.field()) {
                for (index, node) in list.as_seq().iter().enumerate() {
                    out.push(Container { kind, index, node });
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerKind {
    pub const ALL: [ContainerKind; 3] = [
        ContainerKind::Init,
        ContainerKind::Regular,
        ContainerKind::Ephemeral,
    ];

    pub fn field(self) -> &'static str {
        match self {
            ContainerKind::Init => "initContainers",
            ContainerKind::Regular => "containers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            ContainerKind::Init => "init container",
            ContainerKind::Regular => "container",
            ContainerKind::Ephemeral => "ephemeral container",
        }
    }
}

/// One container of a pod template.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    pub kind: ContainerKind,
    pub index: usize,
    pub node: &'a Node,
}

impl<'a> Container<'a> {
    pub fn name(&self) -> &'a str {
        self.node.str_at(&["name"]).unwrap_or("<unnamed>")
    }

    pub fn image(&self) -> Option<&'a str> {
        self.node.str_at(&["image"])
    }

    /// `container "x"`, `init container "y"`.
    pub fn describe(&self) -> String {
        format!("{} \"{}\"", self.kind.describe(), self.name())
    }

    /// Path from the pod spec's parent (the pod/template node) to this container.
    pub fn path(&self) -> [Seg<'static>; 3] {
        [
            Seg::Key("spec"),
            Seg::Key(self.kind.field()),
            Seg::Index(self.index),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, load};

    #[test]
    fn lists_are_flattened_and_templates_found() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: batch/v1\n  kind: CronJob\n  metadata: {name: c, namespace: ops}\n  spec:\n    jobTemplate:\n      spec:\n        template:\n          spec:\n            initContainers: [{name: i, image: busybox}]\n            containers: [{name: a, image: x}]\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: cm}\n";
        let loaded = load(text, Limits::default());
        let objs: Vec<_> = loaded.documents.iter().flat_map(objects).collect();
        assert_eq!(
            objs.iter().map(|o| o.kind).collect::<Vec<_>>(),
            ["CronJob", "ConfigMap"]
        );
        let w = objs
            .iter()
            .find_map(|o| Workload::from_object(*o))
            .map(|w| {
                w.containers()
                    .iter()
                    .map(|c| c.describe())
                    .collect::<Vec<_>>()
            });
        assert_eq!(
            w,
            Some(vec![
                "init container \"i\"".to_owned(),
                "container \"a\"".to_owned()
            ])
        );
        assert_eq!(objs[0].subject(), "CronJob ops/c");
    }

    #[test]
    fn a_typed_lists_items_take_its_kind() {
        // as the API serves a PodList: items without kind and apiVersion
        let text = "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a, namespace: x}\n  spec:\n    containers: [{name: c, image: i}]\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n  spec: {containers: []}\n";
        let loaded = load(text, Limits::default());
        let objs: Vec<_> = loaded.documents.iter().flat_map(objects).collect();
        let seen: Vec<_> = objs
            .iter()
            .map(|o| (o.kind, o.api_version, o.name))
            .collect();
        assert_eq!(seen, [("Pod", "v1", "a"), ("Pod", "v1", "b")]);
        assert!(Workload::from_object(objs[0]).is_some());
    }
}
