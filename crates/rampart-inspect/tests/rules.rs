//! Every image rule against its own examples, and table tests of the findings' details, on
//! images built from sketches and read through the normal image reader.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rampart_inspect::{InspectOptions, inspect, rules, sketch};

fn today() -> jiff::civil::Date {
    jiff::civil::date(2026, 11, 27)
}

/// (rule id, message, file, line, column) of every finding for a sketch.
fn findings(text: &str) -> Vec<(String, String, String, u32, u32)> {
    let image = sketch::image(text).unwrap();
    let opts = InspectOptions {
        secrets: true,
        today: today(),
    };
    let ins = inspect(&image, "example:1", &opts).unwrap();
    let a = rules::assess(&ins);
    let mut out: Vec<_> = a
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.to_owned(),
                f.message.clone(),
                f.location.file.clone(),
                f.location.line,
                f.location.column,
            )
        })
        .collect();
    out.sort();
    out
}

fn fired(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = findings(text).into_iter().map(|f| f.0).collect();
    ids.dedup();
    ids
}

#[test]
fn every_rule_fires_on_its_bad_example_and_not_on_its_good_example() {
    for r in rules::rules() {
        assert!(
            fired(r.bad_example).iter().any(|id| id == r.id),
            "{} did not fire on its bad example:\n{}",
            r.id,
            r.bad_example
        );
        assert!(
            !fired(r.good_example).iter().any(|id| id == r.id),
            "{} fired on its good example:\n{}",
            r.id,
            r.good_example
        );
        assert!(r.id.starts_with("IMG"), "{}", r.id);
    }
}

#[test]
fn rule_ids_are_unique_and_ordered() {
    let ids: Vec<&str> = rules::rules().iter().map(|r| r.id).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(ids, sorted);
}

#[test]
fn findings_name_what_and_where() {
    let text = "\
OS alpine 3.20.3
FILE /etc/passwd 0644 root:x:0:0:root:/root:/bin/sh\\n
USER 0:0
ENV API_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789
EXPOSE 22/tcp
FILE /bin/busybox 0755
LINK /bin/sh /bin/busybox
LINK /bin/ash busybox
LINK /usr/bin/dangling /nowhere
FILE /sbin/apk 0755
FILE /usr/bin/gcc 0755
FILE /usr/bin/sudo 4755
FILE /usr/bin/wall 2755
DIR /data 0777
DIR /tmp 1777
FILE /app/config.yaml 0644 db:\\n  password: \"Zx9QpL3mN7vB2kR8tY4wE6uI0oPaSdFg\"\\n
HISTORY /bin/sh -c echo https://admin:hunter22@db.internal/x
";
    let got = findings(text);
    let expect: Vec<(&str, &str, &str, u32, u32)> = vec![
        ("IMG001", "USER `0:0` is root (uid 0)", "example:1", 0, 0),
        (
            "IMG002",
            "alpine 3.20.3 reached its end of security support on 2026-04-01",
            "/etc/os-release",
            0,
            0,
        ),
        (
            "IMG003",
            "shells: /bin/sh, /bin/ash, /bin/busybox; the image is full distribution (package manager present)",
            "/bin/sh",
            0,
            0,
        ),
        ("IMG004", "package managers: /sbin/apk", "/sbin/apk", 0, 0),
        ("IMG005", "build tools: /usr/bin/gcc", "/usr/bin/gcc", 0, 0),
        (
            "IMG006",
            "/usr/bin/sudo is setuid root (mode 4755)",
            "/usr/bin/sudo",
            0,
            0,
        ),
        (
            "IMG006",
            "/usr/bin/wall is setgid root (mode 2755)",
            "/usr/bin/wall",
            0,
            0,
        ),
        (
            "IMG007",
            "/data is a world-writable directory without the sticky bit (mode 0777)",
            "/data",
            0,
            0,
        ),
        (
            "IMG008",
            "a secret-named value in /app/config.yaml: \"Zx9Q…\" (32 chars)",
            "/app/config.yaml",
            2,
            14,
        ),
        (
            "IMG009",
            "a GitHub token in ENV API_TOKEN: \"ghp_…\" (40 chars)",
            "example:1",
            0,
            0,
        ),
        (
            "IMG010",
            "a URL with an embedded password in history[0]: \"http…\" (34 chars)",
            "example:1",
            0,
            0,
        ),
        ("IMG012", "EXPOSE 22/tcp", "example:1", 0, 0),
    ];
    let got_ref: Vec<(&str, &str, &str, u32, u32)> = got
        .iter()
        .map(|(a, b, c, d, e)| (a.as_str(), b.as_str(), c.as_str(), *d, *e))
        .collect();
    assert_eq!(got_ref, expect);
}

