//! The analysis a worker runs on one image: the image pulled from its registry by digest
//! (every blob verified while it streams), inspected once (rampart-inspect), assessed as
//! `rampart scan --image` assesses it (the image layer's rules; vulnerabilities when the
//! worker has an advisory database), and its report kept.

use std::path::PathBuf;
use std::sync::Arc;

use rampart_image::{Limits, Platform};
use rampart_inspect::InspectOptions;
use rampart_registry::{Authorization, Client, ClientOptions, Reference};
use rampart_scan::ScanOptions;
use rampart_scan::vulns::{Required, VulnScan};

use crate::inventory::Analysis;
use crate::queue::Access;
use crate::worker::Analyser;

/// Bumped when what the fleet stores for an image changes meaning (its report, its packages):
/// every image is analysed again by the next worker that meets it.
pub const FLEET_EPOCH: u32 = 1;

/// The analysis version stored with each image: rampart's version and the epochs.
pub fn analysis_version() -> String {
    format!("rampart {} fleet {FLEET_EPOCH}", env!("CARGO_PKG_VERSION"))
}

/// Analyses images from registries.
pub struct RegistryAnalyser {
    client: Arc<Client>,
    /// the options a job with its own registry access starts from (its credential replaces
    /// the worker's, its URL's scheme decides HTTP or HTTPS)
    options: ClientOptions,
    platform: Option<Platform>,
    limits: Limits,
    secrets: bool,
    /// the advisory database the worker matches with (none: packages only, matched by
    /// `rampart inventory rescan` from the store)
    db: Option<PathBuf>,
    /// what was learnt from each layer, by diff id (docs/layer-cache.md): a base shared by a
    /// thousand images is read once for all of them
    cache: Option<rampart_layercache::LayerCache>,
}

impl RegistryAnalyser {
    /// A client for every registry, with these options.
    pub fn new(
        options: &ClientOptions,
        platform: Option<Platform>,
        db: Option<PathBuf>,
    ) -> Result<Self, Box<rampart_registry::RegistryError>> {
        Ok(Self {
            client: Arc::new(Client::new(options).map_err(Box::new)?),
            options: options.clone(),
            platform,
            limits: Limits::default(),
            secrets: true,
            db,
            cache: None,
        })
    }

    /// Reads layers through this layer cache (a shared PostgreSQL one for a fleet).
    /// A worker meets the same base in many images: its records stay decoded in the process.
    pub fn with_layer_cache(mut self, cache: Option<rampart_layercache::LayerCache>) -> Self {
        self.cache = cache.map(rampart_layercache::LayerCache::keeping_decoded);
        self
    }

    /// Whether files are searched for secrets (on by default, as `rampart scan`).
    pub fn with_secrets(mut self, secrets: bool) -> Self {
        self.secrets = secrets;
        self
    }
}

impl RegistryAnalyser {
    /// A client for one job's own access: its credential only (no Docker config, no
    /// credential of the worker's), over the scheme of its registry's URL.
    fn client_for(&self, access: &Access) -> Result<Arc<Client>, String> {
        let authorization = access
            .authorization
            .as_ref()
            .map(|a| Authorization::parse(a.expose()))
            .transpose()
            .map_err(|e| format!("the job's registry authorization: {e}"))?;
        let options = ClientOptions {
            insecure: access.plain_http,
            ..self.options.clone()
        }
        .with_authorization(authorization.as_ref());
        Client::new(&options)
            .map(Arc::new)
            .map_err(|e| format!("the job's registry client: {e}"))
    }

