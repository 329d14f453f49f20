//! In-toto statements in DSSE envelopes: PAE against the DSSE spec, sign/verify with every
//! tamper case, the `.att` layout, the real Sigstore bundle vectors, and Python `cryptography`
//! (computing the PAE itself) plus `sigstore-rs` as independent verifiers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{DIGEST, Key, OTHER_DIGEST, PY_SIGN, PY_VERIFY, corpus, python, unhex};
use proptest::prelude::*;
use rampart_sign::dsse::*;
use rampart_sign::signature::{attestation_tag, build_manifest, sha256_digest};
use serde_json::{Value, json};

#[test]
fn pae_matches_the_dsse_spec_example() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
}

#[test]
fn predicate_types_by_cosign_name() {
    let table = [
        ("cyclonedx", "https://cyclonedx.org/bom"),
        ("spdx", "https://spdx.dev/Document"),
        ("spdxjson", "https://spdx.dev/Document"),
        ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
        ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
        ("custom", "https://cosign.sigstore.dev/attestation/v1"),
        ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
        ("openvex", "https://openvex.dev/ns"),
        ("https://example.com/mine", "https://example.com/mine"),
    ];
    for (name, uri) in table {
        assert_eq!(predicate_type_uri(name), uri, "{name}");
    }
}

fn cyclonedx_statement() -> Statement {
    let bom = std::fs::read(corpus(
        "cosign-repo/test/testdata/bom-go-mod.cyclonedx.json",
    ))
    .unwrap();
    Statement::for_predicate("registry/repo", DIGEST, PredicateKind::CycloneDx, &bom, "").unwrap()
}

#[test]
fn statements_for_each_kind() {
    let s = cyclonedx_statement();
    let bytes = s.to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["_type"], "https://in-toto.io/Statement/v0.1");
    assert_eq!(v["predicateType"], "https://cyclonedx.org/bom");
    assert_eq!(
        v["subject"],
        json!([{"name": "registry/repo", "digest": {"sha256": DIGEST.strip_prefix("sha256:").unwrap()}}])
    );
    assert_eq!(v["predicate"]["bomFormat"], "CycloneDX");
    // Key order as in-toto writes it.
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with(r#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://cyclonedx.org/bom","subject":[{"name":"registry/repo","digest":{"sha256":"#));
    assert_eq!(Statement::parse(&bytes).unwrap(), s);

    let custom = Statement::for_predicate(
        "r",
        DIGEST,
        PredicateKind::Custom,
        b"{\"foo\": \"bar\"}\n",
        "2025-02-28T19:18:11Z",
    )
    .unwrap();
    assert_eq!(
        custom.predicate,
        json!({"Data": "{\"foo\": \"bar\"}\n", "Timestamp": "2025-02-28T19:18:11Z"})
    );
    let spdx_tv = std::fs::read(corpus("cosign-repo/test/testdata/bom-go-mod.spdx")).unwrap();
    let spdx = Statement::for_predicate("r", DIGEST, PredicateKind::Spdx, &spdx_tv, "").unwrap();
    assert_eq!(
        spdx.predicate,
        Value::String(String::from_utf8(spdx_tv).unwrap())
    );
    let slsa = Statement::for_predicate(
        "r",
        DIGEST,
        PredicateKind::SlsaProvenance,
        b"{\"builder\":{\"id\":\"x\"}}",
        "",
    )
    .unwrap();
    assert_eq!(slsa.predicate_type, "https://slsa.dev/provenance/v0.2");
    assert!(matches!(
        Statement::for_predicate("r", DIGEST, PredicateKind::CycloneDx, b"<bom/>", ""),
        Err(AttError::Malformed(_))
    ));
    assert!(matches!(
        Statement::new("r", "sha256:abc", "x", Value::Null),
        Err(AttError::Malformed(_))
    ));
    assert!(matches!(
        Statement::parse(
            br#"{"_type":"https://example.com/Other","predicateType":"x","subject":[]}"#
        ),
        Err(AttError::Malformed(_))
    ));
}

