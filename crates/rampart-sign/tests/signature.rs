//! The simple-signing payload, the `.sig` layout, and verification with every tamper case;
//! Python `cryptography` and the Sigstore project's `sigstore` crate as independent verifiers.
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
use common::{DIGEST, Key, OTHER_DIGEST, PY_SIGN, PY_VERIFY, python, unhex};
use proptest::prelude::*;
use rampart_sign::signature::*;
use serde_json::Value;

fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn payload_bytes_are_cosigns() {
    // The spec's example payload, with the fields in the order and form cosign writes them.
    let p = SimpleSigning::new("testing/manifest", DIGEST, None);
    assert_eq!(
        String::from_utf8(p.to_bytes()).unwrap(),
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"testing/manifest"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"cosign container image signature"}},"optional":null}}"#
        )
    );
    let p = SimpleSigning::new(
        "testing/manifest",
        DIGEST,
        Some(annotations(&[
            ("timestamp", "1458239713"),
            ("creator", "atomic"),
        ])),
    );
    assert_eq!(
        String::from_utf8(p.to_bytes()).unwrap(),
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"testing/manifest"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"cosign container image signature"}},"optional":{{"creator":"atomic","timestamp":"1458239713"}}}}"#
        )
    );
    // Go's encoding/json escapes HTML characters; cosign's bytes carry them escaped.
    let p = SimpleSigning::new("r", DIGEST, Some(annotations(&[("a<b", "x&y>\u{2028}")])));
    let s = String::from_utf8(p.to_bytes()).unwrap();
    assert!(
        s.ends_with(r#""optional":{"a\u003cb":"x\u0026y\u003e\u2028"}}"#),
        "{s}"
    );
    assert_eq!(SimpleSigning::parse(s.as_bytes()).unwrap(), p);
}

#[test]
fn parses_the_spec_example_with_its_capitalised_key() {
    let spec = br#"{
    "critical": {
           "identity": { "docker-reference": "testing/manifest" },
           "image": { "Docker-manifest-digest": "sha256:20be...fe55" },
           "type": "cosign container image signature"
    },
    "optional": { "creator": "atomic", "timestamp": 1458239713 }
}"#;
    let p = SimpleSigning::parse(spec).unwrap();
    assert_eq!(p.docker_reference, "testing/manifest");
    assert_eq!(p.manifest_digest, "sha256:20be...fe55");
    let opt = p.optional.unwrap();
    assert_eq!(opt["creator"], Value::from("atomic"));
    assert_eq!(opt["timestamp"], Value::from(1458239713));
}

#[test]
fn payload_errors_are_distinct() {
    let table: &[(&str, PayloadError)] = &[
        (
            r#"{"critical":{"identity":{},"image":{"docker-manifest-digest":"x"},"type":"cosign container image signature","extra":1},"optional":null}"#,
            PayloadError::UnknownCriticalField("critical.extra".into()),
        ),
        (
            r#"{"critical":{"identity":{},"image":{"docker-manifest-digest":"x","size":1},"type":"cosign container image signature"},"optional":null}"#,
            PayloadError::UnknownCriticalField("critical.image.size".into()),
        ),
        (
            r#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"x"},"type":"atomic container signature"},"optional":null}"#,
            PayloadError::WrongType("atomic container signature".into()),
        ),
    ];
    for (input, expected) in table {
        assert_eq!(
            SimpleSigning::parse(input.as_bytes()).unwrap_err(),
            *expected,
            "{input}"
        );
    }
    for malformed in [
        "",
        "[]",
        r#"{"optional":null}"#,
        r#"{"critical":{"type":"cosign container image signature"}}"#,
        r#"{"critical":{"image":{"docker-manifest-digest":1},"type":"cosign container image signature"}}"#,
        r#"{"critical":{"image":{"docker-manifest-digest":"a","Docker-Manifest-Digest":"b"},"type":"cosign container image signature"}}"#,
        r#"{"critical":{"image":{"docker-manifest-digest":"a"},"type":"cosign container image signature"},"optional":[1]}"#,
        r#"{"critical":{"image":{"docker-manifest-digest":"a"},"type":"cosign container image signature"},"other":1}"#,
    ] {
        assert!(
            matches!(
                SimpleSigning::parse(malformed.as_bytes()),
                Err(PayloadError::Malformed(_))
            ),
            "{malformed}"
        );
    }
    let deep = format!(
        r#"{{"critical":{{"image":{{"docker-manifest-digest":"a"}},"type":"cosign container image signature"}},"optional":{{"a":{}1{}}}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert!(matches!(
        SimpleSigning::parse(deep.as_bytes()),
        Err(PayloadError::Malformed(_))
    ));
}