    fn analyse_on(
        &self,
        client: &Arc<Client>,
        reference: &str,
        digest: &str,
    ) -> Result<Analysis, String> {
        let r = parse(reference)?;
        let d = rampart_image::Digest::parse(digest)
            .map_err(|e| format!("{reference}: the registry's digest `{digest}`: {e}"))?;
        let pinned = r.with_digest(d);
        let configs = self
            .cache
            .as_ref()
            .map(|c| c as &dyn rampart_image::LayerStore);
        let image = client
            .open_image_remembering(&pinned, self.platform.as_ref(), &self.limits, configs)
            .map_err(|e| format!("pulling {pinned}: {e}"))?;
        let today = jiff::Zoned::now().date();
        let inspect = InspectOptions {
            secrets: self.secrets,
            today,
        };
        let inspection = match &self.cache {
            Some(cache) => rampart_inspect::inspect_cached(&image, reference, &inspect, cache)
                .map(|(inspection, _)| inspection),
            None => rampart_inspect::inspect(&image, reference, &inspect),
        }
        .map_err(|e| format!("reading {pinned}: {e}"))?;
        let mut opts = ScanOptions::new(rampart_scan::config::Config::default(), today);
        opts.vulns = self.db.as_ref().map(|db| VulnScan {
            db: db.clone(),
            inventory: None,
            options: rampart_vuln::assess::Options::default(),
            temporary: false,
            // packages of an ecosystem the database does not cover leave the image layer
            // "partly assessed" in the report (fail closed), without failing the job
            required: Required::Nothing,
        });
        let (report, inspected) =
            rampart_scan::scan_all_keeping(&[], vec![Ok(inspection)], Vec::new(), &opts);
        let (distro, packages) = inspected
            .into_iter()
            .next()
            .map(|i| (i.distro, i.packages))
            .unwrap_or_default();
        if let Some(e) = report.errors.first() {
            // a database that cannot be read is an attempt that failed, not an image without
            // vulnerabilities
            return Err(format!("assessing {pinned}: {}", e.message));
        }
        Ok(Analysis {
            digest: digest.to_owned(),
            name: reference.to_owned(),
            analysis: analysis_version(),
            distro,
            packages,
            vulnerabilities: report.vulnerabilities.clone(),
            matched: self.db.is_some(),
            summary: summary(&report),
            report: rampart_report::json(&report),
        })
    }
}

fn parse(reference: &str) -> Result<Reference, String> {
    Reference::parse(reference).map_err(|e| format!("`{reference}` is not an image reference: {e}"))
}

/// The layer states and finding counts of a report, for listings.
fn summary(report: &rampart_core::Report) -> serde_json::Value {
    let layers: serde_json::Map<String, serde_json::Value> = report
        .layers
        .iter()
        .filter(|l| l.assessed > 0)
        .map(|l| {
            (
                serde_json::to_value(l.layer)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                serde_json::to_value(l.state).unwrap_or_default(),
            )
        })
        .collect();
    let mut severities: std::collections::BTreeMap<String, usize> = Default::default();
    for f in &report.findings {
        *severities
            .entry(f.severity.as_str().to_owned())
            .or_default() += 1;
    }
    serde_json::json!({
        "layers": layers,
        "findings": severities,
        "vulnerabilities": report.vulnerabilities.len(),
        "errors": report.errors.len(),
    })
}

impl Analyser for RegistryAnalyser {
    fn version(&self) -> String {
        analysis_version()
    }

    fn resolve(&self, reference: &str) -> Result<String, String> {
        let r = parse(reference)?;
        if let Some(d) = r.digest() {
            return Ok(d.to_string());
        }
        self.client
            .resolve(&r)
            .map(|d| d.digest)
            .map_err(|e| format!("resolving {reference}: {e}"))
    }

    fn analyse(&self, reference: &str, digest: &str) -> Result<Analysis, String> {
        self.analyse_on(&self.client, reference, digest)
    }

    fn resolve_with(&self, reference: &str, access: &Access) -> Result<String, String> {
        let r = parse(reference)?;
        if let Some(d) = r.digest() {
            return Ok(d.to_string());
        }
        self.client_for(access)?
            .resolve(&r)
            .map(|d| d.digest)
            .map_err(|e| format!("resolving {reference}: {e}"))
    }

    fn analyse_with(
        &self,
        reference: &str,
        digest: &str,
        access: &Access,
    ) -> Result<Analysis, String> {
        self.analyse_on(&self.client_for(access)?, reference, digest)
    }
}
