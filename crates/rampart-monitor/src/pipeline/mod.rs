//! The running monitor: kernel → ring buffer → process tree and container identity → Falco
//! rules (on several threads) → answers (alert, kill the process, kill the container) → sinks;
//! plus drift against the image, and the metrics of all of it.
//!
//! Threads: one reader (owns the sensor, the process table and the identity cache: everything
//! that must see events in kernel order), `threads` evaluators fed through a bounded queue (when
//! they fall behind the reader blocks, the kernel's ring buffer fills and the kernel counts what
//! it loses: loss is never silent), one sink thread, the metrics endpoint.

pub mod kinds;
pub mod proctable;
pub mod translate;

use crate::config::{Action, Format, Mode, MonitorConfig, RuleMatching};
use crate::drift::{DriftDetector, DriftEvent, ImageIndex};
use crate::identity::{ContainerInfo, ContainerResolver, Identity, ResolverConfig};
use crate::metrics::{Endpoint, Kind, Metrics};
use crate::sensor::{EventKind, Filter, HeldTask, RawEvent, Sensor, SensorConfig, Stats};
use crate::sink::{AlertLine, Sink, SinkStats, StreamSink, WebhookSink};
use rampart_falco::{Event, RuleSet};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Alerts whose queue-to-sink latency is kept for `/status`.
const LATENCY_SAMPLES: usize = 4096;

/// Events waiting for an evaluator.
pub const QUEUE: usize = 8192;

/// Events handed to an evaluator at once: the events of one ring-buffer poll, cut at this size.
/// One channel operation (and at most one thread wake-up) per batch instead of per event: with a
/// message per event, the evaluators' wake-ups and the queue's lock cost more than the rules
/// (docs/monitor-bench.md, "Pipeline fix").
pub const BATCH: usize = 256;

/// When events are few, the kernel wakes the reader once this much is pending (about 20
/// events), or at once for a held task. Waking is an interrupt and, in a VM, an IPI; a reader
/// woken every millisecond by its own timeout instead cost a busy two-core machine a context
/// switch on a core its work needed, a thousand times a second (docs/monitor-bench.md).
pub const WAKEUP_BYTES_QUIET: u32 = 4 << 10;
/// When a poll brings a full batch or more, wake-ups are batched by this much instead (about
/// 300 events), until polls bring few again.
pub const WAKEUP_BYTES_BUSY: u32 = 64 << 10;

/// How long a quiet batch below `WAKEUP_BYTES` may wait: the latency of a lone event.
pub const POLL_TIMEOUT: Duration = Duration::from_millis(4);