proptest! {
    #[test]
    fn payload_round_trips(reference in ".{0,40}", hex in "[0-9a-f]{64}",
                           opt in proptest::option::of(proptest::collection::btree_map(".{0,8}", ".{0,8}", 0..4))) {
        let p = SimpleSigning::new(reference, format!("sha256:{hex}"), opt);
        let bytes = p.to_bytes();
        // Compact JSON that serde_json reads back to the same value.
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(serde_json::to_vec(&v).unwrap().len() <= bytes.len(), true);
        prop_assert_eq!(SimpleSigning::parse(&bytes).unwrap(), p);
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = SimpleSigning::parse(&bytes);
        let _ = parse_manifest(&bytes);
        let _ = read_signature_layers(&bytes, &BTreeMap::new());
    }
}

#[test]
fn tags() {
    let hex = DIGEST.strip_prefix("sha256:").unwrap();
    assert_eq!(signature_tag(DIGEST).unwrap(), format!("sha256-{hex}.sig"));
    assert_eq!(
        attestation_tag(DIGEST).unwrap(),
        format!("sha256-{hex}.att")
    );
    for bad in ["sha256:abc", "sha512:00", &DIGEST.to_uppercase(), "latest"] {
        assert_eq!(
            signature_tag(bad).unwrap_err(),
            LayoutError::BadDigest(bad.to_owned())
        );
    }
}

fn signed_layer(key: &Key, payload: &SimpleSigning) -> SignatureLayer {
    SignatureLayer::sign(payload.to_bytes(), key)
}

