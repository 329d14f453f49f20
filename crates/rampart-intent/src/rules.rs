//! The intent as runtime rules: Falco-format rules scoped to the image's digest, one per kind of
//! step outside the intent (an executable not listed, a write outside the writable paths, a read
//! of a never-read path, a connection to a destination not listed), each with its answer.
//!
//! The rules use only fields and operators rampart's monitor evaluates, and no macro (they load
//! alone or beside Falco's rules without a name clash).

use crate::compile::{CompileError, Note, Target, ports_text};
use crate::doc::{Answer, Destination, Intent, Peer, PortRange, Protocol};

/// The generated rules file and the answer of each rule.
pub struct Generated {
    /// The rules file (YAML).
    pub yaml: String,
    /// `(rule name, answer)`, in file order.
    pub answers: Vec<(String, Answer)>,
}

/// Names of the generated rules for workload `name`, by kind.
pub fn rule_name(name: &str, kind: &str) -> String {
    match kind {
        "exec" => format!("{name}: executable outside the intent"),
        "write" => format!("{name}: write outside the intent's writable paths"),
        "read" => format!("{name}: read of a path the intent forbids"),
        "syscall" => format!("{name}: kernel call outside the intent"),
        _ => format!("{name}: connection outside the intent"),
    }
}

fn quote(s: &str) -> String {
    // Paths and patterns are validated to hold no quote, backslash or control character.
    format!("\"{s}\"")
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    format!("({})", items.into_iter().collect::<Vec<_>>().join(", "))
}

/// `proc.args` glob of an argument pattern list: the patterns joined by spaces, a last `**`
/// meaning any remaining arguments.
fn args_glob(patterns: &[crate::doc::ArgPattern]) -> String {
    let parts: Vec<&str> = patterns.iter().map(|p| p.as_str()).collect();
    match parts.split_last() {
        Some((&"**", [])) => "*".into(),
        Some((&"**", init)) => format!("{} *", init.join(" ")),
        _ => parts.join(" "),
    }
}

fn exec_condition(intent: &Intent) -> String {
    let mut free = Vec::new();
    let mut with_args = Vec::new();
    for e in &intent.process.executables {
        match &e.args {
            None => free.push(quote(e.path.as_str())),
            Some(a) => {
                let glob = args_glob(a);
                // `a b **` also admits exactly `a b`
                let exact = match a.split_last() {
                    Some((last, init)) if last.as_str() == "**" && !init.is_empty() => {
                        let bare: Vec<&str> = init.iter().map(|p| p.as_str()).collect();
                        format!(" or proc.args glob {}", quote(&bare.join(" ")))
                    }
                    _ => String::new(),
                };
                with_args.push(format!(
                    "(proc.exepath = {} and (proc.args glob {}{exact}))",
                    quote(e.path.as_str()),
                    quote(&glob)
                ));
            }
        }
    }
    let mut allowed = Vec::new();
    if !free.is_empty() {
        allowed.push(format!("proc.exepath in {}", list(free)));
    }
    allowed.extend(with_args);
    format!(
        "evt.type in (execve, execveat) and evt.dir = < and container.image.digest = {} and not ({})",
        quote(intent.image.digest()),
        allowed.join(" or ")
    )
}

fn write_condition(intent: &Intent) -> String {
    let mut c = format!(
        "evt.type in (open, openat, openat2) and evt.is_open_write = true and fd.typechar = f and fd.num >= 0 and container.image.digest = {}",
        quote(intent.image.digest())
    );
    if !intent.files.writable.is_empty() {
        c.push_str(&format!(
            " and not fd.name pmatch {}",
            list(intent.files.writable.iter().map(|w| quote(w.as_str())))
        ));
    }
    c
}

fn read_condition(intent: &Intent) -> String {
    // Failed opens too: an attempt refused by the kernel is still a step outside the intent.
    format!(
        "evt.type in (open, openat, openat2) and evt.is_open_read = true and container.image.digest = {} and fd.name pmatch {}",
        quote(intent.image.digest()),
        list(intent.files.never_read.iter().map(|w| quote(w.as_str())))
    )
}

