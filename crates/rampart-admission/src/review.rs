//! The `admission.k8s.io/v1` AdmissionReview protocol, as kube-apiserver sends and expects it,
//! and the seam between the server and the decision engine.
//!
//! References: <https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/>
//! and the Go types in `k8s.io/api/admission/v1`.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The only API version rampart answers (v1beta1 was removed in Kubernetes 1.22).
pub const API_VERSION: &str = "admission.k8s.io/v1";
/// The kind of both the request and the response envelope.
pub const KIND: &str = "AdmissionReview";

/// The envelope of a request or a response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    /// Must be [`API_VERSION`].
    pub api_version: String,
    /// Must be [`KIND`].
    pub kind: String,
    /// Present in requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<AdmissionRequest>,
    /// Present in responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<AdmissionResponse>,
}

/// Group, version and kind of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVersionKind {
    /// Empty for the core group.
    #[serde(default)]
    pub group: String,
    /// E.g. `v1`.
    #[serde(default)]
    pub version: String,
    /// E.g. `Deployment`.
    #[serde(default)]
    pub kind: String,
}

/// Group, version and resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVersionResource {
    /// Empty for the core group.
    #[serde(default)]
    pub group: String,
    /// E.g. `v1`.
    #[serde(default)]
    pub version: String,
    /// E.g. `deployments`.
    #[serde(default)]
    pub resource: String,
}

/// Who asks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// E.g. `system:serviceaccount:kube-system:replicaset-controller`.
    #[serde(default)]
    pub username: String,
    /// The user's uid.
    #[serde(default)]
    pub uid: String,
    /// The user's groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Extra attributes set by the authenticator.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The operation under review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// A new object.
    Create,
    /// A change to an existing object (`oldObject` is set).
    Update,
    /// A deletion (`object` is null).
    Delete,
    /// A `CONNECT` (exec, attach, port-forward...).
    Connect,
}

/// One admission request. Fields follow `k8s.io/api/admission/v1.AdmissionRequest`; `object`
/// and `oldObject` stay raw JSON, since the gates read only parts of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    /// Echoed in the response; kube-apiserver matches on it.
    pub uid: String,
    /// The kind of `object` as sent.
    pub kind: GroupVersionKind,
    /// The resource being changed.
    pub resource: GroupVersionResource,
    /// E.g. `ephemeralcontainers` or `status`; empty for the main resource.
    #[serde(default)]
    pub sub_resource: String,
    /// The kind originally requested (may differ when the apiserver converted versions).
    #[serde(default)]
    pub request_kind: Option<GroupVersionKind>,
    /// The resource originally requested.
    #[serde(default)]
    pub request_resource: Option<GroupVersionResource>,
    /// The object's name; may be empty on CREATE with `generateName`.
    #[serde(default)]
    pub name: String,
    /// The namespace; empty for cluster-scoped objects.
    #[serde(default)]
    pub namespace: String,
    /// What is done.
    pub operation: Operation,
    /// Who does it.
    #[serde(default)]
    pub user_info: UserInfo,
    /// The new object (null on DELETE).
    #[serde(default)]
    pub object: Value,
    /// The old object (UPDATE, DELETE).
    #[serde(default)]
    pub old_object: Value,
    /// When true the change is not persisted: the webhook must have no side effects.
    #[serde(default)]
    pub dry_run: bool,
    /// CreateOptions / UpdateOptions / DeleteOptions.
    #[serde(default)]
    pub options: Value,
}

/// The status of a denial (a subset of `metav1.Status`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// HTTP-like code shown to the user, 403 for a policy denial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// The human message shown by kubectl.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// A machine reason (e.g. `Forbidden`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// One admission response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// The request's uid.
    pub uid: String,
    /// The verdict.
    pub allowed: bool,
    /// Why it was denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// `JSONPatch` when `patch` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    /// Base64 of an RFC 6902 JSON Patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Shown to the client (kubectl prints them); at most 120 characters each is advised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Recorded in the apiserver's audit log under `<webhook name>/<key>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<String, String>,
}

