//! Print, as JSON lines, the sensor's events of a command and its descendants:
//! `cargo run -p rampart-monitor --example sensor_dump -- CMD ARGS...`
//! `SENSOR_KINDS=exec,open` limits the kinds the kernel produces (default: all).
use rampart_monitor::sensor::{EventKind, Filter, RawEvent, Sensor, SensorConfig};
use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    if let Err(e) = dump() {
        let mut msg = e.to_string();
        let mut src = e.source();
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        eprintln!("sensor_dump: {msg}");
        std::process::exit(2);
    }
}

fn dump() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = args.split_first().ok_or("usage: sensor_dump CMD ARGS...")?;
    let mut config = SensorConfig::default();
    if let Ok(kinds) = std::env::var("SENSOR_KINDS") {
        let wanted: Vec<&str> = kinds.split(',').collect();
        config.filter = Filter {
            enabled: EventKind::ALL
                .into_iter()
                .filter(|k| wanted.contains(&k.name()))
                .collect(),
            ..Filter::default()
        };
    }
    let mut sensor = Sensor::load(config)?;
    let mut child = Command::new(cmd).args(rest).spawn()?;
    let mut pids = HashSet::from([child.id()]);
    let mut done: Option<Instant> = None;
    loop {
        sensor.poll(Duration::from_millis(20), |ev| {
            if let RawEvent::Fork(f) = &ev {
                if pids.contains(&f.header.pid) {
                    pids.insert(f.child_pid);
                }
            }
            if pids.contains(&ev.header().pid) {
                println!("{}", serde_json::to_string(&ev).unwrap_or_default());
            }
        })?;
        if done.is_none() && child.try_wait()?.is_some() {
            done = Some(Instant::now());
        }
        if done.is_some_and(|d| d.elapsed() > Duration::from_millis(300)) {
            break;
        }
    }
    eprintln!("{}", serde_json::to_string(&sensor.stats()?)?);
    Ok(())
}
