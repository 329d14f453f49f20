//! A real PostgreSQL server per test (Debian's `postgresql`, installed when missing): a new
//! cluster in a temporary directory (`initdb`, trust authentication on loopback only), its
//! `postgres` started as the `postgres` user (the server refuses root) on a free loopback port,
//! stopped when the handle is dropped. [`Postgres::database`] makes a fresh database for each
//! store a test opens.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::registry::free_port;
use crate::tools::ensure_tools;

/// The directory of the installed server's programs (`/usr/lib/postgresql/<major>/bin`).
pub fn bin_dir() -> PathBuf {
    let find = || {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("postgres").is_file() && b.join("initdb").is_file())
            .collect();
        dirs.sort();
        dirs.pop()
    };
    if let Some(d) = find() {
        return d;
    }
    // the server (the client alone is often there): Debian 12's PostgreSQL is 15
    ensure_tools(&["/usr/lib/postgresql/15/bin/postgres:postgresql"]);
    find().unwrap_or_else(|| {
        panic!("no PostgreSQL server under /usr/lib/postgresql after installing postgresql")
    })
}

/// The uid and gid of the `postgres` user (Debian's package creates it).
fn postgres_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"postgres")).then(|| {
                (
                    f.get(2).and_then(|v| v.parse().ok()).unwrap_or(0),
                    f.get(3).and_then(|v| v.parse().ok()).unwrap_or(0),
                )
            })
        })
        .unwrap_or_else(|| panic!("no postgres user in /etc/passwd (is postgresql installed?)"))
}

fn chown_tree(dir: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
    if dir.is_dir() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            chown_tree(&e.path(), uid, gid);
        }
    }
}

/// A running server, stopped on drop.
pub struct Postgres {
    child: Option<Child>,
    /// the loopback port it listens on
    pub port: u16,
    uid: u32,
    gid: u32,
    data: PathBuf,
    sock: PathBuf,
    watchdogs: Vec<Child>,
    _dir: tempfile::TempDir,
    next: std::sync::atomic::AtomicUsize,
}

impl Postgres {
    /// Initialises a cluster and starts its server; waits until it accepts connections.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let (uid, gid) = postgres_ids();
        let dir = tempfile::Builder::new()
            .prefix("rampart-pg.")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir_all(&sock).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        chown_tree(dir.path(), uid, gid);
        let out = Command::new(bin.join("initdb"))
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data)
            .uid(uid)
            .gid(gid)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut pg = Postgres {
            child: None,
            port,
            uid,
            gid,
            data,
            sock,
            watchdogs: Vec::new(),
            _dir: dir,
            next: std::sync::atomic::AtomicUsize::new(0),
        };
        pg.spawn();
        pg
    }

    /// Starts the server on the cluster (again, after [`Postgres::stop`]); waits until it
    /// accepts connections.
    pub fn spawn(&mut self) {
        let bin = bin_dir();
        let log_path = self._dir.path().join("server.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        std::os::unix::fs::chown(&log_path, Some(self.uid), Some(self.gid)).unwrap();
        let child = Command::new(bin.join("postgres"))
            .arg("-D")
            .arg(&self.data)
            .args([
                "-p",
                &self.port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-k",
            ])
            .arg(&self.sock)
            .uid(self.uid)
            .gid(self.gid)
            .current_dir(self._dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        // The server must not outlive the test process, even when the handle is never dropped
        // (a server shared through a static): a watchdog holds the read end of a pipe whose
        // write end only this process has; when the process ends, the kernel closes it and
        // the watchdog stops the server and removes its files.
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "cat > /dev/null; kill -QUIT {pid} 2>/dev/null; sleep 3; kill -KILL {pid} 2>/dev/null; rm -rf '{dir}'",
                pid = child.id(),
                dir = self._dir.path().display()
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.watchdogs.push(watchdog);
        self.child = Some(child);
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && self.psql("postgres", "SELECT 1").is_ok()
            {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "postgres exited ({status}): {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            assert!(Instant::now() < end, "postgres did not start in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The URL of database `db` (user `postgres`, no password: trust on loopback).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL with `psql` in database `db`; its output, or its error text.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let psql = bin_dir().join("psql");
        let out = Command::new(psql)
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .arg(self.url(db))
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// A new, empty database; its URL.
    pub fn database(&self) -> String {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        self.url(&name)
    }

    /// Stops the server now (immediate shutdown, as a crash or a lost host would: open
    /// connections are cut, nothing is flushed politely). [`Postgres::spawn`] starts it again.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id();
        let _ = Command::new("kill")
            .args(["-QUIT", &pid.to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        // the watchdogs find the server gone and remove what is left
        for w in &mut self.watchdogs {
            drop(w.stdin.take());
        }
    }
}
