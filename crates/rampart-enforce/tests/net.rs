//! The connection guard on the real kernel (tests run as root): this test process moves itself
//! into a cgroup v2 node the test makes, with the programs attached, and calls connect, sendto
//! and bind over loopback; then the committed BPF object against its source. One process-wide
//! cgroup move, so the network test is alone in this binary (the object test makes no
//! network call).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rampart_enforce::net::{self, Hook, Verdict};
use rampart_enforce::{Egress, Listen, Mode, Policy, Protocol};

/// A cgroup v2 node holding this process; moves it back and removes the node on drop.
struct InCgroup {
    dir: PathBuf,
    back: PathBuf,
}

impl InCgroup {
    fn new() -> Self {
        let back = net::cgroup_of_pid(std::process::id()).unwrap();
        let dir = net::cgroup2_mount()
            .unwrap()
            .join(format!("rampart-enforce-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir, back }
    }
    fn enter(&self) {
        std::fs::write(
            self.dir.join("cgroup.procs"),
            std::process::id().to_string(),
        )
        .unwrap();
    }
}

impl Drop for InCgroup {
    fn drop(&mut self) {
        let _ = std::fs::write(
            self.back.join("cgroup.procs"),
            std::process::id().to_string(),
        );
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// EPERM, what a cgroup sock_addr program's 0 turns into
const EPERM: i32 = 1;

fn eperm(r: std::io::Result<impl Sized>) -> bool {
    matches!(r, Err(e) if e.raw_os_error() == Some(EPERM))
}

fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2))
}

#[test]
fn connections_sends_and_binds_are_judged_by_cidr_port_and_protocol() {
    // servers on the host's loopback, bound before this process enters the cgroup
    let tcp4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = tcp4.local_addr().unwrap().port();
    let tcp6 = TcpListener::bind("[::1]:0").unwrap();
    let b = tcp6.local_addr().unwrap().port();
    let udp_rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let u = udp_rx.local_addr().unwrap().port();
    udp_rx
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    // a free port for the listen rule, and one that is not in it
    let free = |s: &str| TcpListener::bind(s).unwrap().local_addr().unwrap().port();
    let (listen_ok, listen_bad) = (free("127.0.0.1:0"), free("127.0.0.1:0"));

    let mut policy = Policy {
        mode: Mode::Enforce,
        exec: vec![],
        writable: vec![],
        never_read: vec![],
        egress: vec![
            Egress {
                net: "127.0.0.1/32".parse().unwrap(),
                ports: Some((a, a)),
                protocol: Protocol::Tcp,
            },
            Egress {
                net: "::1/128".parse().unwrap(),
                ports: Some((b, b)),
                protocol: Protocol::Tcp,
            },
            Egress {
                net: "127.0.0.0/24".parse().unwrap(),
                ports: Some((u, u)),
                protocol: Protocol::Udp,
            },
        ],
        listen: vec![Listen {
            port: listen_ok,
            protocol: Protocol::Tcp,
        }],
    };
    let cg = InCgroup::new();
    let mut handle = net::attach(&cg.dir, &policy).unwrap();
    cg.enter();

    // TCP over IPv4: the allowed destination, then another address, then another port
    let ok = connect(SocketAddr::from(([127, 0, 0, 1], a)));
    assert!(ok.is_ok(), "{ok:?}");
    assert!(eperm(connect(SocketAddr::from(([127, 0, 0, 2], a)))));
    assert!(eperm(connect(SocketAddr::from(([127, 0, 0, 1], b)))));
    // an IPv6 socket to an IPv4-mapped address is judged by the IPv4 rules
    let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
    assert!(connect(SocketAddr::new(mapped, a)).is_ok());
    let mapped2: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
    assert!(eperm(connect(SocketAddr::new(mapped2, a))));
    // TCP over IPv6
    let v6: IpAddr = "::1".parse().unwrap();
    assert!(connect(SocketAddr::new(v6, b)).is_ok());
    assert!(eperm(connect(SocketAddr::new(v6, a))));
    // UDP: an unconnected send (the sendmsg4 hook) to the allowed port arrives, to another
    // port fails; the socket's bind to port 0 is allowed
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(b"ping", ("127.0.0.1", u)).unwrap();
    let mut buf = [0u8; 8];
    let (n, _) = udp_rx.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
    assert!(eperm(tx.send_to(b"ping", ("127.0.0.1", u.wrapping_add(1)))));
    // TCP as the protocol of a UDP rule's port: no
    assert!(eperm(connect(SocketAddr::from(([127, 0, 0, 1], u)))));
    // bind: the listen port, not another
    assert!(TcpListener::bind(("127.0.0.1", listen_ok)).is_ok());
    assert!(eperm(TcpListener::bind(("127.0.0.1", listen_bad))));

    let counts = handle.counts().unwrap();
    assert_eq!(counts.connect_allowed, 4, "{counts:?}");
    assert_eq!(counts.connect_denied, 6, "{counts:?}");
    assert_eq!(counts.bind_denied, 1, "{counts:?}");
    assert_eq!(
        counts.bind_allowed, 2,
        "the UDP socket's port 0, the listen port: {counts:?}"
    );
    assert_eq!((counts.connect_would_deny, counts.events_lost), (0, 0));
    let events = handle.events();
    let me = std::process::id();
    assert!(
        events
            .iter()
            .all(|e| e.pid == me && e.verdict == Verdict::Denied),
        "{events:#?}"
    );
    let hooks: Vec<Hook> = events.iter().map(|e| e.hook).collect();
    assert_eq!(
        hooks,
        [
            Hook::Connect4,
            Hook::Connect4,
            Hook::Connect6,
            Hook::Connect6,
            Hook::Sendmsg4,
            Hook::Connect4,
            Hook::Bind4
        ]
    );
    // the mapped destination is reported as the IPv4 address it reaches
    assert!(
        events
            .iter()
            .any(|e| e.hook == Hook::Connect6 && e.addr == "127.0.0.2".parse::<IpAddr>().unwrap())
    );
    assert!(
        events
            .iter()
            .any(|e| e.hook == Hook::Connect6 && e.addr == v6 && e.port == a)
    );
    assert!(
        events
            .iter()
            .any(|e| e.hook == Hook::Sendmsg4 && e.protocol == Some(Protocol::Udp))
    );
    assert!(
        events
            .iter()
            .any(|e| e.hook == Hook::Bind4 && e.port == listen_bad)
    );

    // switched to audit without detaching: the same call goes through, reported
    policy.mode = Mode::Audit;
    handle.update(&policy).unwrap();
    let r = connect(SocketAddr::from(([127, 0, 0, 1], b)));
    assert!(!eperm(r), "audit mode lets the call through");
    let counts = handle.counts().unwrap();
    assert_eq!(
        (counts.connect_denied, counts.connect_would_deny),
        (6, 1),
        "{counts:?}"
    );
    let events = handle.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].verdict, Verdict::WouldDeny);
    assert_eq!(events[0].port, b);

    // the allowed connection works end to end
    let (mut server_side, _) = tcp4.accept().unwrap();
    drop(ok);
    let mut sink = Vec::new();
    let _ = server_side.read_to_end(&mut sink);

    // detached on drop: the call that was denied goes through (refused by the peer)
    drop(handle);
    assert!(!eperm(connect(SocketAddr::from(([127, 0, 0, 2], a)))));
    drop(cg);
}

#[test]
fn bpf_object_matches_source() {
    let out = std::env::temp_dir().join(format!("rampart-netguard-{}.bpf.o", std::process::id()));
    let st = Command::new("bash")
        .arg(rampart_testkit::paths::script("build-bpf.sh"))
        .arg("netguard")
        .arg(&out)
        .status()
        .expect("scripts/build-bpf.sh");
    assert!(st.success(), "scripts/build-bpf.sh netguard failed");
    let built = std::fs::read(&out).expect("built object");
    let _ = std::fs::remove_file(&out);
    assert!(
        built == net::BPF_OBJECT,
        "crates/rampart-enforce/bpf/netguard.bpf.o does not match its source: run scripts/build-bpf.sh netguard and commit the object"
    );
}
