//! File facts as kube-bench's `stat` audits print them, for the file checks (1.1, 4.1).

use crate::model::Check;

/// A file's mode and owner, as `stat` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStat {
    /// The mode bits (only the permission bits, `0o7777`, are looked at).
    pub mode: u32,
    /// The owner's user name (`%U`; `UNKNOWN` when the id has no name, as stat prints).
    pub user: String,
    /// The group name (`%G`).
    pub group: String,
}

/// The line kube-bench's audit prints for one file of a file check, in the form its first
/// test item looks for: `permissions=<mode>` (octal as `stat -c %a` writes it: `600`, `4755`),
/// `ownership=<user>:<group>`, or `<user>:<group>`.
pub fn stat_line(check: &Check, stat: &FileStat) -> String {
    let flag = check
        .tests
        .as_ref()
        .and_then(|t| t.test_items.first())
        .map_or("", |i| i.flag.as_str());
    match flag {
        "permissions" => format!("permissions={:o}", stat.mode & 0o7777),
        "ownership" => format!("ownership={}:{}", stat.user, stat.group),
        _ => format!("{}:{}", stat.user, stat.group),
    }
}

/// The output of a file check's audit over several files (one line each, as for
/// `use_multiple_values` checks); empty when there is no file.
pub fn stat_output(check: &Check, stats: &[FileStat]) -> String {
    stats
        .iter()
        .map(|s| stat_line(check, s))
        .collect::<Vec<_>>()
        .join("\n")
}