/// Why the monitor could not run.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A rules file does not load (every error, with file and position).
    #[error("the rules do not load:\n{0}")]
    Rules(String),
    #[error(transparent)]
    Sensor(#[from] crate::sensor::SensorError),
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    #[error(transparent)]
    Endpoint(#[from] crate::metrics::EndpointError),
    #[error("{path}: {cause}")]
    Output { path: String, cause: std::io::Error },
    #[error(transparent)]
    Enforce(#[from] crate::enforce::EnforceError),
}

/// What to run.
pub struct RunOptions {
    pub config: MonitorConfig,
    /// Rules files (name, text) in load order.
    pub rules: Vec<(String, String)>,
    pub duration: Option<Duration>,
    /// Set to stop (a signal handler, a test).
    pub stop: Arc<AtomicBool>,
    /// Where stream alerts go when `[output] file` is not set.
    pub stdout: Box<dyn Write + Send>,
    /// Notes for the operator (load warnings, what is not observed, the summary).
    pub notes: Box<dyn FnMut(&str) + Send>,
    /// Called once the sensor is attached (tests wait for it).
    pub ready: Option<Box<dyn FnOnce(ReadyInfo) + Send>>,
}

/// Facts known once the sensor runs.
#[derive(Debug, Clone)]
pub struct ReadyInfo {
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub load_time: Duration,
    pub filter: Filter,
}

/// The end-of-run account.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub events: u64,
    /// opens the kernel did not send: no loaded rule can match them
    pub opens_filtered: u64,
    pub alerts: u64,
    pub lost: u64,
    pub lost_by_kind: BTreeMap<String, u64>,
    pub actions: BTreeMap<String, u64>,
    pub sinks: Vec<SinkStats>,
    /// the intents enforced in the kernel (`[[enforce]]`), when configured
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce: Option<crate::enforce::EnforceCounts>,
}

/// One event for the evaluators.
struct Work {
    event: Event,
    container: Option<Arc<ContainerInfo>>,
    header: crate::sensor::Header,
    held: Option<HeldTask>,
    enqueued: Instant,
}

struct Shared {
    rules: RuleSet,
    config: MonitorConfig,
    /// Per rule index: the configured action.
    actions: Vec<Action>,
    metrics: Arc<Metrics>,
    alerts: SyncSender<AlertLine>,
    eval_ns: AtomicU64,
    evaluated: AtomicU64,
    alert_count: AtomicU64,
    action_counts: Mutex<BTreeMap<String, u64>>,
    latency_ns: Mutex<Vec<u64>>,
    drift: DriftDetector,
    /// Image indexes by every name a container may give its image (reference, digests).
    images: BTreeMap<String, Arc<ImageIndex>>,
    drift_action: Action,
    hostname: Arc<str>,
}

/// The rule name drift alerts carry (and `[[action]] rule` selects).
pub const DRIFT_RULE: &str = "Executable drift from the image";

/// Indexes the `[[image]]` sources of the configuration.
fn image_indexes(
    config: &MonitorConfig,
    notes: &mut dyn FnMut(&str),
) -> BTreeMap<String, Arc<ImageIndex>> {
    let mut out = BTreeMap::new();
    for img in &config.images {
        let limits = rampart_image::Limits::default();
        let built = rampart_image::Source::detect(&img.source, &limits)
            .map_err(|e| e.to_string())
            .and_then(|src| rampart_image::Image::open(&src, None).map_err(|e| e.to_string()))
            .and_then(|image| ImageIndex::build(&image).map_err(|e| e.to_string()));
        match built {
            Ok(index) => {
                let index = Arc::new(index);
                out.insert(img.reference.clone(), Arc::clone(&index));
                if let Some(d) = index.digest() {
                    out.insert(d.to_owned(), Arc::clone(&index));
                }
                notes(&format!(
                    "image {} indexed from {} ({} files)",
                    img.reference,
                    img.source.display(),
                    index.files.len()
                ));
            }
            Err(e) => notes(&format!(
                "warning: image {} ({}) could not be indexed, drift in its containers is judged only by changes after start: {e}",
                img.reference,
                img.source.display()
            )),
        }
    }
    out
}

/// The image index of a container: by its digest, then its reference.
fn index_for<'a>(
    images: &'a BTreeMap<String, Arc<ImageIndex>>,
    c: &ContainerInfo,
) -> Option<&'a ImageIndex> {
    c.image_digest
        .as_deref()
        .and_then(|d| images.get(d))
        .or_else(|| c.image.as_deref().and_then(|r| images.get(r)))
        .map(|i| &**i)
}

/// A drift alert in Falco's JSON shape (so consumers of Falco's alerts read it unchanged).
fn drift_alert(shared: &Shared, ev: &Event, d: &DriftEvent) -> (String, String) {
    let (why, expected, actual) = match &d.kind {
        crate::drift::DriftKind::NotInImage => ("not in the image".to_owned(), None, None),
        crate::drift::DriftKind::ContentDiffers { expected, actual } => (
            "content differs from the image".to_owned(),
            Some(expected.clone()),
            Some(actual.clone()),
        ),
        crate::drift::DriftKind::ModifiedAfterStart { evidence } => (
            format!("changed after the container started ({evidence})"),
            None,
            None,
        ),
    };
    let c = ev.container.as_ref();
    let time = rampart_falco::output::rfc3339(ev.time_ns);
    let tod = rampart_falco::output::time_of_day(ev.time_ns, true);
    let text = format!(
        "Executable not from the image ran in a container | drift={} file={} layer={} image={} image_digest={} process={} command={} parent={} container_id={} container_image={}",
        d.kind.name(),
        d.path,
        d.layer_text(),
        c.and_then(|c| c.image.clone())
            .unwrap_or_else(|| "<NA>".into()),
        d.image_digest.clone().unwrap_or_else(|| "<NA>".into()),
        ev.proc.name,
        ev.proc.cmdline(),
        ev.ancestors.first().map_or("<NA>", |p| p.name.as_str()),
        c.map_or("host", |c| c.id.as_str()),
        c.and_then(|c| c.image_repository.clone())
            .unwrap_or_else(|| "<NA>".into()),
    );
    let json = serde_json::json!({
        "hostname": &*shared.hostname,
        "output": format!("{tod}: Critical {text}"),
        "output_fields": {
            "container.id": c.map_or("host", |c| c.id.as_str()),
            "container.image.repository": c.and_then(|c| c.image_repository.clone()),
            "container.image.tag": c.and_then(|c| c.image_tag.clone()),
            "container.image.digest": d.image_digest,
            "proc.exepath": ev.proc.exepath,
            "proc.cmdline": ev.proc.cmdline(),
            "proc.pname": ev.ancestors.first().map(|p| p.name.clone()),
            "rampart.drift.kind": d.kind.name(),
            "rampart.drift.reason": why,
            "rampart.drift.path": d.path,
            "rampart.drift.layer": d.layer_text(),
            "rampart.drift.expected_sha256": expected,
            "rampart.drift.actual_sha256": actual,
            "rampart.drift.first_seen": rampart_falco::output::rfc3339(d.first_seen),
            "rampart.drift.last_seen": rampart_falco::output::rfc3339(d.last_seen),
            "rampart.drift.count": d.count,
        },
        "priority": "Critical",
        "rule": DRIFT_RULE,
        "source": "syscall",
        "tags": ["container", "drift", "maturity_rampart", "mitre_execution", "T1059"],
        "time": time,
    });
    (json.to_string(), format!("{tod}: Critical {text}"))
}

