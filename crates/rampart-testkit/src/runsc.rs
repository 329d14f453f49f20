//! gVisor's `runsc` (Debian's package `runsc`, 0.0~20221219 in bookworm), installed when
//! missing. It runs on the ptrace platform here (`--platform=kvm` hangs on these nested VMs;
//! this release has no systrap): docs/sandbox.md.

use crate::tools;

/// Installs Debian's `runsc` when missing (and `runc`, the baseline of every sandbox check).
pub fn ensure_runsc() {
    tools::ensure_tools(&["runsc:runsc", "runc:runc"]);
    assert!(
        tools::have("runsc"),
        "runsc not available after installing it"
    );
}