#[test]
fn envelope_sign_verify_and_every_tamper_case() {
    let key = Key::new(11);
    let v = key.verifier();
    let statement = cyclonedx_statement();
    let env = Envelope::sign_statement(&statement, &key);
    assert_eq!(env.payload_type, "application/vnd.in-toto+json");
    assert_eq!(env.signatures[0].keyid, "");
    assert_eq!(B64.decode(&env.payload).unwrap(), statement.to_bytes());
    let json = String::from_utf8(env.to_bytes()).unwrap();
    assert!(
        json.starts_with(r#"{"payloadType":"application/vnd.in-toto+json","payload":""#),
        "{json}"
    );
    assert_eq!(Envelope::parse(json.as_bytes()).unwrap(), env);
    assert_eq!(env.verify(&v).unwrap(), statement.to_bytes());

    let ok = verify_attestations(DIGEST, std::slice::from_ref(&env), &v, None).unwrap();
    assert_eq!(ok[0].statement, statement);
    assert!(verify_attestations(DIGEST, std::slice::from_ref(&env), &v, Some("cyclonedx")).is_ok());
    assert!(
        verify_attestations(
            DIGEST,
            std::slice::from_ref(&env),
            &v,
            Some("https://cyclonedx.org/bom")
        )
        .is_ok()
    );

    assert_eq!(
        verify_attestations(DIGEST, &[], &v, None).unwrap_err(),
        AttError::NoAttestations
    );
    assert!(matches!(
        verify_attestations(
            DIGEST,
            std::slice::from_ref(&env),
            &Key::new(12).verifier(),
            None
        ),
        Err(AttError::BadSignature { index: 0, .. })
    ));
    // The payload swapped for another statement under the same signature.
    let mut swapped = env.clone();
    let other = Statement::new(
        "registry/repo",
        OTHER_DIGEST,
        "https://cyclonedx.org/bom",
        json!({}),
    )
    .unwrap();
    swapped.payload = B64.encode(other.to_bytes());
    assert!(matches!(
        verify_attestations(OTHER_DIGEST, &[swapped], &v, None),
        Err(AttError::BadSignature { index: 0, .. })
    ));
    // The payload type changed: the PAE changes, so the signature breaks.
    let mut retyped = env.clone();
    retyped.payload_type = "application/json".into();
    assert!(matches!(
        verify_attestations(DIGEST, &[retyped], &v, None),
        Err(AttError::BadSignature { .. })
    ));
    // Signed, but with another payload type.
    let other_type = Envelope::sign("application/json", &statement.to_bytes(), &key);
    assert_eq!(
        verify_attestations(DIGEST, &[other_type], &v, None).unwrap_err(),
        AttError::WrongPayloadType {
            index: 0,
            found: "application/json".into()
        }
    );
    // An attestation of another image.
    assert_eq!(
        verify_attestations(OTHER_DIGEST, std::slice::from_ref(&env), &v, None).unwrap_err(),
        AttError::SubjectMismatch {
            index: 0,
            expected: OTHER_DIGEST.into(),
            found: vec![DIGEST.into()]
        }
    );
    assert_eq!(
        verify_attestations(DIGEST, std::slice::from_ref(&env), &v, Some("spdx")).unwrap_err(),
        AttError::PredicateTypeMismatch {
            index: 0,
            expected: "https://spdx.dev/Document".into(),
            found: "https://cyclonedx.org/bom".into()
        }
    );
    let garbage = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, b"not json", &key);
    assert!(matches!(
        verify_attestations(DIGEST, &[garbage], &v, None),
        Err(AttError::Malformed(_))
    ));
    let mut unsigned = env.clone();
    unsigned.signatures.clear();
    assert!(matches!(
        verify_attestations(DIGEST, &[unsigned], &v, None),
        Err(AttError::BadSignature { .. })
    ));
    // A second, valid signature by the right key among others is enough.
    let mut two = Envelope::sign_statement(&statement, &Key::new(13));
    two.signatures.push(env.signatures[0].clone());
    assert!(verify_attestations(DIGEST, &[two], &v, None).is_ok());
}

