//! The kernel sensor: CO-RE eBPF programs (bpf/sensor.bpf.c, compiled by
//! scripts/build-bpf.sh into the committed bpf/sensor.bpf.o) loaded with aya, a pure-Rust loader
//! that relocates the object against /sys/kernel/btf/vmlinux. See docs/monitor-sensor.md.
//!
//! ```no_run
//! use rampart_monitor::sensor::{EventKind, RawEvent, Sensor, SensorConfig};
//! use std::time::Duration;
//! let mut sensor = Sensor::load(SensorConfig::default())?;
//! sensor.poll(Duration::from_millis(100), |ev| {
//!     if let RawEvent::Exec(e) = ev {
//!         println!("{} {} {:?}", e.header.pid, e.path, e.argv);
//!     }
//! })?;
//! println!("{:?}", sensor.stats()?);
//! # Ok::<(), rampart_monitor::sensor::SensorError>(())
//! ```

mod event;
mod held;
pub mod open_filter;

pub use event::{
    DecodeError, EventKind, Exec, Exit, FLAG_HELD, FLAG_KILLED, FLAG_PATH_ERROR, FLAG_TRUNCATED,
    FileOp, Fork, Header, RawEvent, Syscall, decode,
};
pub use held::{HeldTask, SignalError, kill_cgroup};

use aya::maps::{Array, HashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf, EbpfLoader};
use rampart_falco::prefilter::{OpenFilter, TargetFilter};
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// 8-byte alignment for the embedded ELF (the ELF parser reads its headers in place).
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static ALIGNED_OBJECT: &Aligned<[u8]> = &Aligned(*include_bytes!("../../bpf/sensor.bpf.o"));

/// The compiled BPF object (scripts/build-bpf.sh; checked against its source by a test).
pub static BPF_OBJECT: &[u8] = &ALIGNED_OBJECT.0;

const BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

/// Everything that can go wrong loading or running the sensor.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// the sensor needs root (CAP_BPF and CAP_PERFMON at least, CAP_SYS_ADMIN for bpf_send_signal's reach, CAP_KILL)
    #[error("the eBPF sensor needs root (effective uid is {0})")]
    NotRoot(u32),
    /// no kernel BTF: the kernel was built without CONFIG_DEBUG_INFO_BTF
    #[error(
        "no kernel BTF at {BTF_PATH}: the kernel must be built with CONFIG_DEBUG_INFO_BTF=y for CO-RE"
    )]
    NoBtf,
    /// the BTF is there but could not be read
    #[error("reading the kernel BTF at {BTF_PATH}")]
    Btf(#[source] aya::BtfError),
    /// the object could not be parsed or its maps created
    #[error("loading the sensor's BPF object")]
    Object(#[source] aya::EbpfError),
    /// a program is missing from the object
    #[error("program {0} is missing from the BPF object")]
    MissingProgram(&'static str),
    /// a program failed the verifier or could not be loaded
    #[error("loading BPF program {name} ({hook})")]
    Load {
        /// the program
        name: &'static str,
        /// the hook it attaches to
        hook: &'static str,
        /// aya's error (the verifier log when there is one)
        #[source]
        source: aya::programs::ProgramError,
    },
    /// a loaded program failed to attach
    #[error("attaching BPF program {name} to {hook}")]
    Attach {
        /// the program
        name: &'static str,
        /// the hook
        hook: &'static str,
        /// aya's error
        #[source]
        source: aya::programs::ProgramError,
    },
    /// a map is missing or of the wrong type
    #[error("BPF map {name}")]
    Map {
        /// the map
        name: &'static str,
        /// aya's error
        #[source]
        source: aya::maps::MapError,
    },
    /// a map is missing from the object
    #[error("BPF map {0} is missing from the object")]
    MissingMap(&'static str),
    /// the ring buffer size is not a power of two of at least a page
    #[error("ring buffer size {0} must be a power of two, at least 4096 bytes")]
    RingSize(u32),
    /// poll(2) on the ring buffer failed
    #[error("waiting for events")]
    Poll(#[source] std::io::Error),
    /// a kill-list name longer than a comm (15 bytes)
    #[error("kill-list name {0:?} is longer than 15 bytes (the kernel matches the comm)")]
    KillName(String),
}

/// Which events the kernel produces, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// the kinds produced (derived from the loaded rules)
    pub enabled: Vec<EventKind>,
    /// the kinds whose task is held (SIGSTOP) until user space kills or resumes it; container
    /// tasks only (a mount namespace other than the host's)
    pub held: Vec<EventKind>,
    /// produce events of host processes (the host's mount namespace)
    pub host: bool,
    /// hold only tasks of these cgroup ids (`None`: any container task)
    pub hold_cgroups: Option<Vec<u64>>,
    /// the opens worth sending (the rest are counted in [`Stats::filtered`]); derived from the
    /// rules by [`OpenFilter::for_rules`]
    pub open: OpenFilter,
    /// the symlinks worth sending, by target text ([`TargetFilter::for_rules`]; the rest are
    /// counted in [`Stats::filtered`] too)
    pub symlinks: TargetFilter,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            enabled: EventKind::ALL.to_vec(),
            held: Vec::new(),
            host: true,
            hold_cgroups: None,
            open: OpenFilter::All {
                reason: "every open asked for".into(),
            },
            symlinks: TargetFilter::All {
                reason: "every symlink asked for".into(),
            },
        }
    }
}

/// How to load the sensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorConfig {
    /// ring buffer size in bytes (power of two)
    pub ring_bytes: u32,
    /// the initial filter
    pub filter: Filter,
    /// the host's mount namespace inode; `None`: this process's (`/proc/self/ns/mnt`)
    pub host_mntns: Option<u64>,
    /// wake a sleeping reader once this many bytes are pending (0: at every event). Held
    /// events always wake it. Waking costs about 4 us per event on a VM, so batching is the
    /// default; the `poll` timeout bounds how long a batch below the threshold can wait.
    pub wakeup_bytes: u32,
}

