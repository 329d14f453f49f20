//! The compiled rule set: rules indexed by event type (as Falco's engine does, so an event only
//! meets the rules that can match its type), evaluation, alert formatting, and the static
//! analysis the sensor needs to filter in the kernel.

use crate::Priority;
use crate::compile::{Node, TypeSet};
use crate::event::Event;
use crate::output::{Template, json_value, rfc3339, time_of_day};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What Falco's `-pk` option appends to every syscall rule's output: the container and its pod.
pub const CONTAINER_OUTPUT: &str = "container_id=%container.id container_image=%container.image.repository container_image_tag=%container.image.tag container_name=%container.name k8s_ns=%k8s.ns.name k8s_pod_name=%k8s.pod.name";

/// One compiled rule.
#[derive(Debug)]
pub struct CompiledRule {
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Priority.
    pub priority: Priority,
    /// Tags.
    pub tags: Vec<String>,
    /// Source (`syscall`).
    pub source: String,
    /// Enabled.
    pub enabled: bool,
    /// The condition as written (appends applied, exceptions not).
    pub condition: String,
    pub(crate) node: Node,
    /// Output template.
    pub output: Template,
    /// Output template text.
    pub output_text: String,
    pub(crate) types: TypeSet,
    /// Fields the condition reads.
    pub fields: BTreeSet<String>,
    /// Falco fields the condition needs that rampart does not provide: when non-empty the rule
    /// is never evaluated (and was reported at load time).
    pub unsupported_fields: Vec<String>,
}

impl CompiledRule {
    /// The event types the rule can match; `None` = every type (Falco's LOAD_NO_EVTTYPE).
    pub fn event_types(&self) -> Option<&BTreeSet<String>> {
        match &self.types {
            TypeSet::Only(s) => Some(s),
            TypeSet::AllBut(_) => None,
        }
    }
    /// Evaluates the condition alone (enabled or not).
    pub fn matches(&self, ev: &Event) -> bool {
        self.node.eval(ev)
    }
}

/// A rule that fired on an event.
#[derive(Debug, Clone, Copy)]
pub struct Match<'r> {
    /// The rule.
    pub rule: &'r CompiledRule,
}

/// What the sensor must deliver for the enabled rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypes {
    /// Event types some rule constrains itself to.
    pub types: BTreeSet<String>,
    /// Rules with no event-type constraint: when non-empty, every event type is needed.
    pub unconstrained_rules: Vec<String>,
}

impl EventTypes {
    /// Every event type is needed.
    pub fn all(&self) -> bool {
        !self.unconstrained_rules.is_empty()
    }
}

/// The compiled rules. `Send + Sync`: evaluate from any number of threads.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    by_type: HashMap<String, Box<[usize]>>,
    any_type: Box<[usize]>,
    required_engine: Option<String>,
    hostname: String,
}

