//! The rules rampart ships: Falco's stable ruleset (`rules/falco_rules.yaml`, see
//! `rules/SOURCE.md`) and rampart's own (`rules/rampart_rules.yaml`), loaded after it. The
//! monitor's defaults, the DaemonSet's ConfigMap and the scan's view of a monitor deployed
//! without a rules ConfigMap all use these.

/// Falco's stable ruleset.
pub const STABLE: &str = include_str!("../rules/falco_rules.yaml");
/// Its file name.
pub const STABLE_NAME: &str = "falco_rules.yaml";
/// rampart's own rules (they use the stable set's macros and lists).
pub const RAMPART: &str = include_str!("../rules/rampart_rules.yaml");
/// Its file name.
pub const RAMPART_NAME: &str = "rampart_rules.yaml";

/// The default rules files, `(name, text)` in load order.
pub fn defaults() -> Vec<(String, String)> {
    vec![
        (STABLE_NAME.to_owned(), STABLE.to_owned()),
        (RAMPART_NAME.to_owned(), RAMPART.to_owned()),
    ]
}