fn ports_clause(ports: &[PortRange]) -> Option<String> {
    if ports.is_empty() {
        return None;
    }
    let (single, ranges): (Vec<&PortRange>, Vec<&PortRange>) =
        ports.iter().partition(|r| r.first == r.last);
    let mut parts = Vec::new();
    if !single.is_empty() {
        parts.push(format!(
            "fd.sport in {}",
            list(single.iter().map(|r| r.first.to_string()))
        ));
    }
    for r in ranges {
        parts.push(format!(
            "(fd.sport >= {} and fd.sport <= {})",
            r.first, r.last
        ));
    }
    Some(if parts.len() == 1 {
        parts.remove(0)
    } else {
        format!("({})", parts.join(" or "))
    })
}

fn proto_clause(p: Protocol) -> Option<&'static str> {
    match p {
        Protocol::Tcp => Some("fd.l4proto = tcp"),
        Protocol::Udp => Some("fd.l4proto = udp"),
        // Falco's fd.l4proto has no SCTP value: the ports alone decide
        Protocol::Sctp => None,
    }
}

fn connect_condition(intent: &Intent, name: &str, notes: &mut Vec<Note>) -> String {
    let mut allowed = Vec::new();
    for e in &intent.network.egress {
        let mut parts: Vec<String> = Vec::new();
        match &e.to {
            Destination::Peer(Peer::Cidr { cidr, except }) => {
                parts.push(format!("fd.snet in ({})", quote(&cidr.to_string())));
                if !except.is_empty() {
                    parts.push(format!(
                        "not fd.snet in {}",
                        list(except.iter().map(|x| quote(&x.to_string())))
                    ));
                }
            }
            Destination::Peer(Peer::Pods { .. }) => notes.push(Note {
                target: Target::RuntimeRules,
                message: format!(
                    "{name}: egress to pods by label: the runtime rule cannot know their addresses and admits any address on {}",
                    ports_text(&e.ports, e.protocol)
                ),
            }),
            Destination::Dns(d) => notes.push(Note {
                target: Target::RuntimeRules,
                message: format!(
                    "{name}: egress to `{d}`: the runtime rule does not resolve names and admits any address on {}",
                    ports_text(&e.ports, e.protocol)
                ),
            }),
        }
        parts.extend(ports_clause(&e.ports));
        parts.extend(proto_clause(e.protocol).map(str::to_owned));
        allowed.push(if parts.is_empty() {
            "fd.sport >= 0".to_owned()
        } else {
            format!("({})", parts.join(" and "))
        });
    }
    if intent.network.cluster_dns {
        allowed.push("fd.sport = 53".into());
    }
    let mut c = format!(
        "evt.type = connect and evt.dir = < and fd.typechar in (4, 6) and container.image.digest = {} and not fd.snet = \"127.0.0.0/8\" and not fd.sip = \"::1\"",
        quote(intent.image.digest())
    );
    if !allowed.is_empty() {
        c.push_str(&format!(" and not ({})", allowed.join(" or ")));
    }
    c
}

