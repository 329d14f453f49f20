//! A program's arguments as the program reads them (Kubernetes components parse flags with
//! spf13/pflag), written back as one line of `--flag=value` words for the evaluator.
//!
//! kube-bench looks flags up in `ps` output with a regular expression: it takes the first
//! occurrence of a flag, and reads `--flag value` as `--flag` without a value (`true`). The
//! components themselves take `--flag value` for every flag that is not a boolean, the last
//! occurrence of a flag, and every occurrence of a list flag (`--enable-admission-plugins=A
//! --enable-admission-plugins=B` enables both). [`effective`] rewrites arguments into the form
//! where kube-bench's reading and the component's agree: each flag once, `--flag=value`, lists
//! joined with commas, in the order flags first appear. A flag given an empty value
//! (`--audit-log-path=`) is left out, as the component then keeps its default.

/// Flags of the control-plane components and the kubelet that are booleans: `--flag value` is
/// the flag set to true followed by an argument, never the flag set to `value`.
pub const BOOL_FLAGS: &[&str] = &[
    "allow-privileged",
    "anonymous-auth",
    "auto-tls",
    "client-cert-auth",
    "contention-profiling",
    "enable-aggregator-routing",
    "enable-bootstrap-token-auth",
    "enable-garbage-collector",
    "enable-priority-and-fairness",
    "experimental-initial-corrupt-check",
    "leader-elect",
    "make-iptables-util-chains",
    "peer-auto-tls",
    "peer-client-cert-auth",
    "profiling",
    "protect-kernel-defaults",
    "rotate-certificates",
    "rotate-server-certificates",
    "seccomp-default",
    "service-account-extend-token-expiration",
    "service-account-lookup",
    "strict-transport-security-directives",
    "use-service-account-credentials",
];

/// List flags whose occurrences add up (pflag string slices and maps).
pub const LIST_FLAGS: &[&str] = &[
    "admission-control",
    "api-audiences",
    "authorization-mode",
    "cipher-suites",
    "controllers",
    "disable-admission-plugins",
    "enable-admission-plugins",
    "etcd-servers-overrides",
    "feature-gates",
    "runtime-config",
    "service-account-issuer",
    "service-account-key-file",
    "tls-cipher-suites",
    "tls-sni-cert-key",
];

/// One flag as the program reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The name without dashes (`anonymous-auth`).
    pub name: String,
    /// Its value: `true` for a boolean given without one, list occurrences joined with `,`.
    pub value: String,
    /// The index in the arguments of the occurrence that decided the value (the last).
    pub index: usize,
}

/// The program's flags, in the order they first appear, and its other arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    pub flags: Vec<Flag>,
    /// Arguments that are not flags or flag values (their indexes).
    pub positional: Vec<usize>,
}

impl Parsed {
    pub fn get(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }
}

/// Reads `args` (the program's arguments, without the program itself) as pflag does, with
/// `bool_flags` and `list_flags` telling which flags are booleans and lists. `--` ends the
/// flags; a single dash is read like two (pflag takes `-flag` for a shorthand, the components
/// have none that matter here).
pub fn parse(args: &[String], bool_flags: &[&str], list_flags: &[&str]) -> Parsed {
    let mut out = Parsed::default();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let index = i;
        i += 1;
        if arg == "--" {
            out.positional.extend(i..args.len());
            break;
        }
        let Some(body) = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .filter(|b| !b.is_empty() && !b.starts_with('-'))
        else {
            out.positional.push(index);
            continue;
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, v.to_owned()),
            None if bool_flags.contains(&body) => (body, "true".to_owned()),
            None => match args.get(i) {
                Some(next) if !next.starts_with('-') => {
                    i += 1;
                    (body, next.clone())
                }
                _ => (body, "true".to_owned()),
            },
        };
        let list = list_flags.contains(&name);
        match out.flags.iter_mut().find(|f| f.name == name) {
            Some(f) if list && !value.is_empty() && !f.value.is_empty() => {
                f.value.push(',');
                f.value.push_str(&value);
                f.index = index;
            }
            Some(f) => {
                f.value = value;
                f.index = index;
            }
            None => out.flags.push(Flag {
                name: name.to_owned(),
                value,
                index,
            }),
        }
    }
    out
}

/// The command line kube-bench should see: `program --flag=value ...`, each flag once with the
/// value the program uses, flags with an empty value left out.
pub fn effective(program: &str, parsed: &Parsed) -> String {
    let mut line = program.to_owned();
    for f in &parsed.flags {
        if f.value.is_empty() {
            continue;
        }
        line.push_str(" --");
        line.push_str(&f.name);
        line.push('=');
        line.push_str(&f.value);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn read_as_pflag_reads_them() {
        let p = parse(
            &args(
                "--authorization-mode Node,RBAC --profiling false --enable-admission-plugins=A --enable-admission-plugins=B --v=2 --v=4 --audit-log-path= -anonymous-auth=false",
            ),
            BOOL_FLAGS,
            LIST_FLAGS,
        );
        assert_eq!(
            effective("kube-apiserver", &p),
            "kube-apiserver --authorization-mode=Node,RBAC --profiling=true --enable-admission-plugins=A,B --v=4 --anonymous-auth=false"
        );
        // "false" after a boolean is an argument of its own.
        assert_eq!(p.positional, vec![3]);
        assert_eq!(p.get("v").map(|f| f.index), Some(7));
    }
}
