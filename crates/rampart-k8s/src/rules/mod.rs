//! Kubernetes hardening rules. Each rule is a `static Rule` in the file that implements it;
//! [`rules`] lists them all.

use crate::objects::{Container, Object, Workload};
use crate::yaml::{Node, Pos, Seg};
use rampart_core::{
    Assessment, Finding, K8sObject, Layer, Location, RefKind, Reference, Rule, RuleTarget, Severity,
};
use std::collections::HashMap;

mod admission;
mod images;
mod monitoring;
pub mod network;
mod pod;
mod pss;
mod rbac;
pub mod sandbox;

pub use pss::PssOptions;

/// Every Kubernetes rule, in id order.
pub fn rules() -> Vec<&'static Rule> {
    let mut all: Vec<&'static Rule> = Vec::new();
    all.extend(pss::RULES.iter());
    all.extend_from_slice(pod::RULES);
    all.extend_from_slice(images::RULES);
    all.extend_from_slice(network::RULES);
    all.extend_from_slice(rbac::RULES);
    all.extend_from_slice(admission::RULES);
    all.extend_from_slice(monitoring::RULES);
    all.extend_from_slice(sandbox::RULES);
    all.sort_by_key(|r| r.id);
    all
}

/// An object and the file it came from.
#[derive(Debug, Clone, Copy)]
pub struct Located<'a> {
    pub file: &'a str,
    pub object: Object<'a>,
}

/// Everything the rules see: all objects of all files of a scan, since some controls span files
/// (a NetworkPolicy selects pods defined elsewhere, a Namespace carries the labels of its pods).
/// Indexed once, so per-workload lookups stay constant-time on hostile, huge inputs.
#[derive(Debug, Default)]
pub struct Inventory<'a> {
    pub objects: Vec<Located<'a>>,
    namespaces: HashMap<&'a str, usize>,
    service_accounts: HashMap<(&'a str, &'a str), usize>,
    policies: HashMap<&'a str, Vec<usize>>,
    runtime_classes: std::collections::BTreeMap<&'a str, usize>,
    /// Workloads (by subject, `Deployment shop/web`) that must run in a sandbox for a reason
    /// the manifests do not carry: their image's intent asks for a runtime class (rampart-scan
    /// fills it). The value says why.
    pub sandbox_required: HashMap<String, String>,
}

impl<'a> Inventory<'a> {
    pub fn new(objects: Vec<Located<'a>>) -> Self {
        let mut inv = Inventory {
            objects,
            ..Inventory::default()
        };
        for (i, o) in inv.objects.iter().enumerate() {
            let ns = o.object.effective_namespace();
            match o.object.kind {
                "Namespace" => {
                    inv.namespaces.entry(o.object.name).or_insert(i);
                }
                "ServiceAccount" => {
                    inv.service_accounts.entry((ns, o.object.name)).or_insert(i);
                }
                "NetworkPolicy" => inv.policies.entry(ns).or_default().push(i),
                "RuntimeClass" => {
                    inv.runtime_classes.entry(o.object.name).or_insert(i);
                }
                _ => {}
            }
        }
        inv
    }

    pub fn of_kind<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = &'s Located<'a>> + 's {
        self.objects.iter().filter(move |o| o.object.kind == kind)
    }

    pub fn workloads(&self) -> impl Iterator<Item = (&'a str, Workload<'a>)> + '_ {
        self.objects
            .iter()
            .filter_map(|o| Workload::from_object(o.object).map(|w| (o.file, w)))
    }

    /// The Namespace object named `name`, if the scan has one.
    pub fn namespace(&self, name: &str) -> Option<&Located<'a>> {
        self.namespaces.get(name).and_then(|i| self.objects.get(*i))
    }

    /// The ServiceAccount `namespace/name`, if the scan has one.
    pub fn service_account(&self, namespace: &str, name: &str) -> Option<&Located<'a>> {
        self.service_accounts
            .get(&(namespace, name))
            .and_then(|i| self.objects.get(*i))
    }

    /// The RuntimeClass named `name`, if the scan has one.
    pub fn runtime_class(&self, name: &str) -> Option<&Located<'a>> {
        self.runtime_classes
            .get(name)
            .and_then(|i| self.objects.get(*i))
    }

    /// Whether the scan defines any RuntimeClass.
    pub fn has_runtime_classes(&self) -> bool {
        !self.runtime_classes.is_empty()
    }

    /// The names of the RuntimeClasses of the scan, sorted.
    pub fn runtime_class_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.runtime_classes.keys().copied()
    }

    /// The NetworkPolicies of a namespace.
    pub fn network_policies(&self, namespace: &str) -> impl Iterator<Item = &Located<'a>> + '_ {
        self.policies
            .get(namespace)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|i| self.objects.get(*i))
    }
}

/// Kinds some rule reads besides workloads: the objects that qualify workloads across files.
pub fn is_relevant_kind(kind: &str) -> bool {
    crate::objects::template_path(kind).is_some()
        || matches!(
            kind,
            "Namespace"
                | "ConfigMap"
                | "ServiceAccount"
                | "NetworkPolicy"
                | "Role"
                | "ClusterRole"
                | "RoleBinding"
                | "ClusterRoleBinding"
                | "RuntimeClass"
        )
}