fn load_rules(
    files: &[(String, String)],
    notes: &mut dyn FnMut(&str),
) -> Result<RuleSet, MonitorError> {
    let refs = files.iter().map(|(n, t)| (n.as_str(), t.as_str()));
    match rampart_falco::load_files(refs) {
        Ok((rules, results)) => {
            for r in &results {
                for w in &r.warnings {
                    notes(&format!("warning: {w}"));
                }
            }
            Ok(rules)
        }
        Err(results) => {
            let text = results
                .iter()
                .flat_map(|r| r.errors.iter().map(|e| format!("  {e}")))
                .collect::<Vec<_>>()
                .join("\n");
            Err(MonitorError::Rules(text))
        }
    }
}

/// The in-kernel filter the rules and the configuration need.
pub fn filter_for(
    rules: &RuleSet,
    config: &MonitorConfig,
    actions: &[Action],
) -> (Filter, Vec<String>) {
    let types = rules.event_types();
    let (mut enabled, unobserved) = if types.all() {
        (kinds::ALL_OBSERVED.to_vec(), Vec::new())
    } else {
        kinds::kinds_of(types.types.iter().map(String::as_str))
    };
    // The process tree and drift need these whatever the rules say.
    for k in kinds::ALWAYS {
        if !enabled.contains(k) {
            enabled.push(*k);
        }
    }
    let mut held = Vec::new();
    if config.mode == Mode::Enforce {
        for (rule, action) in rules.rules().iter().zip(actions) {
            if !rule.enabled || *action == Action::Alert {
                continue;
            }
            let ks = match rule.event_types() {
                Some(t) => kinds::kinds_of(t.iter().map(String::as_str)).0,
                None => kinds::ALL_OBSERVED.to_vec(),
            };
            for k in ks {
                if !held.contains(&k) && kinds::HOLDABLE.contains(&k) {
                    held.push(k);
                }
            }
        }
    }
    // An intent enforced in the kernel: a container's first exec waits (held) until its guards
    // are in place, in audit mode too (the counts must cover the whole run).
    if !config.enforce.is_empty() && !held.contains(&EventKind::Exec) {
        held.push(EventKind::Exec);
    }
    let host = config
        .include_host
        .unwrap_or_else(|| rules.needs_host_events());
    (
        Filter {
            enabled,
            held,
            host,
            hold_cgroups: None,
            open: rampart_falco::prefilter::OpenFilter::for_rules(rules),
            symlinks: rampart_falco::prefilter::TargetFilter::for_rules(rules),
        },
        unobserved,
    )
}