impl RuleSet {
    pub(crate) fn new(rules: Vec<CompiledRule>, required_engine: Option<String>) -> RuleSet {
        let mut by_type: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut any = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if !r.enabled || !r.unsupported_fields.is_empty() {
                continue;
            }
            match &r.types {
                TypeSet::Only(s) => s
                    .iter()
                    .for_each(|t| by_type.entry(t.clone()).or_default().push(i)),
                TypeSet::AllBut(_) => any.push(i),
            }
        }
        let by_type = by_type
            .into_iter()
            .map(|(t, mut v)| {
                v.extend(&any);
                v.sort_unstable();
                v.dedup();
                (t, v.into_boxed_slice())
            })
            .collect();
        RuleSet {
            rules,
            by_type,
            any_type: any.into_boxed_slice(),
            required_engine,
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_default(),
        }
    }

    /// Every compiled rule, in definition order (enabled or not).
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// A rule by name.
    pub fn rule(&self, name: &str) -> Option<&CompiledRule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// The `required_engine_version` the files declared.
    pub fn required_engine_version(&self) -> Option<&str> {
        self.required_engine.as_deref()
    }

    /// Appends `extra` (a template, e.g. [`CONTAINER_OUTPUT`]) to the output of every rule of the
    /// `syscall` source, as Falco's `append_output` setting (and its `-pk` option) does; its
    /// fields join `output_fields`.
    pub fn append_output(&mut self, extra: &str) -> Result<(), String> {
        for r in self.rules.iter_mut().filter(|r| r.source == "syscall") {
            let text = format!("{} {extra}", r.output_text);
            r.output = Template::compile(&text)?;
            r.output_text = text;
        }
        Ok(())
    }

    /// Sets the `hostname` written in JSON alerts (default: the kernel's host name).
    pub fn set_hostname(&mut self, h: &str) {
        h.clone_into(&mut self.hostname);
    }

    fn reindex(&mut self) {
        let rules = std::mem::take(&mut self.rules);
        let hostname = std::mem::take(&mut self.hostname);
        let required = self.required_engine.take();
        *self = RuleSet::new(rules, required);
        self.hostname = hostname;
    }

    fn set_where(&mut self, enabled: bool, pred: impl Fn(&CompiledRule) -> bool) -> usize {
        let mut n = 0;
        for r in self.rules.iter_mut().filter(|r| pred(r)) {
            r.enabled = enabled;
            n += 1;
        }
        if n > 0 {
            self.reindex();
        }
        n
    }

    /// Enables or disables a rule by name; returns whether it exists.
    pub fn set_enabled(&mut self, name: &str, enabled: bool) -> bool {
        self.set_where(enabled, |r| r.name == name) > 0
    }

    /// Enables or disables the rules whose name matches a glob (`*` wildcards), as Falco's
    /// `rules: [{disable: {rule: "..."}}]` does; returns how many matched.
    pub fn set_enabled_matching(&mut self, pattern: &str, enabled: bool) -> usize {
        self.set_where(enabled, |r| {
            crate::compile::glob_match(pattern.as_bytes(), r.name.as_bytes(), false)
        })
    }

    /// Enables or disables the rules carrying a tag; returns how many.
    pub fn set_enabled_by_tag(&mut self, tag: &str, enabled: bool) -> usize {
        self.set_where(enabled, |r| r.tags.iter().any(|t| t == tag))
    }

    /// Disables every rule less severe than `min` (Falco's `priority` setting); returns how many.
    pub fn set_min_priority(&mut self, min: Priority) -> usize {
        self.set_where(false, |r| r.enabled && r.priority > min)
    }

    /// Rules that cannot be evaluated, with the fields rampart does not provide.
    pub fn not_evaluable(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.rules
            .iter()
            .filter(|r| !r.unsupported_fields.is_empty())
            .map(|r| (r.name.as_str(), r.unsupported_fields.as_slice()))
    }

    /// The enabled rules that match `ev`, in definition order.
    pub fn evaluate<'s: 'e, 'e>(&'s self, ev: &'e Event) -> impl Iterator<Item = Match<'s>> + 'e {
        let idx: &[usize] = self
            .by_type
            .get(ev.evt_type.as_ref())
            .map_or(&self.any_type, |v| v);
        idx.iter().filter_map(move |&i| {
            let r = self.rules.get(i)?;
            r.node.eval(ev).then_some(Match { rule: r })
        })
    }

    /// DNS names the enabled rules compare `fd.sip.name` (and the other `fd.*.name` fields)
    /// with. Falco resolves these names and matches the connection's address against the
    /// answers; the monitor can do the same and fill `Fd::sip_name` when an address matches.
    pub fn dns_names(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for r in self.rules.iter().filter(|r| r.enabled) {
            r.node.dns_names(&mut out);
        }
        out
    }

    /// The first enabled rule (in definition order) that matches: Falco's default
    /// `rule_matching: first`, one alert per event.
    pub fn first_match<'s>(&'s self, ev: &Event) -> Option<Match<'s>> {
        self.evaluate(ev).next()
    }

    /// Every event type an enabled rule can match.
    pub fn event_types(&self) -> EventTypes {
        let mut types = BTreeSet::new();
        let mut unconstrained = Vec::new();
        for r in self
            .rules
            .iter()
            .filter(|r| r.enabled && r.unsupported_fields.is_empty())
        {
            match &r.types {
                TypeSet::Only(s) => types.extend(s.iter().cloned()),
                TypeSet::AllBut(_) => unconstrained.push(r.name.clone()),
            }
        }
        EventTypes {
            types,
            unconstrained_rules: unconstrained,
        }
    }

    /// Can any enabled rule be true for a host process (`container.id` = `host`)? Three-valued
    /// partial evaluation: container and Kubernetes fields take their host values, every other
    /// field is unknown; a rule is ruled out only when its condition is false whatever the
    /// unknown fields are.
    pub fn needs_host_events(&self) -> bool {
        !self.host_rules().is_empty()
    }

    /// The enabled rules that can be true for a host process.
    pub fn host_rules(&self) -> Vec<&str> {
        let host = Event::default();
        self.rules
            .iter()
            .filter(|r| {
                r.enabled
                    && r.unsupported_fields.is_empty()
                    && r.node.eval_host(&host) != Some(false)
            })
            .map(|r| r.name.as_str())
            .collect()
    }

    /// The alert as Falco's JSON line.
    pub fn alert_json(&self, m: &Match<'_>, ev: &Event) -> String {
        let r = m.rule;
        let mut fields = serde_json::Map::new();
        for (b, text) in r.output.fields() {
            fields.insert(text.to_owned(), json_value(b, ev));
        }
        for text in r.output.unsupported() {
            fields.insert(text.to_owned(), serde_json::Value::Null);
        }
        let mut tags: Vec<&String> = r.tags.iter().collect();
        tags.sort();
        tags.dedup();
        let mut obj = serde_json::Map::new();
        obj.insert("hostname".into(), self.hostname.clone().into());
        // As in Falco, `output` is the whole text line (time, priority, rendered template).
        obj.insert("output".into(), self.alert_text(m, ev).into());
        obj.insert("output_fields".into(), serde_json::Value::Object(fields));
        obj.insert("priority".into(), r.priority.name().into());
        obj.insert("rule".into(), r.name.clone().into());
        obj.insert("source".into(), r.source.clone().into());
        obj.insert(
            "tags".into(),
            serde_json::Value::from(tags.into_iter().cloned().collect::<Vec<_>>()),
        );
        obj.insert("time".into(), rfc3339(ev.time_ns).into());
        serde_json::Value::Object(obj).to_string()
    }

    /// The alert as Falco's text line: `HH:MM:SS.nnnnnnnnn: Priority output`.
    pub fn alert_text(&self, m: &Match<'_>, ev: &Event) -> String {
        format!(
            "{}: {} {}",
            time_of_day(ev.time_ns, true),
            m.rule.priority.name(),
            m.rule.output.render(ev)
        )
    }
}
