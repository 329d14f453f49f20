//! Micro-benchmark: the stable ruleset evaluated on a realistic mix of events (process execs,
//! file opens, connects, and syscalls no rule wants), single-threaded and on every core.
//!
//! `cargo run --release -p rampart-falco --example falco_bench -- [RULES.yaml] [EVENTS]`

use rampart_falco::event::{Container, Event, Fd, L4Proto, Process};
use std::time::Instant;

fn proc_(name: &str, args: &[&str]) -> Process {
    Process {
        pid: 1000,
        vpid: Some(10),
        name: name.into(),
        exe: format!("/usr/bin/{name}"),
        exepath: format!("/usr/bin/{name}"),
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        cwd: Some("/app".into()),
        uid: Some(1000),
        loginuid: Some(-1),
        user_name: Some("app".into()),
        cap_effective: Some(0),
        start_ns: Some(1),
        is_exe_upper_layer: Some(false),
        is_exe_from_memfd: Some(false),
        ..Process::default()
    }
}

fn events(n: usize) -> Vec<Event> {
    let names = [
        "python3", "node", "bash", "cat", "ls", "gcc", "make", "curl", "sh", "tar",
    ];
    let files = [
        "/etc/hosts",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/app/data/x.json",
        "/etc/shadow",
        "/var/log/app.log",
        "/proc/self/status",
    ];
    (0..n)
        .map(|i| {
            let name = names.get(i % names.len()).copied().unwrap_or("sh");
            let mut e = Event {
                num: i as u64,
                time_ns: 1_700_000_000_000_000_000 + i as u64,
                res: Some(0),
                proc: proc_(name, &["-c", "something --flag value"]).into(),
                ancestors: vec![
                    proc_("bash", &[]).into(),
                    proc_("containerd-shim", &[]).into(),
                ],
                container: (i % 3 != 0)
                    .then(|| Container {
                        id: "0123456789ab".into(),
                        image_repository: Some("docker.io/library/python".into()),
                        privileged: Some(false),
                        ..Container::default()
                    })
                    .map(std::sync::Arc::new),
                ..Event::default()
            };
            match i % 10 {
                0..=4 => {
                    e.evt_type = "openat".into();
                    let f = files.get(i % files.len()).copied().unwrap_or("/tmp/x");
                    e.open_flags = Some(if i % 7 == 0 { 0o1101 } else { 0 });
                    e.set_arg(
                        "flags",
                        rampart_falco::event::open_flags_str(e.open_flags.unwrap_or(0)),
                    );
                    e.fd = Some(Fd::file(3, f));
                }
                5 | 6 => e.evt_type = "execve".into(),
                7 => {
                    e.evt_type = "connect".into();
                    e.fd = Some(Fd::ip_socket(
                        4,
                        (
                            "172.17.0.2"
                                .parse()
                                .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
                            40000,
                        ),
                        (
                            "93.184.216.34"
                                .parse()
                                .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
                            443,
                        ),
                        L4Proto::Tcp,
                        false,
                    ));
                }
                8 => e.evt_type = "read".into(),
                _ => e.evt_type = "close".into(),
            }
            e
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .cloned()
        .unwrap_or_else(|| "../shared/corpus/falco-rules/rules/falco_rules.yaml".into());
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(400_000);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2)
    });
    let t = Instant::now();
    let mut l = rampart_falco::Loader::new();
    l.load(&path, &text);
    let Ok(rs) = l.finish() else {
        eprintln!("{path}: does not load");
        std::process::exit(1)
    };
    println!("load+compile {} rules: {:?}", rs.rules().len(), t.elapsed());
    let evs = events(n);
    let t = Instant::now();
    let mut alerts = 0usize;
    for e in &evs {
        alerts += rs.evaluate(e).count();
    }
    let dt = t.elapsed();
    println!(
        "1 thread: {n} events in {dt:?}: {:.0} ns/event, {:.0} events/s, {alerts} alerts",
        dt.as_nanos() as f64 / n as f64,
        n as f64 / dt.as_secs_f64()
    );
    let evs = events(n);
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get());
    let t = Instant::now();
    let total: usize = std::thread::scope(|s| {
        let handles: Vec<_> = evs
            .chunks(n.div_ceil(threads))
            .map(|chunk| {
                let rs = &rs;
                s.spawn(move || chunk.iter().map(|e| rs.evaluate(e).count()).sum::<usize>())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let dt = t.elapsed();
    println!(
        "{threads} threads: {n} events in {dt:?}: {:.0} events/s, {total} alerts",
        n as f64 / dt.as_secs_f64()
    );
}