impl Default for SensorConfig {
    fn default() -> Self {
        SensorConfig {
            ring_bytes: 16 << 20,
            filter: Filter::default(),
            host_mntns: None,
            wakeup_bytes: 64 << 10,
        }
    }
}

/// What the kernel emitted and lost, summed over CPUs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// events written to the ring buffer, per kind
    pub emitted: BTreeMap<EventKind, u64>,
    /// events lost (ring buffer full, or the per-CPU buffer busy), per kind
    pub dropped: BTreeMap<EventKind, u64>,
    /// events lost per cgroup id
    pub dropped_by_cgroup: BTreeMap<u64, u64>,
    /// records user space could not decode (never expected; counted, not ignored)
    pub undecodable: u64,
    /// opens and symlinks the kernel did not send because no rule can match them
    pub filtered: u64,
}

impl Stats {
    /// All events lost.
    pub fn total_dropped(&self) -> u64 {
        self.dropped.values().sum()
    }
    /// All events emitted.
    pub fn total_emitted(&self) -> u64 {
        self.emitted.values().sum()
    }
}

/// (program name in the object, BTF tracepoint it attaches to)
enum Hook {
    Tp(&'static str, &'static str),
}

const HOOKS: &[Hook] = &[
    Hook::Tp("BPF_exec", "sched_process_exec"),
    Hook::Tp("BPF_fork", "sched_process_fork"),
    Hook::Tp("BPF_exit", "sched_process_exit"),
    Hook::Tp("BPF_sys_exit", "sys_exit"),
];

/// Reads the kernel's counters; shareable with another thread (a metrics endpoint) while the
/// reader thread owns the `Sensor`. Keeps the maps alive, not the programs.
pub struct StatsReader {
    stats: PerCpuArray<MapData, u64>,
    filtered: PerCpuArray<MapData, u64>,
    drops_by_cgroup: HashMap<MapData, u64, u64>,
    undecodable: AtomicU64,
}

impl StatsReader {
    /// The kernel's counters (summed over CPUs) and user space's.
    pub fn read(&self) -> Result<Stats, SensorError> {
        let map_err = |source| SensorError::Map {
            name: "stats",
            source,
        };
        let mut out = Stats {
            undecodable: self.undecodable.load(Ordering::Relaxed),
            ..Stats::default()
        };
        for kind in EventKind::ALL {
            let base = kind.number() * 2;
            let emitted: u64 = self.stats.get(&base, 0).map_err(map_err)?.iter().sum();
            let dropped: u64 = self
                .stats
                .get(&(base + 1), 0)
                .map_err(map_err)?
                .iter()
                .sum();
            if emitted > 0 {
                out.emitted.insert(kind, emitted);
            }
            if dropped > 0 {
                out.dropped.insert(kind, dropped);
            }
        }
        out.filtered = self
            .filtered
            .get(&0, 0)
            .map_err(|source| SensorError::Map {
                name: "filtered",
                source,
            })?
            .iter()
            .sum();
        for entry in self.drops_by_cgroup.iter() {
            let (cgroup, n) = entry.map_err(|source| SensorError::Map {
                name: "drops_by_cgroup",
                source,
            })?;
            out.dropped_by_cgroup.insert(cgroup, n);
        }
        Ok(out)
    }
}

