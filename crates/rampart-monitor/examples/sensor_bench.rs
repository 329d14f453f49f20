//! Figures for docs/monitor-sensor.md (a measurement, not a test):
//! `cargo run --release -p rampart-monitor --example sensor_bench [OPENS] [GENERATORS]`
//! - load time of the sensor;
//! - cost per event: a child's open/close micro-loop, without the sensor, then with it loaded
//!   and read (the difference per open is the cost of one open event, hooks plus path walk);
//! - the event rate one reader thread sustains: GENERATORS children open at full speed while
//!   this process reads and decodes; the kernel's emitted and dropped counters are reported.
use rampart_monitor::sensor::{EventKind, Filter, Sensor, SensorConfig};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn child_loop(n: u64) -> std::io::Result<()> {
    for _ in 0..n {
        drop(std::fs::File::open("/etc/hostname")?);
    }
    Ok(())
}

fn run_children(n: u64, k: usize) -> Result<Duration, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let mut kids = Vec::new();
    for _ in 0..k {
        kids.push(Command::new(&exe).arg("child").arg(n.to_string()).spawn()?);
    }
    for mut c in kids {
        c.wait()?;
    }
    Ok(started.elapsed())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
        return Ok(child_loop(n)?);
    }
    let n: u64 = args.first().and_then(|n| n.parse().ok()).unwrap_or(200_000);
    let k: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(2);

    // cost per event: the same loop in one child, best of 3: without the sensor; with it
    // loaded but opens filtered out in the kernel; with open events produced and nobody
    // reading during the loop (the ring holds them all), so the figure is the kernel's cost
    let best = |f: &mut dyn FnMut() -> Result<Duration, Box<dyn std::error::Error>>| {
        let mut b = Duration::MAX;
        for _ in 0..3 {
            b = b.min(f()?);
        }
        Ok::<Duration, Box<dyn std::error::Error>>(b)
    };
    let base = best(&mut || run_children(n, 1))?;
    let started = Instant::now();
    let mut sensor = Sensor::load(SensorConfig {
        ring_bytes: 256 << 20,
        filter: Filter {
            enabled: vec![EventKind::Exec],
            ..Filter::default()
        },
        ..SensorConfig::default()
    })?;
    let load = started.elapsed();
    let filtered = best(&mut || run_children(n, 1))?;
    sensor.set_filter(&Filter::default())?;
    let mut produced = Duration::MAX;
    let mut drain_rate = 0f64;
    for _ in 0..3 {
        produced = produced.min(run_children(n, 1)?);
        // the ring now holds the loop's events: how fast does one thread read and decode?
        let t = Instant::now();
        let mut got = 0usize;
        loop {
            let k = sensor.poll(Duration::from_millis(1), |ev| {
                std::hint::black_box(ev);
            })?;
            if k == 0 {
                break;
            }
            got += k;
        }
        drain_rate = drain_rate.max(got as f64 / t.elapsed().as_secs_f64());
    }
    // delivery latency in a quiet period: 300 execs of /bin/true, 5 ms apart, read with a
    // 1 ms poll timeout; latency = receipt (wall clock) - the event's kernel time
    let latency = {
        sensor.set_filter(&Filter {
            enabled: vec![EventKind::Exec],
            ..Filter::default()
        })?;
        let spawner = std::thread::spawn(move || {
            for _ in 0..300 {
                let _ = Command::new("/bin/true").status();
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let mut lat = Vec::new();
        let boot_to_wall = sensor.wall_clock_ns(0);
        while !spawner.is_finished() {
            sensor.poll(Duration::from_millis(1), |ev| {
                if ev.header().comm == "true" {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_nanos() as i128)
                        .unwrap_or(0);
                    lat.push(now - (boot_to_wall + i128::from(ev.header().boot_ns)));
                }
            })?;
        }
        let _ = spawner.join();
        lat.sort_unstable();
        sensor.set_filter(&Filter::default())?;
        lat
    };
    let stop = Arc::new(AtomicBool::new(false));
    let read = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, read) = (stop.clone(), read.clone());
        std::thread::spawn(
            move || -> Result<Sensor, rampart_monitor::sensor::SensorError> {
                while !stop.load(Ordering::Relaxed) {
                    let n = sensor.poll(Duration::from_millis(50), |ev| {
                        std::hint::black_box(ev);
                    })?;
                    read.fetch_add(n as u64, Ordering::Relaxed);
                }
                Ok(sensor)
            },
        )
    };
    // sustained rate: k generators at full speed, one reader decoding
    let before = read.load(Ordering::Relaxed);
    let blast = run_children(n, k)?;
    std::thread::sleep(Duration::from_millis(300));
    let during = read.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    let sensor = reader.join().map_err(|_| "reader panicked")??;
    let stats = sensor.stats()?;
    let per = |d: Duration| d.as_nanos() as f64 / n as f64;
    println!("load time: {:.1} ms", load.as_secs_f64() * 1e3);
    println!(
        "open/close loop, ns/iteration: {:.0} without the sensor, {:.0} loaded with opens filtered in the kernel (+{:.0}), {:.0} producing open events (+{:.0} per event)",
        per(base),
        per(filtered),
        per(filtered) - per(base),
        per(produced),
        per(produced) - per(base)
    );
    let pct = |p: usize| latency.get(latency.len() * p / 100).copied().unwrap_or(0) as f64 / 1e6;
    println!(
        "exec event delivery latency, 1 ms poll timeout, {} events: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latency.len(),
        pct(50),
        pct(99),
        latency.last().copied().unwrap_or(0) as f64 / 1e6
    );
    println!("one reader thread drained a full ring at {drain_rate:.0} events/s (read + decode)");
    println!(
        "{k} generators x {n} opens in {:.2} s while one thread read and decoded: {} events read, {:.0} events/s; kernel totals emitted {} dropped {}",
        blast.as_secs_f64(),
        during,
        during as f64 / blast.as_secs_f64(),
        stats.total_emitted(),
        stats.total_dropped()
    );
    Ok(())
}
