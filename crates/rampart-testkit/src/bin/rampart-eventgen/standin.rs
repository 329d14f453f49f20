//! Stand-ins: this binary installed under the name of a program the actions execute and the
//! rules key on, where the container's busybox has no such applet (`ssh`, `scp`, `nmap`, `curl`,
//! `apt-get`, `pkexec`, `sudoedit`, `debugfs`) or where busybox's applet cannot do what the action
//! needs (`nc`: busybox's has no `-u`, and connects blocking, so a connect that gets no answer
//! never returns and no `connect` exit is ever seen).
//!
//! A rule sees the stand-in as it would see the real program: the exec (`proc.name`,
//! `proc.exe`, `proc.cmdline`, `proc.env`), then whatever network calls the real program makes
//! first: `nc` and `ssh` resolve the host and connect (TCP nonblocking, so the connect returns
//! `EINPROGRESS` at once, or UDP); `nc -e PROG` hands the socket to PROG on its standard input
//! and output (`dup2`) once connected. The others print what they are and exit 0.

use std::ffi::OsString;
use std::io::Read;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};
use std::time::Duration;

/// The names this binary answers to as a stand-in.
pub(crate) const STANDINS: &[&str] = &[
    "nc", "ssh", "scp", "nmap", "curl", "apt-get", "pkexec", "sudoedit", "debugfs",
];

/// How long a stand-in waits for a TCP connect to complete (the real tools wait 1 to 5 s,
/// shortened so the whole suite stays fast: the connect call itself is the signal).
const CONNECT_WAIT: Duration = Duration::from_millis(200);

/// Runs the stand-in named `argv0`, if it is one.
pub(crate) fn dispatch(argv0: &str, args: &[OsString]) -> Option<ExitCode> {
    if !STANDINS.contains(&argv0) {
        return None;
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    Some(match argv0 {
        "nc" => netcat(&args),
        "ssh" => ssh(&args),
        other => {
            eprintln!("{other}: rampart-eventgen stand-in (exec only), args {args:?}");
            ExitCode::SUCCESS
        }
    })
}

fn resolve(host: &str, port: &str) -> Result<SocketAddr, String> {
    let port: u16 = port.parse().map_err(|_| format!("bad port {port:?}"))?;
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("no address for {host}"))
}

/// `nc [-u] [-w SEC] [-e PROG] HOST PORT`
fn netcat(args: &[String]) -> ExitCode {
    let (mut udp, mut prog, mut positional) = (false, None, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-u" => udp = true,
            "-e" | "-c" => prog = it.next().cloned(),
            "-w" | "-i" | "-p" => {
                it.next();
            }
            flag if flag.starts_with('-') => {}
            _ => positional.push(a.clone()),
        }
    }
    let (Some(host), Some(port)) = (positional.first(), positional.get(1)) else {
        eprintln!("nc: usage: nc [-u] [-w SEC] [-e PROG] HOST PORT");
        return ExitCode::from(1);
    };
    let addr = match resolve(host, port) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("nc: {e}");
            return ExitCode::from(1);
        }
    };
    if udp {
        let local: SocketAddr = if addr.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let sent = UdpSocket::bind(local).and_then(|s| {
            s.connect(addr)?;
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input)?;
            if !input.is_empty() {
                s.send(&input)?;
            }
            Ok(())
        });
        return match sent {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("nc: udp {addr}: {e}");
                ExitCode::from(1)
            }
        };
    }
    match TcpStream::connect_timeout(&addr, CONNECT_WAIT) {
        Ok(stream) => match prog {
            Some(prog) => {
                // what `nc -e` does: the connection becomes the program's stdin and stdout
                if let Err(e) = nix::unistd::dup2_stdin(&stream)
                    .and_then(|()| nix::unistd::dup2_stdout(&stream))
                {
                    eprintln!("nc: dup2: {e}");
                    return ExitCode::from(1);
                }
                let e = Command::new(&prog).exec();
                eprintln!("nc: exec {prog}: {e}");
                ExitCode::from(1)
            }
            None => ExitCode::SUCCESS,
        },
        Err(e) => {
            eprintln!("nc: connect {addr}: {e}");
            ExitCode::from(1)
        }
    }
}

/// `ssh [-p PORT] [USER@]HOST`: resolves and connects, never authenticates.
fn ssh(args: &[String]) -> ExitCode {
    let (mut port, mut dest) = ("22".to_string(), None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-p" => {
                if let Some(p) = it.next() {
                    port.clone_from(p);
                }
            }
            flag if flag.starts_with('-') => {}
            _ if dest.is_none() => dest = Some(a.clone()),
            _ => {}
        }
    }
    let Some(dest) = dest else {
        eprintln!("ssh: usage: ssh [-p PORT] [USER@]HOST");
        return ExitCode::from(255);
    };
    let host = dest.rsplit('@').next().unwrap_or(&dest);
    let result = resolve(host, &port).and_then(|a| {
        TcpStream::connect_timeout(&a, CONNECT_WAIT).map_err(|e| format!("{a}: {e}"))
    });
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ssh: connect to host {host} port {port}: {e}");
            ExitCode::from(255)
        }
    }
}
