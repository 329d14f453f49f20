//! Arbitrary bytes as an intent document (TOML or its JSON form, as an attestation's predicate
//! arrives): the reader must never panic; an accepted intent round-trips through TOML, compiles
//! into every layer, and a pod checked against it never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_intent::{Intent, Options, compile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = std::path::Path::new("fuzz.toml");
    let Ok(intent) = Intent::parse(text, path) else {
        return;
    };
    let again = Intent::parse(&intent.to_toml().expect("serialises"), path).expect("round trip");
    assert_eq!(intent, again);
    let mut opts = Options::for_file(path);
    opts.base = std::path::PathBuf::from("/nonexistent");
    if let Ok(compiled) = compile(&intent, &opts) {
        assert!(!compiled.artefacts.is_empty());
    }
    let mut set = rampart_intent::conform::IntentSet::default();
    if set.add(intent.clone(), "fuzz").is_ok() {
        let pod = serde_json::json!({ "containers": [{ "name": "c", "image": intent.image.as_str(),
            "ports": [{ "containerPort": 80 }], "securityContext": { "privileged": true } }] });
        let _ = rampart_intent::conform::check_pod_spec(&set, &pod);
    }
});