/// Runs until `stop` is set, the duration passes, or the sensor fails.
pub fn run(mut opts: RunOptions) -> Result<Summary, MonitorError> {
    let notes = &mut opts.notes;
    let mut rules = load_rules(&opts.rules, &mut **notes)?;
    let hostname: Arc<str> = Arc::from(
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default(),
    );
    rules.set_hostname(&hostname);
    let extra = opts
        .config
        .append_output
        .clone()
        .unwrap_or_else(|| rampart_falco::ruleset::CONTAINER_OUTPUT.to_owned());
    if !extra.trim().is_empty() {
        rules
            .append_output(&extra)
            .map_err(|e| MonitorError::Rules(format!("  append-output: {e}")))?;
    }
    let config = opts.config.clone();
    let actions: Vec<Action> = rules
        .rules()
        .iter()
        .map(|r| config.action_for(&r.name, r.priority.name(), &r.tags))
        .collect();
    let (filter, unobserved) = filter_for(&rules, &config, &actions);
    if filter.enabled.contains(&EventKind::Open) {
        notes(&match &filter.open {
            rampart_falco::prefilter::OpenFilter::All { reason } => {
                format!("opens: all sent to user space ({reason})")
            }
            rampart_falco::prefilter::OpenFilter::Clauses(c) => format!(
                "opens: {} kernel filter clause(s); the rest are dropped, counted",
                c.len()
            ),
        });
    }
    if !unobserved.is_empty() {
        notes(&format!(
            "warning: the sensor does not observe event types {}: rules that need only them never fire",
            unobserved.join(", ")
        ));
    }
    let not_evaluable: Vec<&str> = rules
        .rules()
        .iter()
        .filter(|r| r.enabled && !r.unsupported_fields.is_empty())
        .map(|r| r.name.as_str())
        .collect();
    if !not_evaluable.is_empty() {
        notes(&format!(
            "warning: {} rule(s) use fields rampart does not provide and are not evaluated: {}",
            not_evaluable.len(),
            not_evaluable.join("; ")
        ));
    }
    let rules_loaded = rules.rules().iter().filter(|r| r.enabled).count();
    let not_evaluable_n = not_evaluable.len();

    // Sinks.
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    let format = config.output.format;
    match config.output.file.as_deref() {
        Some(p) if p.as_os_str() != "-" => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|cause| MonitorError::Output {
                    path: p.display().to_string(),
                    cause,
                })?;
            sinks.push(Box::new(StreamSink::new(
                p.display().to_string(),
                format,
                Box::new(f),
            )));
        }
        _ => {
            let out = std::mem::replace(&mut opts.stdout, Box::new(std::io::sink()));
            sinks.push(Box::new(StreamSink::new("stdout", format, out)));
        }
    }
    for w in &config.webhook {
        sinks.push(Box::new(WebhookSink::start(w)));
    }

    let metrics = Metrics::new();
    describe(&metrics);
    let (alert_tx, alert_rx) = std::sync::mpsc::sync_channel::<AlertLine>(4096);
    let sink_stats: Arc<Mutex<Vec<SinkStats>>> = Arc::default();
    let sink_thread = {
        let metrics = Arc::clone(&metrics);
        let sink_stats = Arc::clone(&sink_stats);
        std::thread::Builder::new()
            .name("rampart-sinks".into())
            .spawn(move || sink_loop(sinks, &alert_rx, &metrics, &sink_stats))
            .map_err(|cause| MonitorError::Output {
                path: "sink thread".into(),
                cause,
            })?
    };

    let shared = Arc::new(Shared {
        rules,
        config: config.clone(),
        actions,
        metrics: Arc::clone(&metrics),
        alerts: alert_tx,
        eval_ns: AtomicU64::new(0),
        evaluated: AtomicU64::new(0),
        alert_count: AtomicU64::new(0),
        action_counts: Mutex::default(),
        latency_ns: Mutex::default(),
        drift: DriftDetector::new(),
        images: image_indexes(&config, &mut **notes),
        drift_action: config.action_for(DRIFT_RULE, "CRITICAL", &["drift".to_owned()]),
        hostname: Arc::clone(&hostname),
    });

    // The intents enforced in the kernel: their denials are alerts like the rules'.
    let enforcer = {
        let shared = Arc::clone(&shared);
        crate::enforce::Enforcer::start(
            &config,
            Arc::clone(&hostname),
            Arc::new(move |a: crate::enforce::EnforceAlert| {
                emit(&shared, &a.rule, a.priority, a.json, a.text, Instant::now());
            }),
        )?
    };
    if enforcer.is_some() {
        notes(&format!(
            "enforce: {} intent(s); files by fanotify permission events, connections by cgroup programs{}",
            config.enforce.len(),
            if config.mode == Mode::Audit {
                " (audit: nothing is denied)"
            } else {
                ""
            }
        ));
    }
    let mut seen_containers: std::collections::HashSet<String> = std::collections::HashSet::new();

    // The sensor.
    let mut sensor = Sensor::load(SensorConfig {
        ring_bytes: config
            .ring_buffer_bytes()
            .map_or(16 << 20, |b| u32::try_from(b).unwrap_or(1 << 30)),
        filter: filter.clone(),
        host_mntns: host_mntns(),
        wakeup_bytes: WAKEUP_BYTES_QUIET,
    })?;
    let mut resolver_config = ResolverConfig::default();
    resolver_config
        .state_roots
        .extend(config.state_roots.iter().cloned());
    let resolver = ContainerResolver::new(resolver_config)?;
    let mut table = proctable::ProcessTable::new(
        std::path::Path::new("/proc"),
        u64::try_from(sensor.wall_clock_ns(0)).unwrap_or(0),
    );
    table.seed();
    let mut fields = translate::ContainerFields::default();

    let threads = config
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(4)));
    let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Vec<Work>>(QUEUE / BATCH);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let mut workers = Vec::new();
    for i in 0..threads {
        let shared = Arc::clone(&shared);
        let rx = Arc::clone(&work_rx);
        workers.push(
            std::thread::Builder::new()
                .name(format!("rampart-eval-{i}"))
                .spawn(move || eval_loop(&shared, &rx))
                .map_err(|cause| MonitorError::Output {
                    path: "evaluator thread".into(),
                    cause,
                })?,
        );
    }

    let started = Instant::now();
    let status_state = Arc::new(Mutex::new(serde_json::json!({"starting": true})));
    let endpoint = match &config.metrics {
        Some(m) => {
            let state = Arc::clone(&status_state);
            let metrics2 = Arc::clone(&metrics);
            Some(Endpoint::start(
                m.listen,
                Arc::clone(&metrics),
                Arc::new(move || {
                    let mut doc = state.lock().unwrap_or_else(PoisonError::into_inner).clone();
                    if let Some(map) = doc.as_object_mut() {
                        map.insert("healthy".into(), metrics2.healthy().into());
                        map.insert("uptime_seconds".into(), metrics2.uptime().as_secs().into());
                    }
                    doc
                }),
            )?)
        }
        None => None,
    };
    if let Some(ready) = opts.ready.take() {
        ready(ReadyInfo {
            metrics_addr: endpoint.as_ref().map(Endpoint::local_addr),
            load_time: sensor.load_time(),
            filter: filter.clone(),
        });
    }
    metrics.beat();

    let boot_to_wall = sensor.wall_clock_ns(0);
    let mut num = 0u64;
    let mut last_flush = Instant::now();
    let mut wakeup = WAKEUP_BYTES_QUIET;
    let mut last_stats = Stats::default();
    let mode = config.mode;
    let result = loop {
        if opts.stop.load(Ordering::Relaxed)
            || opts.duration.is_some_and(|d| started.elapsed() >= d)
        {
            break Ok(());
        }
        // The sensor batches wake-ups (WAKEUP_BYTES_*); this timeout bounds how long a quiet
        // batch waits.
        let mut batch: Vec<Work> = Vec::with_capacity(BATCH);
        let polled = sensor.poll(POLL_TIMEOUT, |raw| {
            num += 1;
            let h = raw.header().clone();
            let time_ns = u64::try_from(i128::from(h.boot_ns) + boot_to_wall).unwrap_or(0);
            let identity = if matches!(raw, RawEvent::Exec(_)) {
                resolver.resolve_exec(h.cgroup_id, Some(h.pid))
            } else {
                resolver.resolve(h.cgroup_id, Some(h.pid))
            };
            let container = match &identity {
                Identity::Container(c) => Some(Arc::clone(c)),
                _ => None,
            };
            let proc = match &raw {
                RawEvent::Exec(e) => {
                    let vpid = (e.vpid != 0).then_some(i64::from(e.vpid));
                    table.exec(
                        e,
                        vpid,
                        container.as_ref().and_then(|c| c.rootfs.as_deref()),
                    )
                }
                RawEvent::Fork(f) => {
                    table.fork(f);
                    return;
                }
                RawEvent::Exit(_) => {
                    table.exit(&h);
                    return;
                }
                _ => table.process(&h, container.as_ref().and_then(|c| c.rootfs.as_deref())),
            };
            let ancestors = table.ancestors(h.pid);
            let held = if h.held() {
                HeldTask::open(&h).ok()
            } else {
                None
            };
            // A container seen for the first time: its intent's guards go on before it runs
            // another instruction (its exec is held).
            if let (Some(enf), Some(c)) = (&enforcer, &container)
                && !seen_containers.contains(&c.id)
            {
                seen_containers.insert(c.id.clone());
                let exe = matches!(raw, RawEvent::Exec(_)).then_some(proc.exepath.as_str());
                if enf.on_container(c, h.pid, exe) {
                    let killed = match &held {
                        Some(t) => t.kill(),
                        None => HeldTask::open(&h).and_then(|t| t.kill()),
                    };
                    if let Err(e) = killed {
                        notes(&format!("enforce: killing process {} failed: {e}", h.pid));
                    }
                }
            }
            let event = translate::event(
                &raw,
                num,
                time_ns,
                proc,
                ancestors,
                container.as_ref().map(|c| fields.get(c)),
                &hostname,
            );
            batch.push(Work {
                event,
                container,
                header: h,
                held,
                enqueued: Instant::now(),
            });
            if batch.len() >= BATCH {
                let _ = work_tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
            }
        });
        if !batch.is_empty() {
            let _ = work_tx.send(batch);
        }
        let polled = match polled {
            Ok(n) => n,
            Err(e) => break Err(MonitorError::Sensor(e)),
        };
        // small wake-ups when quiet, large ones when busy (with a gap between, so that a rate
        // near one threshold does not flip it at every poll)
        wakeup = if polled >= BATCH {
            WAKEUP_BYTES_BUSY
        } else if polled < BATCH / 8 {
            WAKEUP_BYTES_QUIET
        } else {
            wakeup
        };
        if let Err(e) = sensor.set_wakeup_bytes(wakeup) {
            break Err(MonitorError::Sensor(e));
        }
        metrics.beat();
        if last_flush.elapsed() >= Duration::from_secs(1) {
            last_flush = Instant::now();
            if let Ok(s) = sensor.stats() {
                publish_stats(&metrics, &s);
                report_new_loss(&last_stats, &s, &mut **notes);
                last_stats = s;
            }
            publish_eval(&shared);
            *status_state.lock().unwrap_or_else(PoisonError::into_inner) = status_doc(
                &shared,
                &last_stats,
                rules_loaded,
                not_evaluable_n,
                mode,
                resolver.cached(),
                &sink_stats,
            );
        }
    };
    drop(work_tx);
    for w in workers {
        let _ = w.join();
    }
    let enforce_counts = enforcer.map(crate::enforce::Enforcer::stop);
    let final_stats = sensor.stats().unwrap_or_default();
    publish_stats(&metrics, &final_stats);
    drop(sensor);
    drop(endpoint);
    let alerts = shared.alert_count.load(Ordering::Relaxed);
    let actions = shared
        .action_counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    drop(shared);
    let _ = sink_thread.join();
    let summary = Summary {
        events: final_stats.total_emitted(),
        opens_filtered: final_stats.filtered,
        alerts,
        lost: final_stats.total_dropped(),
        lost_by_kind: final_stats
            .dropped
            .iter()
            .map(|(k, v)| (k.name().to_owned(), *v))
            .collect(),
        actions,
        sinks: sink_stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
        enforce: enforce_counts,
    };
    result.map(|()| summary)
}

