//! Alerts formatted as Falco formats them: the text line `HH:MM:SS.nnnnnnnnn: Priority output`
//! and the JSON object with `hostname`, `output`, `output_fields` (typed, absent = null),
//! `priority`, `rule`, `source`, `tags` and `time` (RFC 3339, nanoseconds, UTC).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use rampart_falco::Loader;
use rampart_falco::event::{Container, Event, Fd, Process};
use rampart_falco::output::{Template, rfc3339};
use serde_json::{Value, json};
use std::sync::Arc;

const RULE: &str = r#"
- rule: Read shadow
  desc: d
  condition: evt.type=openat and fd.name=/etc/shadow
  output: "Shadow read (user=%user.name uid=%user.uid command=%proc.cmdline file=%fd.name parent=%proc.aname[1] gp=%proc.aname[2] image=%container.image.repository tty=%proc.tty flags=%evt.arg.flags container=%(container.id) priv=%container.privileged time=%evt.time 100%)"
  priority: WARNING
  tags: [filesystem, mitre_credential_access, T1555]
"#;

fn event() -> Event {
    let mut e = Event {
        num: 1,
        // 2023-11-14T22:13:20.000000042Z
        time_ns: 1_700_000_000_000_000_042,
        evt_type: "openat".into(),
        res: Some(3),
        proc: Arc::new(Process {
            pid: 7,
            name: "cat".into(),
            args: vec!["/etc/shadow".into()],
            uid: Some(0),
            user_name: Some("root".into()),
            ..Process::default()
        }),
        ancestors: vec![Arc::new(Process {
            name: "bash".into(),
            ..Process::default()
        })],
        fd: Some(Fd::file(3, "/etc/shadow")),
        container: Some(std::sync::Arc::new(Container {
            id: "0123456789ab".into(),
            privileged: Some(false),
            ..Container::default()
        })),
        ..Event::default()
    };
    e.set_arg("flags", "O_RDONLY");
    e
}

#[test]
fn text_and_json_alerts_have_falcos_shape() {
    let mut l = Loader::new();
    l.load("r.yaml", RULE);
    let mut rs = l.finish().unwrap();
    rs.set_hostname("node-1");
    let ev = event();
    let m = rs.evaluate(&ev).next().expect("fires");
    let text = rs.alert_text(&m, &ev);
    assert_eq!(
        text,
        "22:13:20.000000042: Warning Shadow read (user=root uid=0 command=cat /etc/shadow file=/etc/shadow parent=bash gp=<NA> image=<NA> tty=0 flags=O_RDONLY container=0123456789ab priv=false time=22:13:20.000000042 100%)"
    );
    let j: Value = serde_json::from_str(&rs.alert_json(&m, &ev)).unwrap();
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "hostname",
            "output",
            "output_fields",
            "priority",
            "rule",
            "source",
            "tags",
            "time"
        ]
    );
    assert_eq!(j["hostname"], "node-1");
    assert_eq!(j["output"], text);
    assert_eq!(j["priority"], "Warning");
    assert_eq!(j["rule"], "Read shadow");
    assert_eq!(j["source"], "syscall");
    assert_eq!(
        j["tags"],
        json!(["T1555", "filesystem", "mitre_credential_access"])
    );
    assert_eq!(j["time"], "2023-11-14T22:13:20.000000042Z");
    assert_eq!(
        j["output_fields"],
        json!({
            "container.id": "0123456789ab",
            "container.image.repository": null,
            "container.privileged": false,
            "evt.arg.flags": "O_RDONLY",
            "evt.time": 1_700_000_000_000_000_042u64,
            "fd.name": "/etc/shadow",
            "proc.aname[1]": "bash",
            "proc.aname[2]": null,
            "proc.cmdline": "cat /etc/shadow",
            "proc.tty": 0,
            "user.name": "root",
            "user.uid": 0
        })
    );
}

#[test]
fn unknown_output_field_is_falcos_error() {
    assert_eq!(
        Template::compile("x %not_a_real_field").unwrap_err(),
        "invalid formatting token not_a_real_field"
    );
    // A field followed by punctuation: the longest field name is taken.
    let t = Template::compile("(%proc.name.)").unwrap();
    let mut e = event();
    Arc::make_mut(&mut e.proc).name = "sh".into();
    assert_eq!(t.render(&e), "(sh.)");
}

#[test]
fn rfc3339_handles_dates() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
    assert_eq!(
        rfc3339(951_782_400_123_000_000),
        "2000-02-29T00:00:00.123000000Z"
    );
    assert_eq!(
        rfc3339(4_102_444_799_999_999_999),
        "2099-12-31T23:59:59.999999999Z"
    );
}
