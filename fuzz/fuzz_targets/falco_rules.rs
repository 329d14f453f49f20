//! Bytes split at NUL into up to three rules files (lossy UTF-8) → `rampart_falco::Loader`, loaded
//! in order as `falco -r a -r b -r c` would: never panics; every error and warning names a file
//! that was loaded; a file result is successful exactly when it has no error; when the set loads,
//! every rule is evaluated on an event and its alert formatted, and the kernel prefilters
//! (rampart_falco::prefilter) are derived from it and fitted to the kernel's room.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_falco::event::{Event, Process};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let files: Vec<&str> = text.splitn(3, '\0').collect();
    let mut loader = rampart_falco::Loader::new();
    let names = ["a.yaml", "b.yaml", "c.yaml"];
    for (name, content) in names.iter().zip(&files) {
        loader.load(name, content);
    }
    for r in loader.results() {
        assert_eq!(r.successful, r.errors.is_empty());
        for d in r.errors.iter().chain(&r.warnings) {
            for l in &d.locations {
                assert!(names.contains(&l.file.as_str()));
            }
        }
    }
    if let Ok(rs) = loader.finish() {
        let ev = Event { evt_type: "openat".into(), proc: Process { name: "cat".into(), ..Process::default() }.into(), ..Event::default() };
        for m in rs.evaluate(&ev) {
            let _ = rs.alert_json(&m, &ev);
            let _ = rs.alert_text(&m, &ev);
        }
        let _ = rs.needs_host_events();
        let opens = rampart_falco::prefilter::OpenFilter::for_rules(&rs);
        let fitted = opens.fit(16, 59, 8);
        let _ = rampart_falco::prefilter::TargetFilter::for_rules(&rs).fit(59);
        let facts = rampart_falco::prefilter::OpenFacts {
            flags: 0,
            ok: true,
            container: true,
            caps: 0,
            base: Some("shadow"),
            parent: Some("etc"),
            raw: Some("/etc/shadow"),
        };
        // fitting only ever weakens: what the analysis keeps, the kernel's form keeps
        assert!(!opens.accepts(&facts) || fitted.accepts(&facts));
    }
});