#[test]
fn manifest_layout_matches_cosign_and_reads_back() {
    let key = Key::new(3);
    let one = signed_layer(&key, &SimpleSigning::new("registry/repo", DIGEST, None));
    let built = build_signature_manifest(std::slice::from_ref(&one));
    let m: Value = serde_json::from_slice(&built.manifest).unwrap();
    assert_eq!(m["schemaVersion"], 2);
    assert_eq!(m["mediaType"], OCI_MANIFEST_MEDIA_TYPE);
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    assert_eq!(m["config"]["digest"], built.config.digest.as_str());
    let layer = &m["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    assert_eq!(layer["size"], one.payload.len());
    assert_eq!(layer["digest"], sha256_digest(&one.payload).as_str());
    assert_eq!(
        layer["annotations"]["dev.cosignproject.cosign/signature"],
        one.signature_b64.as_str()
    );
    // The config blob exactly as go-containerregistry writes it for cosign.
    assert_eq!(
        String::from_utf8(built.config.data.clone()).unwrap(),
        format!(
            r#"{{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{{"created":"0001-01-01T00:00:00Z"}}],"os":"","rootfs":{{"type":"layers","diff_ids":["{}"]}},"config":{{}}}}"#,
            sha256_digest(&one.payload)
        )
    );
    assert_eq!(built.config.digest, sha256_digest(&built.config.data));
    assert_eq!(built.manifest_digest, sha256_digest(&built.manifest));
    assert_eq!(built.layers.len(), 1);

    // Append a second signature (another key, user annotations on the layer).
    let mut two = signed_layer(
        &Key::new(4),
        &SimpleSigning::new("registry/other", DIGEST, None),
    );
    two.annotations = annotations(&[("dev.sigstore.cosign/bundle", "{}")]);
    let appended = append_layer(&built.manifest, &two.to_layer())
        .unwrap()
        .unwrap();
    assert_eq!(appended.layers.len(), 1, "only the new blob is pushed");
    let cfg: Value = serde_json::from_slice(&appended.config.data).unwrap();
    assert_eq!(cfg["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    assert_eq!(cfg["history"].as_array().unwrap().len(), 2);
    let whole = build_signature_manifest(&[one.clone(), two.clone()]);
    assert_eq!(appended.manifest, whole.manifest);
    assert_eq!(appended.config, whole.config);
    // Appending the same signature again changes nothing.
    assert_eq!(
        append_layer(&appended.manifest, &two.to_layer()).unwrap(),
        None
    );

    let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for l in [&one, &two] {
        blobs.insert(sha256_digest(&l.payload), l.payload.clone());
    }
    let read = read_signature_layers(&appended.manifest, &blobs).unwrap();
    assert_eq!(read, vec![one.clone(), two.clone()]);

    // A blob that is not what the descriptor names.
    let mut wrong = blobs.clone();
    wrong.insert(sha256_digest(&one.payload), b"other".to_vec());
    assert!(matches!(
        read_signature_layers(&appended.manifest, &wrong),
        Err(LayoutError::BlobMismatch { index: 0, .. })
    ));
    let mut missing = blobs.clone();
    missing.remove(&sha256_digest(&two.payload));
    assert!(matches!(
        read_signature_layers(&appended.manifest, &missing),
        Err(LayoutError::MissingBlob { index: 1, .. })
    ));
    let other_type = String::from_utf8(built.manifest.clone()).unwrap().replace(
        SIMPLESIGNING_MEDIA_TYPE,
        "application/vnd.oci.image.layer.v1.tar",
    );
    assert!(matches!(
        read_signature_layers(other_type.as_bytes(), &blobs),
        Err(LayoutError::WrongMediaType { index: 0, .. })
    ));
    let no_sig = String::from_utf8(built.manifest.clone())
        .unwrap()
        .replace(SIGNATURE_ANNOTATION, "x");
    assert!(matches!(
        read_signature_layers(no_sig.as_bytes(), &blobs),
        Err(LayoutError::Malformed(_))
    ));
}

#[test]
fn verification_and_every_tamper_case() {
    let key = Key::new(5);
    let v = key.verifier();
    let none = BTreeMap::new();
    let good = signed_layer(&key, &SimpleSigning::new("registry/repo", DIGEST, None));

    let ok = verify_signatures(DIGEST, std::slice::from_ref(&good), &v, &none).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].payload.manifest_digest, DIGEST);

    assert_eq!(
        verify_signatures(DIGEST, &[], &v, &none).unwrap_err(),
        VerifyError::NoSignatures
    );

    // Wrong key.
    let other = Key::new(6).verifier();
    assert!(matches!(
        verify_signatures(DIGEST, std::slice::from_ref(&good), &other, &none),
        Err(VerifyError::BadSignature { layer: 0, .. })
    ));
    // One payload byte changed.
    let mut modified = good.clone();
    let pos = modified.payload.iter().position(|b| *b == b'r').unwrap();
    modified.payload[pos] = b'R';
    assert!(matches!(
        verify_signatures(DIGEST, &[modified], &v, &none),
        Err(VerifyError::BadSignature { layer: 0, .. })
    ));
    // A valid signature copied onto another image (or the registry serving another manifest).
    assert_eq!(
        verify_signatures(OTHER_DIGEST, std::slice::from_ref(&good), &v, &none).unwrap_err(),
        VerifyError::DigestMismatch {
            payload_digest: DIGEST.into(),
            served: OTHER_DIGEST.into()
        }
    );
    // Signed payloads that are not acceptable.
    let unknown = SignatureLayer::sign(
        format!(r#"{{"critical":{{"identity":{{"docker-reference":"r"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"cosign container image signature","expires":"never"}},"optional":null}}"#).into_bytes(),
        &key,
    );
    assert_eq!(
        verify_signatures(DIGEST, &[unknown], &v, &none).unwrap_err(),
        VerifyError::UnknownCriticalField {
            layer: 0,
            field: "critical.expires".into()
        }
    );
    let wrong_type = SignatureLayer::sign(
        format!(r#"{{"critical":{{"identity":{{"docker-reference":"r"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"atomic container signature"}},"optional":null}}"#).into_bytes(),
        &key,
    );
    assert_eq!(
        verify_signatures(DIGEST, &[wrong_type], &v, &none).unwrap_err(),
        VerifyError::WrongType {
            layer: 0,
            found: "atomic container signature".into()
        }
    );
    let not_json = SignatureLayer::sign(b"not json".to_vec(), &key);
    assert!(matches!(
        verify_signatures(DIGEST, &[not_json], &v, &none),
        Err(VerifyError::Malformed { layer: 0, .. })
    ));
    let mut not_b64 = good.clone();
    not_b64.signature_b64 = "!!".into();
    assert!(matches!(
        verify_signatures(DIGEST, &[not_b64], &v, &none),
        Err(VerifyError::Malformed { layer: 0, .. })
    ));
    // Required annotations (`cosign verify -a`) are checked against the signed payload.
    let annotated = signed_layer(
        &key,
        &SimpleSigning::new("r", DIGEST, Some(annotations(&[("env", "prod")]))),
    );
    let want = annotations(&[("env", "prod")]);
    assert!(verify_signatures(DIGEST, std::slice::from_ref(&annotated), &v, &want).is_ok());
    assert_eq!(
        verify_signatures(
            DIGEST,
            std::slice::from_ref(&annotated),
            &v,
            &annotations(&[("env", "dev")])
        )
        .unwrap_err(),
        VerifyError::AnnotationMismatch {
            layer: 0,
            key: "env".into(),
            expected: "dev".into(),
            found: Some("prod".into())
        }
    );
    assert!(matches!(
        verify_signatures(DIGEST, std::slice::from_ref(&good), &v, &want),
        Err(VerifyError::AnnotationMismatch { found: None, .. })
    ));
    // Annotations on the layer (not signed) do not count.
    let mut unsigned = good.clone();
    unsigned.annotations = want.clone();
    assert!(matches!(
        verify_signatures(DIGEST, &[unsigned], &v, &want),
        Err(VerifyError::AnnotationMismatch { .. })
    ));
    // One good layer among bad ones is enough; the informative error wins when none is good.
    let by_other_key = signed_layer(&Key::new(7), &SimpleSigning::new("r", DIGEST, None));
    let ok = verify_signatures(DIGEST, &[by_other_key.clone(), good.clone()], &v, &none).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].layer, 1);
    assert!(matches!(
        verify_signatures(OTHER_DIGEST, &[by_other_key, good], &v, &none),
        Err(VerifyError::DigestMismatch { .. })
    ));
}

#[test]
fn python_cryptography_verifies_rampart_signatures_and_the_other_way_round() {
    let key = Key::new(8);
    let layer = signed_layer(&key, &SimpleSigning::new("registry/repo", DIGEST, None));
    let sig = B64.decode(&layer.signature_b64).unwrap();
    let mut tampered = layer.payload.clone();
    tampered.push(b' ');
    let out = python(
        PY_VERIFY,
        &[
            ("pub.pem", key.public_pem().as_bytes()),
            ("msg0", &layer.payload),
            ("sig0", &sig),
            ("msg1", &tampered),
            ("sig1", &sig),
        ],
    );
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["ok", "bad"]);

    // A signature made by Python over rampart's payload verifies in rampart.
    let payload = SimpleSigning::new("registry/repo", DIGEST, None).to_bytes();
    let hex = python(
        PY_SIGN,
        &[("key.pem", key.private_pem().as_bytes()), ("msg", &payload)],
    );
    let layer = SignatureLayer {
        payload,
        signature_b64: B64.encode(unhex(hex.trim())),
        annotations: BTreeMap::new(),
    };
    assert!(verify_signatures(DIGEST, &[layer], &key.verifier(), &BTreeMap::new()).is_ok());
}

#[test]
fn sigstore_rs_verifies_rampart_signatures() {
    use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};
    let key = Key::new(9);
    let layer = signed_layer(&key, &SimpleSigning::new("registry/repo", DIGEST, None));
    let vk = CosignVerificationKey::from_pem(
        key.public_pem().as_bytes(),
        &SigningScheme::ECDSA_P256_SHA256_ASN1,
    )
    .unwrap();
    vk.verify_signature(
        Signature::Base64Encoded(layer.signature_b64.as_bytes()),
        &layer.payload,
    )
    .unwrap();
    let mut tampered = layer.payload.clone();
    tampered[0] = b' ';
    assert!(
        vk.verify_signature(
            Signature::Base64Encoded(layer.signature_b64.as_bytes()),
            &tampered
        )
        .is_err()
    );
}