/// A Falco rule, its keys in the order Falco's own files write them.
#[derive(serde::Serialize)]
struct FalcoRule {
    rule: String,
    desc: String,
    condition: String,
    output: String,
    priority: &'static str,
    tags: [&'static str; 3],
}

/// The kernel-surface calls the monitor's sensor reports: a privilege or kernel-interface
/// change an intent lists explicitly or never makes.
pub const SURFACE_CALLS: &[&str] = &[
    "bpf",
    "capset",
    "finit_module",
    "init_module",
    "memfd_create",
    "mount",
    "ptrace",
    "setgid",
    "setns",
    "setregid",
    "setresgid",
    "setresuid",
    "setreuid",
    "setuid",
    "umount2",
    "unshare",
    "userfaultfd",
];

/// A kernel-surface call outside the intent's syscalls (and runc's own, made in the container
/// by its init before the entrypoint runs, which the rule also skips by name).
fn syscall_condition(intent: &Intent) -> Option<String> {
    let listed = intent.kernel.syscalls.as_ref()?;
    let runc = if intent.process.no_new_privileges {
        rampart_seccomp::generate::RUNC_AFTER_FILTER
    } else {
        rampart_seccomp::generate::RUNC_AFTER_FILTER_NO_NNP
    };
    let outside: Vec<String> = SURFACE_CALLS
        .iter()
        .filter(|c| !listed.iter().any(|s| s.as_str() == **c) && !runc.contains(c))
        .map(|c| (*c).to_owned())
        .collect();
    if outside.is_empty() {
        return None;
    }
    Some(format!(
        "evt.type in {} and evt.dir = < and container.image.digest = {} and not proc.name startswith \"runc:\"",
        list(outside),
        quote(intent.image.digest())
    ))
}

fn rule(
    name: &str,
    desc: &str,
    condition: String,
    output: &str,
    priority: &'static str,
    tag: &'static str,
) -> FalcoRule {
    FalcoRule {
        rule: name.to_owned(),
        desc: desc.to_owned(),
        condition,
        output: output.to_owned(),
        priority,
        tags: ["rampart", "intent", tag],
    }
}

const COMMON: &str = "user=%user.uid container=%container.id image=%container.image.repository digest=%container.image.digest";

/// The rules of `intent` for workload `name`.
pub fn generate(
    intent: &Intent,
    name: &str,
    notes: &mut Vec<Note>,
) -> Result<Generated, CompileError> {
    let image = intent.image.as_str();
    let mut docs = Vec::new();
    let mut answers = Vec::new();
    let mut add = |kind: &str, answer: Answer, v: FalcoRule| {
        answers.push((rule_name(name, kind), answer));
        docs.push(v);
    };
    add(
        "exec",
        intent.answers.exec,
        rule(
            &rule_name(name, "exec"),
            &format!("A process of {image} runs an executable its intent does not list."),
            exec_condition(intent),
            &format!(
                "Executable outside the intent of {name} (exe=%proc.exepath args=%proc.args parent=%proc.pname {COMMON})"
            ),
            "CRITICAL",
            "process",
        ),
    );
    add(
        "write",
        intent.answers.write,
        rule(
            &rule_name(name, "write"),
            &format!(
                "A process of {image} opens a file for writing outside the intent's writable paths."
            ),
            write_condition(intent),
            &format!(
                "Write outside the intent of {name} (file=%fd.name flags=%evt.arg.flags exe=%proc.exepath {COMMON})"
            ),
            "ERROR",
            "filesystem",
        ),
    );
    if !intent.files.never_read.is_empty() {
        add(
            "read",
            intent.answers.read,
            rule(
                &rule_name(name, "read"),
                &format!("A process of {image} opens a path its intent forbids reading."),
                read_condition(intent),
                &format!(
                    "Read of a forbidden path by {name} (file=%fd.name exe=%proc.exepath {COMMON})"
                ),
                "CRITICAL",
                "filesystem",
            ),
        );
    }
    add(
        "connect",
        intent.answers.connect,
        rule(
            &rule_name(name, "connect"),
            &format!("A process of {image} connects to a destination its intent does not list."),
            connect_condition(intent, name, notes),
            &format!(
                "Connection outside the intent of {name} (connection=%fd.name exe=%proc.exepath {COMMON})"
            ),
            "ERROR",
            "network",
        ),
    );
    if let Some(c) = syscall_condition(intent) {
        add(
            "syscall",
            intent.answers.exec,
            rule(
                &rule_name(name, "syscall"),
                &format!(
                    "A process of {image} makes a kernel-surface call (ptrace, mount, module or BPF loading, namespaces, identity changes) its intent does not list."
                ),
                c,
                &format!(
                    "Kernel call outside the intent of {name} (call=%evt.type res=%evt.res exe=%proc.exepath {COMMON})"
                ),
                "CRITICAL",
                "process",
            ),
        );
    } else {
        notes.push(Note {
            target: Target::RuntimeRules,
            message: format!("{name}: the intent lists no syscalls: no rule watches kernel-surface calls (ptrace, mount, bpf...) beyond the seccomp profile"),
        });
    }
    let mut yaml =
        format!("# Runtime rules compiled by rampart from the intent of `{name}` ({image}).\n");
    for d in &docs {
        let text = crate::compile::yaml_of(&[d], "the runtime rules")?;
        yaml.push('\n');
        yaml.push_str(&text);
    }
    Ok(Generated { yaml, answers })
}