/// Objects some rule reads: workloads of any kind (see [`crate::objects::is_workload`]) and the
/// kinds of [`is_relevant_kind`].
pub fn is_relevant(object: &Object<'_>) -> bool {
    is_relevant_kind(object.kind) || crate::objects::is_workload(object)
}

/// Evaluates every rule on the inventory.
pub fn evaluate(inventory: &Inventory<'_>, pss: &PssOptions) -> Assessment {
    let mut out = Assessment::new();
    for (file, workload) in inventory.workloads() {
        let mut ctx = Ctx::new(file, workload.object, &mut out);
        pss::check(&mut ctx, &workload, pss);
        pod::check(&mut ctx, &workload, inventory);
        sandbox::check(&mut ctx, &workload, inventory);
        images::check(&mut ctx, &workload);
    }
    network::check(inventory, &mut out);
    rbac::check(inventory, &mut out);
    admission::check(inventory, &mut out);
    monitoring::check(inventory, &mut out);
    sandbox::check_classes(inventory, &mut out);
    out
}

/// Where rules write: the assessment, with the file and object at hand.
pub struct Ctx<'a, 'o> {
    pub file: &'a str,
    pub object: Object<'a>,
    pub subject: String,
    pub out: &'o mut Assessment,
}

impl<'a, 'o> Ctx<'a, 'o> {
    pub fn new(file: &'a str, object: Object<'a>, out: &'o mut Assessment) -> Self {
        Ctx {
            file,
            object,
            subject: object.subject(),
            out,
        }
    }

    pub fn assessed(&mut self, rule: &'static Rule) {
        self.out.assessed(rule, &self.subject, self.file);
    }

    /// A location at `pos` in this object, optionally naming a container.
    pub fn location(&self, pos: Pos, container: Option<&str>) -> Location {
        location(self.file, &self.object, pos, container)
    }

    pub fn report(
        &mut self,
        rule: &'static Rule,
        pos: Pos,
        container: Option<&str>,
        message: String,
    ) {
        self.report_with(rule, rule.severity, pos, container, message);
    }

    pub fn report_with(
        &mut self,
        rule: &'static Rule,
        severity: Severity,
        pos: Pos,
        container: Option<&str>,
        message: String,
    ) {
        let finding = Finding::new(
            rule,
            self.subject.clone(),
            self.location(pos, container),
            message,
        )
        .with_severity(severity);
        self.out.push(finding);
    }

    /// Reports about a container, at `field` inside it (or the container itself when missing).
    pub fn report_container(
        &mut self,
        rule: &'static Rule,
        pod: &Node,
        container: &Container<'_>,
        field: &[Seg<'_>],
        message: String,
    ) {
        let mut path: Vec<Seg<'_>> = container.path().to_vec();
        path.extend_from_slice(field);
        let pos = pod.pos_of(&path);
        self.report(rule, pos, Some(container.name()), message);
    }
}

pub fn location(file: &str, object: &Object<'_>, pos: Pos, container: Option<&str>) -> Location {
    Location {
        file: file.to_owned(),
        line: pos.line,
        column: pos.column,
        object: Some(K8sObject {
            kind: object.kind.to_owned(),
            namespace: object.namespace.map(str::to_owned),
            name: object.name.to_owned(),
            container: container.map(str::to_owned),
        }),
        stage: None,
    }
}

/// An integer scalar (`runAsUser: 1000`); `None` for anything else, quoted numbers included, as
/// the API server would reject them.
pub(crate) fn as_int(node: &Node) -> Option<i64> {
    match node.value {
        crate::yaml::Value::Int(i) => Some(i),
        _ => None,
    }
}

/// Shorthand for rule declarations.
pub(crate) const fn rule(
    id: &'static str,
    name: &'static str,
    title: &'static str,
    severity: Severity,
    layer: Layer,
    text: [&'static str; 4],
    references: &'static [Reference],
) -> Rule {
    let [rationale, remediation, bad_example, good_example] = text;
    Rule {
        id,
        name,
        title,
        severity,
        layer,
        target: RuleTarget::Kubernetes,
        rationale,
        remediation,
        bad_example,
        good_example,
        references,
    }
}

pub(crate) const PSS_URL: &str =
    "https://kubernetes.io/docs/concepts/security/pod-security-standards/";
pub(crate) const NSA_URL: &str = "https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF";
pub(crate) const CIS_K8S_URL: &str = "https://www.cisecurity.org/benchmark/kubernetes";

pub(crate) const fn pss_ref(control: &'static str) -> Reference {
    Reference::new(RefKind::PodSecurityStandard, control, PSS_URL)
}
pub(crate) const fn nsa(section: &'static str) -> Reference {
    Reference::new(RefKind::NsaCisa, section, NSA_URL)
}
pub(crate) const fn cis(item: &'static str) -> Reference {
    Reference::new(RefKind::CisKubernetes, item, CIS_K8S_URL)
}