#[test]
fn a_clean_distroless_image_has_no_findings() {
    let text = "\
OS debian 12
FILE /etc/passwd 0644 root:x:0:0:root:/root:/sbin/nologin\\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\\n
USER 65532
FILE /app/server 0755
DIR /tmp 1777
EXPOSE 8080/tcp
";
    assert_eq!(findings(text), Vec::new());
    let image = sketch::image(text).unwrap();
    let ins = inspect(
        &image,
        "x",
        &InspectOptions {
            secrets: true,
            today: today(),
        },
    )
    .unwrap();
    assert_eq!(
        ins.facts.minimality,
        rampart_inspect::Minimality::Distroless
    );
    assert_eq!(ins.facts.user.name.as_deref(), Some("nonroot"));
}

#[test]
fn hostile_entries_are_contained_and_reported() {
    let text = "ENTRY ../../etc/cron.d/owned\nENTRY /etc/abs\n";
    let got = findings(text);
    let hostile: Vec<&String> = got
        .iter()
        .filter(|f| f.0 == "IMG011")
        .map(|f| &f.1)
        .collect();
    assert_eq!(hostile.len(), 2, "{got:?}");
    assert!(
        hostile
            .iter()
            .any(|m| m.contains("PathEscape") && m.contains("../../etc/cron.d/owned"))
    );
    assert!(hostile.iter().any(|m| m.contains("AbsolutePath")));
}

#[test]
fn sketch_errors_name_the_line() {
    let err = sketch::image("OS debian 12\nFROB x\n").unwrap_err();
    assert_eq!(err.to_string(), "sketch line 2: unknown word `FROB`");
    let err = sketch::image("FILE /x 9z9\n").unwrap_err();
    assert_eq!(err.line, 1);
}

#[test]
fn ordinary_source_code_is_not_a_secret_and_test_fixtures_are_low() {
    // The calls, attributes and expressions the issue saw reported critical, in application code
    // and in a runtime installed where the official python image has it; one real literal; and
    // a private key under a test-data directory.
    let text = "\
FILE /app/email/parser.py 0644 token = get_unstructured(value)\\npasswd = fallback_getpass(prompt, stream)\\ntoken = random.randrange(sys.maxsize)\\n
FILE /usr/local/lib/python3.12/getpass.py 0644 passwd = fallback_getpass(prompt, stream)\\n
FILE /app/settings.py 0644 token = get_unstructured(value)\\napi_token = \"Zx9QpL3mN7vB2kR8tY4wE6uI0oPaSdFg\"\\n
FILE /app/tests/fixtures/client.key 0600 -----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDZ\\n-----END PRIVATE KEY-----\\n
";
    let image = sketch::image(text).unwrap();
    let opts = InspectOptions {
        secrets: true,
        today: today(),
    };
    let ins = inspect(&image, "example:1", &opts).unwrap();
    let mut got: Vec<(String, u32, rampart_core::Severity, String)> = rules::assess(&ins)
        .findings
        .into_iter()
        .filter(|f| f.rule_id == "IMG008")
        .map(|f| (f.location.file, f.location.line, f.severity, f.message))
        .collect();
    got.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), got[0].1, got[0].2),
        ("/app/settings.py", 2, rampart_core::Severity::Critical)
    );
    assert_eq!(
        (got[1].0.as_str(), got[1].1, got[1].2),
        (
            "/app/tests/fixtures/client.key",
            1,
            rampart_core::Severity::Low
        )
    );
    assert!(
        got[1]
            .3
            .ends_with("a test fixture (under a `tests/` directory), reported at low severity"),
        "{}",
        got[1].3
    );
}