impl AdmissionResponse {
    /// An allow.
    pub fn allow(uid: &str) -> Self {
        AdmissionResponse {
            uid: uid.to_owned(),
            allowed: true,
            ..Default::default()
        }
    }

    /// A denial with code 403 and a message for the user.
    pub fn deny(uid: &str, message: impl Into<String>) -> Self {
        AdmissionResponse {
            uid: uid.to_owned(),
            allowed: false,
            status: Some(Status {
                code: Some(403),
                message: message.into(),
                reason: "Forbidden".to_owned(),
            }),
            ..Default::default()
        }
    }

    /// Sets a JSON Patch (RFC 6902 operations); an empty list sets nothing.
    pub fn with_patch(mut self, operations: &[Value]) -> Self {
        if !operations.is_empty() {
            let bytes = serde_json::to_vec(operations).unwrap_or_default();
            self.patch = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
            self.patch_type = Some("JSONPatch".to_owned());
        }
        self
    }

    /// Wraps the response in its envelope.
    pub fn into_review(self) -> AdmissionReview {
        AdmissionReview {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            request: None,
            response: Some(self),
        }
    }
}

/// Which endpoint was called: validating or mutating, and the optional profile name taken from
/// the URL path (`/validate/<profile>`), which the generated webhook configurations use to pass
/// namespace-label selection (done by kube-apiserver's `namespaceSelector`) to rampart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/validate[/<profile>]`
    Validate {
        /// The profile named in the path, if any.
        profile: Option<String>,
    },
    /// `/mutate[/<profile>]`
    Mutate {
        /// The profile named in the path, if any.
        profile: Option<String>,
    },
}

/// What one gate concluded, for metrics and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateOutcome {
    /// The gate or rule id (e.g. `pss`, `registry`, `signature`).
    pub gate: String,
    /// `allow`, `deny`, `warn`, `audit`, `exempt`, `error`.
    pub outcome: &'static str,
    /// A human explanation; empty when allowed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The gate's mode (`enforce`, `warn`, `audit`) when it ran from a profile: what tells a
    /// pass in enforce mode (coverage, docs/metrics.md) from one that enforced nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
}

/// A decision: the response for kube-apiserver and the per-gate outcomes behind it.
#[derive(Debug, Clone)]
pub struct Decision {
    /// What is sent back.
    pub response: AdmissionResponse,
    /// Why (one entry per gate that ran).
    pub gates: Vec<GateOutcome>,
    /// The profile that decided (named by the URL, chosen by a namespace rule, or the
    /// default); `None` when no profile applied. `/metrics` labels requests with it.
    pub profile: Option<String>,
}

/// The decision engine as the server sees it. Implementations are synchronous (they may call a
/// registry); the server runs them on worker threads and enforces the deadline.
pub trait Reviewer: Send + Sync + 'static {
    /// Decides one request.
    fn review(&self, endpoint: &Endpoint, request: &AdmissionRequest) -> Decision;

    /// Decides one request only if that needs no blocking I/O (everything it reads is in
    /// memory), so the server can answer on its own thread without handing the request to a
    /// worker; `None` (the default) when it cannot, and [`Reviewer::review`] is called instead.
    fn review_now(&self, _endpoint: &Endpoint, _request: &AdmissionRequest) -> Option<Decision> {
        None
    }
}

/// One route the webhook configurations generate: kube-apiserver evaluates
/// `namespace_selector` (a Kubernetes `LabelSelector`, as JSON) against the namespace's labels
/// and sends matching requests to `/validate/<profile>` (and `/mutate/<profile>` when `mutate`).
/// This is how selection by namespace label reaches rampart without rampart reading namespaces
/// from the API server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    /// The profile name used in the URL path.
    pub profile: String,
    /// A `LabelSelector` (`matchLabels` / `matchExpressions`); `{}` matches every namespace.
    pub namespace_selector: Value,
    /// Whether the profile mutates (a MutatingWebhookConfiguration entry is generated).
    pub mutate: bool,
}