/// Where events come from: the kernel sensor, or a fake in the tests of what consumes them.
pub trait EventSource {
    /// Hand available events to `f`, waiting up to `timeout` when there is none.
    fn poll_events(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(RawEvent),
    ) -> Result<usize, SensorError>;
    /// What was emitted and lost.
    fn stats(&self) -> Result<Stats, SensorError>;
}

impl EventSource for Sensor {
    fn poll_events(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(RawEvent),
    ) -> Result<usize, SensorError> {
        self.poll(timeout, f)
    }
    fn stats(&self) -> Result<Stats, SensorError> {
        Sensor::stats(self)
    }
}

/// The loaded, attached sensor. Dropping it detaches every program.
pub struct Sensor {
    ring: RingBuf<MapData>,
    config: Array<MapData, [u64; 8]>,
    /// the `config` value last written
    config_value: [u64; 8],
    counters: Arc<StatsReader>,
    kill_on_exec: HashMap<MapData, [u8; 16], u32>,
    hold_cgroups: HashMap<MapData, u64, u32>,
    open_filter: Array<MapData, [u8; open_filter::VALUE_BYTES]>,
    open_names: HashMap<MapData, [u8; open_filter::KEY_BYTES], u32>,
    host_mntns: u64,
    wakeup_bytes: u32,
    /// boot → wall offset, ns
    boot_to_wall: i128,
    load_time: Duration,
    // last: the programs stay attached while the maps above are used
    _bpf: Ebpf,
}

fn take<T>(
    bpf: &mut Ebpf,
    name: &'static str,
    conv: impl FnOnce(aya::maps::Map) -> Result<T, aya::maps::MapError>,
) -> Result<T, SensorError> {
    let map = bpf.take_map(name).ok_or(SensorError::MissingMap(name))?;
    conv(map).map_err(|source| SensorError::Map { name, source })
}

