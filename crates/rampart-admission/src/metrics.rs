//! Prometheus metrics of the webhook, served on `/metrics` in the OpenMetrics text format.
//!
//! Every label value comes from a small closed set (gate ids and outcomes chosen by the engine,
//! endpoint kinds, causes) or is capped ([`MAX_PROFILES`]), so a caller cannot grow the
//! registry without bound by inventing URL paths.

use std::collections::BTreeSet;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::review::GateOutcome;

/// At most this many distinct profile names appear as label values; later ones count as `other`.
pub const MAX_PROFILES: usize = 64;

/// Latency buckets in seconds: fine below a millisecond, up to one second.
const LATENCY_BUCKETS: [f64; 20] = [
    0.000_1, 0.000_2, 0.000_3, 0.000_5, 0.000_75, 0.001, 0.001_5, 0.002, 0.003, 0.005, 0.007_5,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    profile: String,
    allowed: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GateLabels {
    gate: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: u16,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The webhook's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    decisions: Family<GateLabels, Counter>,
    failures: Family<CauseLabels, Counter>,
    rejected: Family<CodeLabels, Counter>,
    latency: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    audit_dropped: Counter,
    profiles: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates the metrics, registered under the `rampart_admission` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("rampart_admission");
        let requests = Family::<RequestLabels, Counter>::default();
        let decisions = Family::<GateLabels, Counter>::default();
        let failures = Family::<CauseLabels, Counter>::default();
        let rejected = Family::<CodeLabels, Counter>::default();
        let latency = Family::<EndpointLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let in_flight = Gauge::default();
        let audit_dropped = Counter::default();
        registry.register(
            "requests",
            "Admission reviews answered, by endpoint, profile and verdict",
            requests.clone(),
        );
        registry.register(
            "decisions",
            "Gate outcomes, by gate and outcome",
            decisions.clone(),
        );
        registry.register(
            "failure_mode_responses",
            "Answers given by the failure mode, by cause (deadline, overload, panic, malformed)",
            failures.clone(),
        );
        registry.register(
            "rejected_requests",
            "HTTP requests rejected before a decision, by status code",
            rejected.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from receiving a review to answering it, by endpoint",
            latency.clone(),
        );
        registry.register(
            "decisions_in_flight",
            "Decisions running on worker threads",
            in_flight.clone(),
        );
        registry.register(
            "audit_records_dropped",
            "Audit records dropped because the audit writer fell behind",
            audit_dropped.clone(),
        );
        Metrics {
            registry,
            requests,
            decisions,
            failures,
            rejected,
            latency,
            in_flight,
            audit_dropped,
            profiles: Mutex::new(BTreeSet::new()),
        }
    }

    fn profile_label(&self, profile: Option<&str>) -> String {
        let Some(profile) = profile else {
            return String::new();
        };
        let Ok(mut seen) = self.profiles.lock() else {
            return "other".to_owned();
        };
        if seen.contains(profile) {
            return profile.to_owned();
        }
        if seen.len() < MAX_PROFILES {
            seen.insert(profile.to_owned());
            return profile.to_owned();
        }
        "other".to_owned()
    }

    /// Counts one answered review and its latency.
    pub fn observe_request(
        &self,
        endpoint: &'static str,
        profile: Option<&str>,
        allowed: bool,
        seconds: f64,
    ) {
        let labels = RequestLabels {
            endpoint,
            profile: self.profile_label(profile),
            allowed: if allowed { "true" } else { "false" },
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&EndpointLabels { endpoint })
            .observe(seconds);
    }

    /// Counts the gate outcomes behind one decision.
    pub fn observe_gates(&self, gates: &[GateOutcome]) {
        for gate in gates {
            let labels = GateLabels {
                gate: gate.gate.clone(),
                outcome: gate.outcome.to_owned(),
            };
            self.decisions.get_or_create(&labels).inc();
        }
    }

    /// Counts one failure-mode answer.
    pub fn observe_failure(&self, cause: &'static str) {
        self.failures.get_or_create(&CauseLabels { cause }).inc();
    }

    /// Counts one request rejected with an HTTP error status.
    pub fn observe_rejected(&self, code: u16) {
        self.rejected.get_or_create(&CodeLabels { code }).inc();
    }

    /// Counts one audit record dropped.
    pub fn observe_audit_dropped(&self) {
        self.audit_dropped.inc();
    }

    /// The gauge of decisions running now.
    pub fn in_flight(&self) -> &Gauge {
        &self.in_flight
    }

    /// Renders every metric in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