#[test]
fn attestation_layer_and_manifest() {
    let key = Key::new(14);
    let env = Envelope::sign_statement(&cyclonedx_statement(), &key);
    let layer = env.to_layer("https://cyclonedx.org/bom");
    assert_eq!(layer.media_type, "application/vnd.dsse.envelope.v1+json");
    assert_eq!(
        layer.annotations,
        BTreeMap::from([
            (
                "dev.cosignproject.cosign/signature".to_owned(),
                String::new()
            ),
            (
                "predicateType".to_owned(),
                "https://cyclonedx.org/bom".to_owned()
            ),
        ])
    );
    let built = build_manifest(std::slice::from_ref(&layer));
    let m: Value = serde_json::from_slice(&built.manifest).unwrap();
    assert_eq!(
        m["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"],
        ""
    );
    assert!(attestation_tag(DIGEST).unwrap().ends_with(".att"));
    let blobs = BTreeMap::from([(sha256_digest(&layer.blob), layer.blob.clone())]);
    let read = read_attestation_layers(&built.manifest, &blobs).unwrap();
    assert_eq!(read, vec![env]);
    assert!(verify_attestations(DIGEST, &read, &key.verifier(), Some("cyclonedx")).is_ok());
}

/// The expected fields of a bundle, computed by Python's json/base64 (stdlib) as the oracle.
fn python_bundle_fields(path: &std::path::Path) -> Value {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import json, base64, sys
b = json.load(open(sys.argv[1]))
e = b["dsseEnvelope"]
s = json.loads(base64.b64decode(e["payload"]))
print(json.dumps({"payloadType": e["payloadType"], "type": s["_type"], "predicateType": s["predicateType"],
                  "subject": [x["digest"]["sha256"] for x in s["subject"]], "sig": e["signatures"][0]["sig"]}))
"#,
        )
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn reads_the_real_sigstore_bundles() {
    for rel in [
        "cosign-repo/pkg/cosign/testdata/oci-attestation.sigstore.json",
        "sigstore-rs/tests/data/bundle_v03.json",
    ] {
        let path = corpus(rel);
        let expected = python_bundle_fields(&path);
        let bundle = Bundle::parse(&std::fs::read(&path).unwrap()).unwrap();
        let env = bundle.dsse_envelope.as_ref().unwrap();
        assert_eq!(env.payload_type, expected["payloadType"], "{rel}");
        assert_eq!(env.signatures[0].sig, expected["sig"], "{rel}");
        let s = bundle.statement().unwrap();
        assert_eq!(s.statement_type, expected["type"], "{rel}");
        assert_eq!(s.predicate_type, expected["predicateType"], "{rel}");
        let subjects: Vec<&str> = s
            .subject
            .iter()
            .map(|x| x.digest["sha256"].as_str())
            .collect();
        assert_eq!(
            serde_json::to_value(&subjects).unwrap(),
            expected["subject"],
            "{rel}"
        );
        assert!(bundle.verification_material.get("certificate").is_some());
    }
    assert!(matches!(
        Bundle::parse(br#"{"mediaType":"application/json"}"#),
        Err(AttError::Malformed(_))
    ));
    let root: TrustRoot = serde_json::from_slice(
        &std::fs::read(corpus(
            "cosign-repo/pkg/cosign/testdata/trusted_root_pgi.json",
        ))
        .unwrap(),
    )
    .unwrap();
    assert!(
        root.media_type
            .starts_with("application/vnd.dev.sigstore.trustedroot")
    );
}

/// Python computes the PAE from the DSSE formula itself and verifies rampart's signature.
const PY_VERIFY_ENVELOPE: &str = r#"
import sys, os, json, base64
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.exceptions import InvalidSignature
d = sys.argv[1]
key = serialization.load_pem_public_key(open(os.path.join(d, "pub.pem"), "rb").read())
for name in ["good.json", "bad.json"]:
    e = json.load(open(os.path.join(d, name)))
    body = base64.b64decode(e["payload"])
    t = e["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)
    try:
        key.verify(base64.b64decode(e["signatures"][0]["sig"]), pae, ec.ECDSA(hashes.SHA256()))
        print("ok")
    except InvalidSignature:
        print("bad")
"#;

#[test]
fn python_cryptography_verifies_rampart_envelopes_and_the_other_way_round() {
    let key = Key::new(15);
    let env = Envelope::sign_statement(&cyclonedx_statement(), &key);
    let mut bad = env.clone();
    bad.payload = B64.encode(b"{}");
    let out = python(
        PY_VERIFY_ENVELOPE,
        &[
            ("pub.pem", key.public_pem().as_bytes()),
            ("good.json", &env.to_bytes()),
            ("bad.json", &bad.to_bytes()),
        ],
    );
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["ok", "bad"]);
    // And the raw PAE bytes with the generic verifier script.
    let body = env.body().unwrap();
    let message = pae(&env.payload_type, &body);
    let sig = B64.decode(&env.signatures[0].sig).unwrap();
    let out = python(
        PY_VERIFY,
        &[
            ("pub.pem", key.public_pem().as_bytes()),
            ("msg0", &message),
            ("sig0", &sig),
        ],
    );
    assert_eq!(out.trim(), "ok");

    // Python signs rampart's PAE; rampart's envelope verification accepts it.
    let statement = cyclonedx_statement();
    let body = statement.to_bytes();
    let hex = python(
        PY_SIGN,
        &[
            ("key.pem", key.private_pem().as_bytes()),
            ("msg", &pae(IN_TOTO_PAYLOAD_TYPE, &body)),
        ],
    );
    let env = Envelope {
        payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
        payload: B64.encode(&body),
        signatures: vec![EnvelopeSignature {
            keyid: String::new(),
            sig: B64.encode(unhex(hex.trim())),
        }],
    };
    assert!(verify_attestations(DIGEST, &[env], &key.verifier(), Some("cyclonedx")).is_ok());
}

#[test]
fn sigstore_rs_verifies_rampart_envelope_signatures() {
    use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};
    let key = Key::new(16);
    let env = Envelope::sign_statement(&cyclonedx_statement(), &key);
    let vk = CosignVerificationKey::from_pem(
        key.public_pem().as_bytes(),
        &SigningScheme::ECDSA_P256_SHA256_ASN1,
    )
    .unwrap();
    let message = pae(&env.payload_type, &env.body().unwrap());
    vk.verify_signature(
        Signature::Base64Encoded(env.signatures[0].sig.as_bytes()),
        &message,
    )
    .unwrap();
    assert!(
        vk.verify_signature(
            Signature::Base64Encoded(env.signatures[0].sig.as_bytes()),
            &env.body().unwrap()
        )
        .is_err()
    );
}

proptest! {
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Envelope::parse(&bytes);
        let _ = Statement::parse(&bytes);
        let _ = Bundle::parse(&bytes);
        let _ = read_attestation_layers(&bytes, &BTreeMap::new());
    }

    #[test]
    fn pae_is_injective_on_the_type_body_split(t in "[a-z ]{0,12}", body in proptest::collection::vec(any::<u8>(), 0..24), cut in 0usize..12) {
        // Moving bytes between type and body changes the encoding.
        let cut = cut.min(t.len());
        let (a, b) = t.split_at(cut);
        let mut moved = b.as_bytes().to_vec();
        moved.extend_from_slice(&body);
        prop_assume!(!b.is_empty());
        prop_assert_ne!(pae(&t, &body), pae(a, &moved));
    }
}
