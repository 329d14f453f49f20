//! What the monitor's end-to-end tests share: the monitor run in-process (`pipeline::run` on a
//! thread, its JSON alert lines captured one by one with the time each was written), stopped on
//! demand or when dropped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use rampart_monitor::config::MonitorConfig;
use rampart_monitor::pipeline::{self, ReadyInfo, RunOptions, Summary};
use serde_json::Value;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One alert line and when the sink wrote it (ns since the epoch).
#[derive(Debug, Clone)]
pub struct Alert {
    pub json: Value,
    pub written_ns: u128,
}

impl Alert {
    pub fn rule(&self) -> &str {
        self.json["rule"].as_str().unwrap_or("")
    }
    pub fn container(&self) -> &str {
        self.json["output_fields"]["container.id"]
            .as_str()
            .unwrap_or("")
    }
    pub fn event_ns(&self) -> u128 {
        let t = self.json["time"].as_str().unwrap_or("");
        let ts: jiff::Timestamp = t.parse().unwrap();
        ts.as_nanosecond() as u128
    }
}

struct Capture(Sender<Alert>, Vec<u8>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.1.extend_from_slice(b);
        while let Some(nl) = self.1.iter().position(|c| *c == b'\n') {
            let line: Vec<u8> = self.1.drain(..=nl).collect();
            let written_ns = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            if let Ok(json) = serde_json::from_slice(&line) {
                let _ = self.0.send(Alert { json, written_ns });
            }
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A monitor running in this process until dropped.
pub struct Running {
    stop: Arc<AtomicBool>,
    alerts: Mutex<Receiver<Alert>>,
    seen: Mutex<Vec<Alert>>,
    pub notes: Arc<Mutex<Vec<String>>>,
    thread: Mutex<Option<std::thread::JoinHandle<Result<Summary, String>>>>,
    pub ready: ReadyInfo,
}

impl Running {
    pub fn start(config: MonitorConfig, rules: Vec<(String, String)>) -> Running {
        let (tx, rx) = std::sync::mpsc::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let notes: Arc<Mutex<Vec<String>>> = Arc::default();
        let opts = RunOptions {
            config,
            rules,
            duration: None,
            stop: Arc::clone(&stop),
            stdout: Box::new(Capture(tx, Vec::new())),
            notes: {
                let notes = Arc::clone(&notes);
                Box::new(move |n| {
                    eprintln!("monitor: {n}");
                    notes.lock().unwrap().push(n.to_owned());
                })
            },
            ready: Some(Box::new(move |info| {
                let _ = ready_tx.send(info);
            })),
        };
        let thread = std::thread::spawn(move || pipeline::run(opts).map_err(|e| e.to_string()));
        let ready = match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(r) => r,
            Err(_) => panic!("the monitor did not start: {:?}", thread.join()),
        };
        Running {
            stop,
            alerts: Mutex::new(rx),
            seen: Mutex::default(),
            notes,
            thread: Mutex::new(Some(thread)),
            ready,
        }
    }

    /// Alerts received so far, plus those arriving within `wait` (stopping early once `until`
    /// holds for the alerts collected).
    pub fn collect(&self, wait: Duration, until: impl Fn(&[Alert]) -> bool) -> Vec<Alert> {
        let deadline = Instant::now() + wait;
        let rx = self.alerts.lock().unwrap();
        let mut seen = self.seen.lock().unwrap();
        loop {
            while let Ok(a) = rx.try_recv() {
                seen.push(a);
            }
            if until(&seen) || Instant::now() >= deadline {
                return seen.clone();
            }
            if let Ok(a) = rx.recv_timeout(Duration::from_millis(10)) {
                seen.push(a);
            }
        }
    }

    pub fn stop(&self) -> Summary {
        self.stop.store(true, Ordering::Relaxed);
        let t = self.thread.lock().unwrap().take().unwrap();
        t.join().unwrap().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.lock().unwrap().take() {
            let _ = t.join();
        }
    }
}