fn read_mntns_self() -> u64 {
    // "mnt:[4026531832]"
    std::fs::read_link("/proc/self/ns/mnt")
        .ok()
        .and_then(|p| {
            let s = p.to_string_lossy().into_owned();
            s.strip_prefix("mnt:[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

impl Sensor {
    /// Check the host, load and attach every program, set the filter.
    pub fn load(config: SensorConfig) -> Result<Sensor, SensorError> {
        let started = Instant::now();
        let euid = held::effective_uid();
        if euid != 0 {
            return Err(SensorError::NotRoot(euid));
        }
        if !std::path::Path::new(BTF_PATH).exists() {
            return Err(SensorError::NoBtf);
        }
        if !config.ring_bytes.is_power_of_two() || config.ring_bytes < 4096 {
            return Err(SensorError::RingSize(config.ring_bytes));
        }
        let btf = Btf::from_sys_fs().map_err(SensorError::Btf)?;
        let mut bpf = EbpfLoader::new()
            .btf(Some(&btf))
            .set_max_entries("events", config.ring_bytes)
            .load(BPF_OBJECT)
            .map_err(SensorError::Object)?;
        for hook in HOOKS {
            match *hook {
                Hook::Tp(name, hook) => {
                    let prog: &mut BtfTracePoint = bpf
                        .program_mut(name)
                        .ok_or(SensorError::MissingProgram(name))?
                        .try_into()
                        .map_err(|source| SensorError::Load { name, hook, source })?;
                    prog.load(hook, &btf).map_err(|source| SensorError::Load {
                        name,
                        hook,
                        source,
                    })?;
                    prog.attach()
                        .map_err(|source| SensorError::Attach { name, hook, source })?;
                }
            }
        }
        // The parsed kernel BTF is the biggest thing load ever holds (several MiB): give it
        // back before the ring buffer is mapped, so the two never count together.
        drop(btf);
        held::release_free_memory();
        let ring = take(&mut bpf, "events", RingBuf::try_from)?;
        let cfg = take(&mut bpf, "config", Array::try_from)?;
        let stats = take(&mut bpf, "stats", PerCpuArray::try_from)?;
        let drops_by_cgroup = take(&mut bpf, "drops_by_cgroup", HashMap::try_from)?;
        let kill_on_exec = take(&mut bpf, "kill_on_exec", HashMap::try_from)?;
        let hold_cgroups = take(&mut bpf, "hold_cgroups", HashMap::try_from)?;
        let open_filter = take(&mut bpf, "open_filter", Array::try_from)?;
        let open_names = take(&mut bpf, "open_names", HashMap::try_from)?;
        let filtered = take(&mut bpf, "filtered", PerCpuArray::try_from)?;
        let host_mntns = config.host_mntns.unwrap_or_else(read_mntns_self);
        let mut sensor = Sensor {
            ring,
            config: cfg,
            config_value: [0; 8],
            counters: Arc::new(StatsReader {
                stats,
                filtered,
                drops_by_cgroup,
                undecodable: AtomicU64::new(0),
            }),
            kill_on_exec,
            hold_cgroups,
            open_filter,
            open_names,
            host_mntns,
            wakeup_bytes: config.wakeup_bytes,
            boot_to_wall: held::boot_to_wall_offset(),
            load_time: Duration::ZERO,
            _bpf: bpf,
        };
        sensor.set_filter(&config.filter)?;
        sensor.load_time = started.elapsed();
        Ok(sensor)
    }

    /// How long `load` took (BTF parse, verification, attach).
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// The host mount namespace the kernel compares against (events of other namespaces are
    /// container events).
    pub fn host_mntns(&self) -> u64 {
        self.host_mntns
    }

    /// Replace the in-kernel filter (takes effect for the next event).
    pub fn set_filter(&mut self, filter: &Filter) -> Result<(), SensorError> {
        let hold_err = |source| SensorError::Map {
            name: "hold_cgroups",
            source,
        };
        // the cgroup list first, so a narrowed hold never applies to everyone in between
        let old: Vec<u64> = self.hold_cgroups.keys().filter_map(Result::ok).collect();
        let wanted = filter.hold_cgroups.as_deref().unwrap_or_default();
        for id in wanted {
            self.hold_cgroups.insert(id, 1, 0).map_err(hold_err)?;
        }
        let mut flags = 0u64;
        if filter.host {
            flags |= 1; // CFG_WANT_HOST
        }
        if filter.hold_cgroups.is_some() {
            flags |= 2; // CFG_HOLD_LISTED
        }
        let value: [u64; 8] = [
            EventKind::mask(&filter.enabled),
            EventKind::mask(&filter.held),
            flags,
            u64::from(std::process::id()),
            self.host_mntns,
            u64::from(self.wakeup_bytes),
            0,
            0,
        ];
        self.write_config(value)?;
        for id in old.iter().filter(|id| !wanted.contains(id)) {
            match self.hold_cgroups.remove(id) {
                Ok(()) | Err(aya::maps::MapError::KeyNotFound) => {}
                Err(e) => return Err(hold_err(e)),
            }
        }
        self.set_open_filter(&filter.open, &filter.symlinks)
    }

    /// Replace the open filter: the filter is switched off while its names change, so an open
    /// is never judged against half of them.
    fn set_open_filter(
        &mut self,
        filter: &OpenFilter,
        symlinks: &TargetFilter,
    ) -> Result<(), SensorError> {
        let err = |name| move |source| SensorError::Map { name, source };
        let enc = open_filter::encode(filter, symlinks);
        self.open_filter
            .set(0, [0u8; open_filter::VALUE_BYTES], 0)
            .map_err(err("open_filter"))?;
        let old: Vec<[u8; open_filter::KEY_BYTES]> =
            self.open_names.keys().filter_map(Result::ok).collect();
        for k in &old {
            match self.open_names.remove(k) {
                Ok(()) | Err(aya::maps::MapError::KeyNotFound) => {}
                Err(e) => return Err(err("open_names")(e)),
            }
        }
        for (k, mask) in &enc.names {
            self.open_names
                .insert(k, mask, 0)
                .map_err(err("open_names"))?;
        }
        self.open_filter
            .set(0, enc.value, 0)
            .map_err(err("open_filter"))?;
        Ok(())
    }

    fn write_config(&mut self, value: [u64; 8]) -> Result<(), SensorError> {
        self.config
            .set(0, value, 0)
            .map_err(|source| SensorError::Map {
                name: "config",
                source,
            })?;
        self.config_value = value;
        Ok(())
    }

    /// Change how much pending data wakes a sleeping reader (see `SensorConfig::wakeup_bytes`);
    /// a reader adapts it to the event rate: small when quiet (latency), large when busy (fewer
    /// wakeups).
    pub fn set_wakeup_bytes(&mut self, bytes: u32) -> Result<(), SensorError> {
        if bytes == self.wakeup_bytes {
            return Ok(());
        }
        self.wakeup_bytes = bytes;
        let mut value = self.config_value;
        value[5] = u64::from(bytes);
        self.write_config(value)
    }

    /// Kill a held task (SIGKILL through a pidfd; see `HeldTask`). The event's header names it.
    pub fn kill_held(&self, header: &Header) -> Result<(), SignalError> {
        HeldTask::open(header)?.kill()
    }

    /// Resume a held task (SIGCONT through a pidfd).
    pub fn resume_held(&self, header: &Header) -> Result<(), SignalError> {
        HeldTask::open(header)?.resume()
    }

    /// Kill, in the kernel at exec, any process whose new comm (the executed file's basename,
    /// cut at 15 bytes) is `name`. The event of such an exec carries `FLAG_KILLED`.
    pub fn kill_on_exec(&mut self, name: &str) -> Result<(), SensorError> {
        let key = comm_key(name)?;
        self.kill_on_exec
            .insert(key, 1, 0)
            .map_err(|source| SensorError::Map {
                name: "kill_on_exec",
                source,
            })
    }

    /// Remove a name from the kill list.
    pub fn forget_kill_on_exec(&mut self, name: &str) -> Result<(), SensorError> {
        let key = comm_key(name)?;
        match self.kill_on_exec.remove(&key) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(source) => Err(SensorError::Map {
                name: "kill_on_exec",
                source,
            }),
        }
    }

    /// Hand every available event to `f`; when there is none, wait up to `timeout` (or until
    /// `wakeup_bytes` are pending, or a held event arrives) and hand what came. Returns the
    /// number handed. Records that do not decode are counted in `stats().undecodable`.
    /// The timeout is the longest an event waits in a quiet period: a reader that wants
    /// alerts within a few milliseconds polls with a timeout of a millisecond or two.
    pub fn poll(
        &mut self,
        timeout: Duration,
        mut f: impl FnMut(RawEvent),
    ) -> Result<usize, SensorError> {
        let mut n = self.drain(&mut f);
        if n > 0 {
            return Ok(n);
        }
        held::wait_readable(self.ring.as_raw_fd(), timeout).map_err(SensorError::Poll)?;
        n += self.drain(&mut f);
        Ok(n)
    }

    fn drain(&mut self, f: &mut impl FnMut(RawEvent)) -> usize {
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            match decode(&item) {
                Ok(ev) => {
                    n += 1;
                    f(ev);
                }
                Err(_) => {
                    self.counters.undecodable.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        n
    }

    /// The kernel's counters (summed over CPUs) and user space's.
    pub fn stats(&self) -> Result<Stats, SensorError> {
        self.counters.read()
    }

    /// A handle on the counters for another thread.
    pub fn stats_reader(&self) -> Arc<StatsReader> {
        Arc::clone(&self.counters)
    }

    /// Wall-clock time (ns since the Unix epoch) of an event's `boot_ns` (CLOCK_BOOTTIME).
    /// The offset is taken at load; `refresh_clock` re-reads it (after a clock step).
    pub fn wall_clock_ns(&self, boot_ns: u64) -> i128 {
        i128::from(boot_ns) + self.boot_to_wall
    }

    /// Re-read the boot → wall clock offset.
    pub fn refresh_clock(&mut self) {
        self.boot_to_wall = held::boot_to_wall_offset();
    }
}

fn comm_key(name: &str) -> Result<[u8; 16], SensorError> {
    let bytes = name.as_bytes();
    if bytes.len() > 15 || bytes.is_empty() {
        return Err(SensorError::KillName(name.to_string()));
    }
    let mut key = [0u8; 16];
    for (k, b) in key.iter_mut().zip(bytes) {
        *k = *b;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drop the effective uid of the calling thread only (the raw syscall, not glibc's
    /// process-wide setresuid), so the other tests keep root.
    #[expect(unsafe_code, reason = "a per-thread setresuid has no std wrapper")]
    fn drop_thread_euid(uid: u32) {
        // SAFETY: setresuid takes three ids by value; -1 leaves the real and saved ids alone.
        // Only this thread's credentials change, and the thread ends right after the test.
        let r = unsafe { libc::syscall(libc::SYS_setresuid, -1i32, uid, -1i32) };
        assert_eq!(r, 0, "setresuid");
    }

    #[test]
    fn without_root_the_error_says_so() {
        let err = std::thread::spawn(|| {
            drop_thread_euid(65534);
            Sensor::load(SensorConfig::default()).err()
        })
        .join()
        .expect("thread");
        let err = err.expect("an error");
        assert!(matches!(err, SensorError::NotRoot(65534)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the eBPF sensor needs root (effective uid is 65534)"
        );
    }

    #[test]
    fn kill_list_names_are_comms() {
        assert!(comm_key("sh").is_ok());
        assert!(comm_key("fifteen-bytes-x").is_ok());
        assert!(matches!(
            comm_key("sixteen-bytes-xx"),
            Err(SensorError::KillName(_))
        ));
        assert!(comm_key("").is_err());
    }
}