fn eval_loop(shared: &Shared, rx: &Mutex<Receiver<Vec<Work>>>) {
    loop {
        let batch = {
            let guard = rx.lock().unwrap_or_else(PoisonError::into_inner);
            guard.recv()
        };
        let Ok(batch) = batch else { return };
        for work in batch {
            evaluate(shared, work);
        }
    }
}

/// Rules, drift and answers for one event; its alerts to the sinks.
fn evaluate(shared: &Shared, mut work: Work) {
    {
        let t0 = Instant::now();
        let mut answer = Action::Alert;
        let mut fired = Vec::new();
        let matches: Vec<rampart_falco::Match<'_>> = match shared.config.rule_matching {
            RuleMatching::First => shared.rules.first_match(&work.event).into_iter().collect(),
            RuleMatching::All => shared.rules.evaluate(&work.event).collect(),
        };
        for m in matches {
            let idx = shared
                .rules
                .rules()
                .iter()
                .position(|r| std::ptr::eq(r, m.rule))
                .unwrap_or(0);
            let action = shared.actions.get(idx).copied().unwrap_or_default();
            answer = stronger(answer, action);
            fired.push((m, action));
        }
        // Drift is judged before the answer only when it has an answer of its own to carry out
        // (the held process waits); otherwise after the rules' alerts are out.
        let mut drift = None;
        if shared.drift_action != Action::Alert {
            drift = check_drift(shared, &work);
            if drift.is_some() {
                answer = stronger(answer, shared.drift_action);
            }
        }
        let eval = t0.elapsed();
        shared.eval_ns.fetch_add(
            u64::try_from(eval.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        shared.evaluated.fetch_add(1, Ordering::Relaxed);
        // Answer first: a held process is waiting.
        let enforce = shared.config.mode == Mode::Enforce;
        let done = if enforce {
            carry_out(answer, work.held.as_ref(), &work.header)
        } else {
            None
        };
        if let Some(h) = work.held.take()
            && !(enforce && answer != Action::Alert)
        {
            let _ = h.resume();
        }
        for (m, action) in fired {
            let mut json = shared.rules.alert_json(&m, &work.event);
            let mut text = shared.rules.alert_text(&m, &work.event);
            if action != Action::Alert {
                let label = action_label(action, enforce, done.as_ref());
                json = with_action(&json, &label);
                text.push_str(&format!(" rampart_action={label}"));
                count_action(shared, label);
            }
            emit(
                shared,
                &m.rule.name,
                m.rule.priority.name(),
                json,
                text,
                work.enqueued,
            );
        }
        if shared.drift_action == Action::Alert {
            drift = check_drift(shared, &work);
        }
        if let Some(d) = &drift {
            let (mut json, mut text) = drift_alert(shared, &work.event, d);
            let action = shared.drift_action;
            if action != Action::Alert {
                let label = action_label(action, enforce, done.as_ref());
                json = with_action(&json, &label);
                text.push_str(&format!(" rampart_action={label}"));
                count_action(shared, label);
            }
            emit(shared, DRIFT_RULE, "Critical", json, text, work.enqueued);
        }
    }
}

fn action_label(action: Action, enforce: bool, done: Option<&Result<(), String>>) -> String {
    if !enforce {
        return format!("would {}", action.as_str());
    }
    match done {
        Some(Err(e)) => format!("{} failed: {e}", action.as_str()),
        _ => action.as_str().to_owned(),
    }
}

fn count_action(shared: &Shared, label: String) {
    *shared
        .action_counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(label)
        .or_insert(0) += 1;
}

fn emit(
    shared: &Shared,
    rule: &str,
    priority: &str,
    json: String,
    text: String,
    enqueued: Instant,
) {
    shared.alert_count.fetch_add(1, Ordering::Relaxed);
    shared.metrics.add(
        "rampart_monitor_alerts_total",
        &[("rule", rule), ("priority", priority)],
        1.0,
    );
    let latency = u64::try_from(enqueued.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let mut l = shared
        .latency_ns
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if l.len() >= LATENCY_SAMPLES {
        l.remove(0);
    }
    l.push(latency);
    let _ = shared.alerts.send(AlertLine {
        rule: rule.to_owned(),
        priority: priority.to_owned(),
        json,
        text,
    });
}

/// The host's mount namespace: pid 1's (in a DaemonSet pod with `hostPID`, the monitor's own
/// namespace is its container's, not the host's). `None` (the sensor then takes the monitor's
/// own) when pid 1's cannot be read.
fn host_mntns() -> Option<u64> {
    let link = std::fs::read_link("/proc/1/ns/mnt").ok()?;
    link.to_str()?
        .strip_prefix("mnt:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Whether an exec in a container ran a file that is not the image's.
fn check_drift(shared: &Shared, work: &Work) -> Option<DriftEvent> {
    let c = work.container.as_ref()?;
    if work.event.evt_type != "execve" {
        return None;
    }
    shared
        .drift
        .check_exec(
            c,
            index_for(&shared.images, c),
            &work.event.proc.exepath,
            u32::try_from(work.event.proc.pid).ok(),
            work.event.time_ns,
        )
        .ok()
        .flatten()
}

fn stronger(a: Action, b: Action) -> Action {
    let rank = |x: Action| match x {
        Action::Alert => 0,
        Action::KillProcess => 1,
        Action::KillContainer => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Kills what the answer says. `None` when there was nothing to do.
fn carry_out(
    answer: Action,
    held: Option<&HeldTask>,
    header: &crate::sensor::Header,
) -> Option<Result<(), String>> {
    match answer {
        Action::Alert => None,
        // A process that was not held (its event type is not holdable) is pinned by a pidfd
        // now, checked against its start time, so a recycled pid is never hit.
        Action::KillProcess => Some(match held {
            Some(h) => h.kill().map_err(|e| e.to_string()),
            None => HeldTask::open(header)
                .and_then(|t| t.kill())
                .map_err(|e| e.to_string()),
        }),
        Action::KillContainer => Some(
            crate::sensor::kill_cgroup(header.cgroup_id)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        ),
    }
}

/// Adds `rampart.action` to the alert's `output_fields`.
fn with_action(json: &str, label: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(mut v) => {
            if let Some(fields) = v.get_mut("output_fields").and_then(|f| f.as_object_mut()) {
                fields.insert("rampart.action".into(), label.into());
            }
            v.to_string()
        }
        Err(_) => json.to_owned(),
    }
}

fn sink_loop(
    mut sinks: Vec<Box<dyn Sink>>,
    rx: &Receiver<AlertLine>,
    metrics: &Metrics,
    stats: &Mutex<Vec<SinkStats>>,
) {
    let publish = |sinks: &[Box<dyn Sink>]| {
        let s: Vec<SinkStats> = sinks.iter().map(|s| s.stats()).collect();
        for st in &s {
            metrics.set(
                "rampart_monitor_sink_delivered_total",
                &[("sink", &st.sink)],
                st.delivered as f64,
            );
            metrics.set(
                "rampart_monitor_sink_failed_total",
                &[("sink", &st.sink)],
                st.failed as f64,
            );
            metrics.set(
                "rampart_monitor_sink_dropped_total",
                &[("sink", &st.sink)],
                st.dropped as f64,
            );
        }
        *stats.lock().unwrap_or_else(PoisonError::into_inner) = s;
    };
    loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(alert) => {
                for s in &mut sinks {
                    s.send(&alert);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        publish(&sinks);
    }
    for s in &mut sinks {
        s.close();
    }
    publish(&sinks);
}

fn describe(m: &Metrics) {
    m.describe(
        "rampart_monitor_events_total",
        Kind::Counter,
        "Events the kernel sensor emitted, by type.",
    );
    m.describe(
        "rampart_monitor_events_lost_total",
        Kind::Counter,
        "Events lost in the kernel (ring buffer full), by type.",
    );
    m.describe(
        "rampart_monitor_events_lost_by_cgroup_total",
        Kind::Counter,
        "Events lost in the kernel, by cgroup id.",
    );
    m.describe(
        "rampart_monitor_opens_filtered_total",
        Kind::Counter,
        "Opens the kernel did not send because no loaded rule can match them.",
    );
    m.describe(
        "rampart_monitor_alerts_total",
        Kind::Counter,
        "Alerts, by rule and priority.",
    );
    m.describe(
        "rampart_monitor_rule_evaluation_seconds_total",
        Kind::Counter,
        "Time spent evaluating rules.",
    );
    m.describe(
        "rampart_monitor_events_evaluated_total",
        Kind::Counter,
        "Events evaluated against the rules.",
    );
    m.describe(
        "rampart_monitor_sink_delivered_total",
        Kind::Counter,
        "Alerts delivered, by sink.",
    );
    m.describe(
        "rampart_monitor_sink_failed_total",
        Kind::Counter,
        "Alerts given up on after retries, by sink.",
    );
    m.describe(
        "rampart_monitor_sink_dropped_total",
        Kind::Counter,
        "Alerts dropped because a sink's queue was full, by sink.",
    );
}

fn publish_stats(m: &Metrics, s: &Stats) {
    m.set(
        "rampart_monitor_opens_filtered_total",
        &[],
        s.filtered as f64,
    );
    for (k, v) in &s.emitted {
        m.set(
            "rampart_monitor_events_total",
            &[("type", k.name())],
            *v as f64,
        );
    }
    for (k, v) in &s.dropped {
        m.set(
            "rampart_monitor_events_lost_total",
            &[("type", k.name())],
            *v as f64,
        );
    }
    for (cg, v) in &s.dropped_by_cgroup {
        m.set(
            "rampart_monitor_events_lost_by_cgroup_total",
            &[("cgroup_id", &cg.to_string())],
            *v as f64,
        );
    }
}

fn publish_eval(shared: &Shared) {
    let m = &shared.metrics;
    m.set(
        "rampart_monitor_rule_evaluation_seconds_total",
        &[],
        shared.eval_ns.load(Ordering::Relaxed) as f64 / 1e9,
    );
    m.set(
        "rampart_monitor_events_evaluated_total",
        &[],
        shared.evaluated.load(Ordering::Relaxed) as f64,
    );
}

fn report_new_loss(before: &Stats, now: &Stats, notes: &mut dyn FnMut(&str)) {
    let lost = now.total_dropped().saturating_sub(before.total_dropped());
    if lost > 0 {
        let by: Vec<String> = now
            .dropped
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    k.name(),
                    v.saturating_sub(before.dropped.get(k).copied().unwrap_or(0))
                )
            })
            .filter(|s| !s.ends_with("=0"))
            .collect();
        notes(&format!(
            "warning: {lost} events lost in the kernel in the last second ({})",
            by.join(", ")
        ));
    }
}

/// p50 / p99 / max of the latencies kept, in microseconds.
fn latency_summary(l: &Mutex<Vec<u64>>) -> serde_json::Value {
    let mut v = l.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if v.is_empty() {
        return serde_json::Value::Null;
    }
    v.sort_unstable();
    let at = |q: f64| {
        v.get(((v.len() - 1) as f64 * q) as usize)
            .copied()
            .unwrap_or(0)
            / 1000
    };
    serde_json::json!({"p50": at(0.5), "p99": at(0.99), "max": at(1.0), "samples": v.len()})
}

fn status_doc(
    shared: &Shared,
    stats: &Stats,
    rules: usize,
    not_evaluable: usize,
    mode: Mode,
    containers: usize,
    sinks: &Mutex<Vec<SinkStats>>,
) -> serde_json::Value {
    serde_json::json!({
        "mode": match mode { Mode::Enforce => "enforce", Mode::Audit => "audit" },
        "rules": {"loaded": rules, "not_evaluable": not_evaluable},
        "events": {
            "received": stats.total_emitted(),
            "lost": stats.total_dropped(),
            "lost_by_type": stats.dropped.iter().map(|(k, v)| (k.name().to_owned(), *v)).collect::<BTreeMap<_, _>>(),
            "opens_filtered": stats.filtered,
            "evaluated": shared.evaluated.load(Ordering::Relaxed),
        },
        "alerts": shared.alert_count.load(Ordering::Relaxed),
        "alert_latency_us": latency_summary(&shared.latency_ns),
        "drift": shared.drift.events(),
        "containers": containers,
        "sinks": *sinks.lock().unwrap_or_else(PoisonError::into_inner),
        "format": match shared.config.output.format { Format::Json => "json", Format::Text => "text" },
    })
}
