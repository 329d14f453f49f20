//! The intent document: what is accepted, what is refused and where (line and column), round
//! trips, the JSON schema (docs/intent.schema.json) against the parser and against Python's
//! `jsonschema`, and hostile input.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use proptest::prelude::*;
use rampart_intent::doc::{Answer, Destination, Intent, IntentError, Peer, Protocol};
use std::path::Path;

const DIGEST: &str = "sha256:9b7c5f3c2d1e0a4b6c8d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3";

fn head() -> String {
    format!(
        "version = 1\nimage = \"registry.example.com/shop/web@{DIGEST}\"\n[process]\nuser = 10001\nexecutables = [{{ path = \"/bin/sh\" }}]\n"
    )
}

fn parse(text: &str) -> Result<Intent, IntentError> {
    Intent::parse(text, Path::new("t.toml"))
}

fn error(text: &str) -> (u32, u32, String) {
    match parse(text) {
        Err(IntentError::Invalid {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("expected an error for:\n{text}\ngot {other:?}"),
    }
}

#[test]
fn the_example_intent_reads_with_its_defaults() {
    let i = Intent::load(&rampart_testkit::paths::example("intent/web.intent.toml")).unwrap();
    assert_eq!(i.image.digest(), DIGEST);
    assert_eq!(i.image.repository(), "registry.example.com/shop/web");
    assert_eq!(i.image.name(), "registry.example.com/shop/web:1.4.2");
    assert_eq!(i.workload_name(), "web");
    assert!(i.process.no_new_privileges, "default true");
    assert!(i.files.read_only_root, "default true");
    assert!(i.network.cluster_dns, "default true");
    assert_eq!(i.answers.exec, Answer::KillProcess, "default");
    assert_eq!(i.answers.write, Answer::KillProcess, "set");
    assert_eq!(i.answers.connect, Answer::Alert, "default");
    assert_eq!(i.network.listen[0].port.0, 8080);
    assert_eq!(i.network.listen[0].protocol, Protocol::Tcp);
    let Destination::Peer(Peer::Cidr { cidr, except }) = &i.network.egress[0].to else {
        panic!("{:?}", i.network.egress[0]);
    };
    assert_eq!(cidr.to_string(), "10.30.0.0/16");
    assert_eq!(except[0].to_string(), "10.30.9.0/24");
    assert!(matches!(i.network.egress[1].to, Destination::Dns(_)));
}

#[test]
fn bad_documents_are_refused_at_the_value_at_fault() {
    // (document, line, column, part of the message)
    let h = head();
    let cases: Vec<(String, u32, u32, &str)> = vec![
        ("version = 2\n".into(), 1, 1, "version 2 is not supported"),
        ("image = \"a/b\"\n".into(), 1, 1, "missing `version = 1`"),
        (
            "version = 1\nimage = \"a/b:1\"\n[process]\nuser = 1\nexecutables = [{ path = \"/x\" }]\n".to_string(),
            2,
            9,
            "has no digest",
        ),
        (
            "version = 1\nimage = \"a/b@sha256:abc\"\n[process]\nuser = 1\nexecutables = [{ path = \"/x\" }]\n".to_string(),
            2,
            9,
            "",
        ),
        (
            format!("{h}colour = \"red\"\n"),
            6,
            1,
            "unknown field `colour`",
        ),
        (
            format!("{h}[files]\nwritable = [\"tmp\"]\n"),
            7,
            12,
            "not an absolute path",
        ),
        (
            format!("{h}[files]\nwritable = [\"/a/../b\"]\n"),
            7,
            12,
            "no `.` or `..`",
        ),
        (
            format!("{h}[files]\nwritable = [\"/a//b\"]\n"),
            7,
            12,
            "doubled",
        ),
        (
            format!("{h}[files]\nnever-read = [\"/etc/*\"]\n"),
            7,
            14,
            "literal",
        ),
        (
            format!("{h}[files]\nnever-read = [\"/a\\\"b\"]\n"),
            7,
            14,
            "quotes",
        ),
        (
            format!("{h}[kernel]\ncapabilities = [\"SYS_FROB\"]\n"),
            7,
            16,
            "not a Linux capability",
        ),
        (
            format!("{h}[kernel]\ncapabilities = [\"net_raw\"]\n"),
            7,
            16,
            "upper case",
        ),
        (
            format!("{h}[kernel]\nsyscalls = [\"read\", \"frob\"]\n"),
            7,
            12,
            "not a system call",
        ),
        (
            format!("{h}[kernel]\nsyscalls = [\"read\"]\nseccomp = \"p.json\"\n"),
            0,
            0,
            "not both",
        ),
        (
            format!("{h}[kernel]\nseccomp = \"/abs.json\"\n"),
            7,
            11,
            "relative",
        ),
        (
            format!("{h}[[network.listen]]\nport = 0\n"),
            7,
            8,
            "out of range",
        ),
        (
            format!("{h}[[network.listen]]\nport = 80\nprotocol = \"ICMP\"\n"),
            8,
            12,
            "unknown variant",
        ),
        (
            format!("{h}[[network.listen]]\nport = 80\nfrom = []\n"),
            0,
            0,
            "admits nobody",
        ),
        (
            format!(
                "{h}[[network.listen]]\nport = 80\nfrom = [{{ cidr = \"10.0.0.0/8\", pods = {{ app = \"x\" }} }}]\n"
            ),
            8,
            8,
            "not both",
        ),
        (
            format!("{h}[[network.egress]]\ncidr = \"10.0.0.0/33\"\n"),
            7,
            8,
            "invalid IP",
        ),
        (
            format!("{h}[[network.egress]]\ncidr = \"10.0.0.0/8\"\nexcept = [\"11.0.0.0/24\"]\n"),
            6,
            1,
            "not strictly inside",
        ),
        (
            format!("{h}[[network.egress]]\ndns = \"a..b\"\n"),
            7,
            7,
            "not a DNS name",
        ),
        (
            format!("{h}[[network.egress]]\nports = [443]\n"),
            6,
            1,
            "needs `cidr`",
        ),
        (
            format!("{h}[[network.egress]]\ncidr = \"10.0.0.0/8\"\nports = [\"9-1\"]\n"),
            8,
            9,
            "ends before",
        ),
        (
            format!("{h}[[network.egress]]\npods = {{ \"-bad\" = \"x\" }}\n"),
            7,
            8,
            "label key",
        ),
        (
            format!("{h}[runtime]\nclass = \"GVisor\"\n"),
            7,
            9,
            "DNS-1123",
        ),
        (
            format!("{h}[answers]\nexec = \"shrug\"\n"),
            7,
            8,
            "unknown variant",
        ),
        (
            format!("{h}[files]\nwritable = [\"/etc\"]\nnever-read = [\"/etc/shadow\"]\n"),
            0,
            0,
            "beneath the writable",
        ),
        (
            format!(
                "version = 1\nimage = \"a/b@{DIGEST}\"\n[process]\nuser = 1\nexecutables = []\n"
            ),
            0,
            0,
            "empty",
        ),
        ("version = 1\nimage = [\n".into(), 3, 1, "invalid array"),
    ];
    let mut wrong = Vec::new();
    for (doc, line, column, part) in cases {
        let (l, c, m) = error(&doc);
        if !m.contains(part) || (l, c) != (line, column) {
            wrong.push(format!(
                "{doc}=> {l}:{c}: {m} (expected {line}:{column} `{part}`)"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn capabilities_are_kept_without_the_prefix_and_ports_read_as_ranges() {
    let i = parse(&format!(
        "{}[kernel]\ncapabilities = [\"CAP_NET_BIND_SERVICE\", \"CHOWN\"]\n[[network.egress]]\ncidr = \"10.1.2.3/8\"\nports = [443, \"8000-8080\"]\nprotocol = \"UDP\"\n",
        head()
    ))
    .unwrap();
    let caps: Vec<&str> = i.kernel.capabilities.iter().map(|c| c.as_str()).collect();
    assert_eq!(caps, ["NET_BIND_SERVICE", "CHOWN"]);
    assert_eq!(i.kernel.capabilities[0].oci(), "CAP_NET_BIND_SERVICE");
    let e = &i.network.egress[0];
    assert_eq!(e.protocol, Protocol::Udp);
    assert_eq!(
        e.ports
            .iter()
            .map(|p| (p.first, p.last))
            .collect::<Vec<_>>(),
        [(443, 443), (8000, 8080)]
    );
    // host bits are cleared, as the API server would refuse them in an ipBlock
    let Destination::Peer(Peer::Cidr { cidr, .. }) = &e.to else {
        panic!()
    };
    assert_eq!(cidr.to_string(), "10.0.0.0/8");
}

#[test]
fn a_document_round_trips_through_toml() {
    let i = Intent::load(&rampart_testkit::paths::example("intent/web.intent.toml")).unwrap();
    let text = i.to_toml().unwrap();
    let again = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(i, again);
}

/// The JSON form (an attestation's predicate) reads into the same model, with positions.
#[test]
fn the_json_form_reads_the_same() {
    let i = Intent::load(&rampart_testkit::paths::example("intent/web.intent.toml")).unwrap();
    let json = serde_json::to_string_pretty(&i).unwrap();
    assert_eq!(parse(&json).unwrap(), i);
    let bad = json.replacen("10001", "-3", 1);
    match parse(&bad) {
        Err(IntentError::Invalid { line, message, .. }) => {
            assert!(line > 1, "{message}");
            assert!(!message.contains(" at line "), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let v2 = json.replacen("\"version\": 1", "\"version\": 2", 1);
    assert!(error(&v2).2.contains("version 2 is not supported"));
}

#[test]
fn size_limits_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; 2 << 20]).unwrap();
    assert!(matches!(
        Intent::load(&big),
        Err(IntentError::TooLarge { .. })
    ));
    let many = format!(
        "{}[files]\nwritable = [{}]\n",
        head(),
        (0..5000)
            .map(|i| format!("\"/w{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(error(&many).2.contains("more than 4096"));
    let latin1 = dir.path().join("latin1.toml");
    std::fs::write(&latin1, b"version = 1\n# caf\xe9\n").unwrap();
    match Intent::load(&latin1) {
        Err(IntentError::Invalid { line, message, .. }) => {
            assert_eq!(line, 2);
            assert!(message.contains("UTF-8"));
        }
        other => panic!("{other:?}"),
    }
}

/// docs/intent.schema.json is the schema derived from the model; regenerate it with
/// `rampart intent schema > docs/intent.schema.json`.
#[test]
fn the_documented_schema_is_the_models() {
    let path = rampart_testkit::paths::root().join("docs/intent.schema.json");
    let committed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        committed,
        rampart_intent::schema(),
        "docs/intent.schema.json is stale: run `rampart intent schema > docs/intent.schema.json`"
    );
}

/// The schema accepts what the parser accepts and refuses unknown keys and wrong types, judged
/// by Python's `jsonschema` (Draft 2020-12) on the documents read by Python's `tomllib`.
#[test]
fn the_schema_agrees_with_the_parser_under_python_jsonschema() {
    let good =
        std::fs::read_to_string(rampart_testkit::paths::example("intent/web.intent.toml")).unwrap();
    let docs: Vec<(String, bool)> = vec![
        (good.clone(), true),
        (head(), true),
        (format!("{}colour = 1\n", head()), false),
        (
            format!("{}[[network.listen]]\nport = 70000\n", head()),
            false,
        ),
        (format!("{}[answers]\nexec = \"shrug\"\n", head()), false),
        (
            format!(
                "{}[[network.egress]]\ncidr = \"10.0.0.0/8\"\nsurprise = 1\n",
                head()
            ),
            false,
        ),
        (good.replace("version = 1", "version = 2"), false),
    ];
    for (doc, ok) in &docs {
        assert_eq!(parse(doc).is_ok(), *ok, "parser on:\n{doc}");
    }
    let schema = serde_json::to_string(&rampart_intent::schema()).unwrap();
    let list =
        serde_json::to_string(&docs.iter().map(|d| d.0.clone()).collect::<Vec<_>>()).unwrap();
    let out = rampart_testkit::oracles::run_python(
        r#"
import json, os, sys, tomllib, jsonschema
d = sys.argv[1]
schema = json.load(open(os.path.join(d, "schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for doc in json.load(open(os.path.join(d, "docs.json"))):
    print("ok" if v.is_valid(tomllib.loads(doc)) else "bad")
"#,
        &[
            ("schema.json", schema.as_bytes()),
            ("docs.json", list.as_bytes()),
        ],
    );
    let verdicts: Vec<bool> = out.lines().map(|l| l == "ok").collect();
    let expected: Vec<bool> = docs.iter().map(|d| d.1).collect();
    assert_eq!(verdicts, expected, "python jsonschema: {out}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the bytes, parsing returns (never panics), and an error names a position
    /// inside the text or none.
    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,400}") {
        if let Err(IntentError::Invalid { line, .. }) = parse(&text) {
            prop_assert!(line as usize <= text.lines().count() + 1);
        }
    }

    /// Arbitrary values in a valid skeleton: accepted or refused, never a panic; accepted ones
    /// round-trip.
    #[test]
    fn mutated_values_round_trip_or_are_refused(
        path in "/[a-z0-9._/-]{0,20}",
        port in 0i64..70000,
        cidr in "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}/[0-9]{1,2}",
        cap in "(CAP_)?[A-Z_]{2,16}",
    ) {
        let doc = format!(
            "{}[files]\nwritable = [\"{path}\"]\n[[network.listen]]\nport = {port}\n[[network.egress]]\ncidr = \"{cidr}\"\n[kernel]\ncapabilities = [\"{cap}\"]\n",
            head()
        );
        if let Ok(i) = parse(&doc) {
            let again = parse(&i.to_toml().unwrap()).unwrap();
            prop_assert_eq!(i, again);
        }
    }
}
