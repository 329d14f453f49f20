//! Micro-benchmarks of the enforcement (driven by bench/enforce.sh; figures, not tests):
//!
//!   enforce_bench connect N RULES   loopback TCP connects, this process in a fresh cgroup v2
//!                                   node, without then with the connection guard attached
//!                                   (RULES egress rules, the allowed one last: the worst case
//!                                   of the rule loop); rounds alternate, medians printed
//!   enforce_bench exec N            fork+exec+wait of /bin/true, N times: run it plain and
//!                                   under rampart-guard to compare (Landlock checks each exec)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Read;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Instant;

use rampart_enforce::{Egress, Mode, Policy, Protocol, net};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// ns per TCP connect (handshake included; the server closes first, so TIME_WAIT stays on its
/// side and the client's ephemeral ports are not exhausted)
fn connects(n: usize, port: u16) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _ = s.read(&mut [0u8; 1]);
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

/// ns per UDP socket + connect + close: the connect4 hook without a handshake
fn udp_connects(n: usize, port: u16) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.connect(("127.0.0.1", port)).unwrap();
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("connect") => {
            let n: usize = args[2].parse().unwrap();
            let rules: u16 = args[3].parse().unwrap();
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = l.local_addr().unwrap().port();
            std::thread::spawn(move || {
                for s in l.incoming() {
                    drop(s);
                }
            });
            let back = net::cgroup_of_pid(std::process::id()).unwrap();
            let dir = net::cgroup2_mount()
                .unwrap()
                .join(format!("rampart-enforce-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("cgroup.procs"), std::process::id().to_string()).unwrap();
            let mut egress: Vec<Egress> = (1..rules)
                .map(|i| Egress {
                    net: format!("10.{}.0.0/16", i % 250).parse().unwrap(),
                    ports: Some((i, i)),
                    protocol: Protocol::Tcp,
                })
                .collect();
            for protocol in [Protocol::Tcp, Protocol::Udp] {
                egress.push(Egress {
                    net: "127.0.0.1/32".parse().unwrap(),
                    ports: Some((port, port)),
                    protocol,
                });
            }
            let policy = Policy {
                mode: Mode::Enforce,
                exec: vec![],
                writable: vec![],
                never_read: vec![],
                egress,
                listen: vec![],
            };
            connects(n / 10, port); // warm-up
            let (mut plain, mut guarded) = (Vec::new(), Vec::new());
            let (mut uplain, mut uguarded) = (Vec::new(), Vec::new());
            for _ in 0..7 {
                plain.push(connects(n, port));
                uplain.push(udp_connects(n * 5, port));
                let h = net::attach(&dir, &policy).unwrap();
                guarded.push(connects(n, port));
                uguarded.push(udp_connects(n * 5, port));
                let c = h.counts().unwrap();
                assert_eq!(c.connect_allowed as usize, n * 6, "{c:?}");
                drop(h);
            }
            std::fs::write(back.join("cgroup.procs"), std::process::id().to_string()).unwrap();
            let _ = std::fs::remove_dir(&dir);
            let (p, g) = (median(uplain), median(uguarded));
            println!(
                "udp connect: {} socket+connect+close x 7 rounds, {} egress rules: plain {:.2} us, guarded {:.2} us, {:+.0} ns",
                n * 5,
                policy.egress.len(),
                p / 1e3,
                g / 1e3,
                g - p
            );
            let (p, g) = (median(plain), median(guarded));
            println!(
                "tcp connect: {n} loopback TCP connects x 7 rounds, {} egress rules: plain {:.2} us, guarded {:.2} us, {:+.0} ns ({:+.1} %)",
                policy.egress.len(),
                p / 1e3,
                g / 1e3,
                g - p,
                (g - p) / p * 100.0
            );
        }
        Some("exec") => {
            let n: usize = args[2].parse().unwrap();
            let t = Instant::now();
            for _ in 0..n {
                let s = Command::new("/bin/true").status().unwrap();
                assert!(s.success());
            }
            println!("{:.1}", t.elapsed().as_nanos() as f64 / n as f64 / 1e3);
        }
        _ => panic!("usage: enforce_bench connect N RULES | exec N"),
    }
}
