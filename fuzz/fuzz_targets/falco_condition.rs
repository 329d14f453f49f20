//! Bytes (lossy UTF-8) → `rampart_falco::parser::parse`; a condition that parses prints to text
//! that parses back to the same tree (positions aside) and prints identically. Then the text is
//! compiled as a rule's condition (with a few macros and lists defined) and, when it compiles,
//! evaluated on a container event and a host event and checked by the host analysis.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_falco::event::{Container, Event, Fd, Process};
use rampart_falco::parser::{parse, strip_positions};

const DEFS: &str = "- list: shells\n  items: [bash, sh]\n- list: nested\n  items: [shells, zsh]\n- macro: spawned_process\n  condition: evt.type in (execve, execveat)\n- macro: container\n  condition: container.id != host\n";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(e) = parse(&text) {
        let printed = e.to_string();
        let back = parse(&printed).expect("printed condition parses");
        assert_eq!(strip_positions(&back), strip_positions(&e));
        assert_eq!(back.to_string(), printed);
    }
    let Ok(cond) = serde_json::to_string(text.as_ref()) else { return };
    let yaml = format!("{DEFS}- rule: r\n  desc: d\n  condition: {cond}\n  output: \"%proc.name %fd.name\"\n  priority: INFO\n");
    let mut loader = rampart_falco::Loader::new();
    loader.load("fuzz.yaml", &yaml);
    if let Ok(rs) = loader.finish() {
        let mut ev = Event {
            evt_type: "execve".into(),
            proc: Process { name: "bash".into(), args: vec!["-c".into(), "id".into()], ..Process::default() }.into(),
            ancestors: vec![Process { name: "sshd".into(), ..Process::default() }.into()],
            fd: Some(Fd::file(3, "/etc/shadow")),
            container: Some(Container { id: "0123456789ab".into(), ..Container::default() }.into()),
            ..Event::default()
        };
        let _ = rs.evaluate(&ev).count();
        ev.container = None;
        for m in rs.evaluate(&ev) {
            let _ = rs.alert_json(&m, &ev);
        }
        let _ = rs.needs_host_events();
        let _ = rs.event_types();
    }
});
