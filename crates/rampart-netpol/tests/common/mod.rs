//! What the generation tests share.

/// Whether every line the generated policies allow beyond the flows names a workload that
/// generation said shares its labels (or has none): the only way they may be wider.
pub fn wider_only_where_said(extra: &[String], notes: &[String]) -> bool {
    extra.iter().all(|line| {
        let Some((pair, _)) = line.rsplit_once(" : ") else {
            return false;
        };
        let Some((a, b)) = pair.split_once(" => ") else {
            return false;
        };
        notes.iter().any(|n| {
            (n.contains("also select") || n.contains("no labels"))
                && (n.contains(a) || n.contains(b))
        })
    })
}
