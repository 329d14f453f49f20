//! Attached objects (`.sig`, `.att`) on a real registry (Debian's docker-registry on
//! 127.0.0.1, images copied in by skopeo): tag names, round trips, "nothing attached" as
//! `None`, and objects that follow the digest when the image is tagged again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rampart_image::Digest;
use rampart_registry::{Client, ClientOptions, Reference};
use rampart_sign::oci::{Attached, attached_tag, fetch, push, resolve};
use rampart_testkit::registry::{Auth, Registry, skopeo};

fn worker_layout() -> String {
    format!(
        "oci:{}",
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/images/worker")
            .display()
    )
}

#[test]
fn attached_objects_round_trip_and_follow_the_digest() {
    let reg = Registry::start(Auth::None);
    skopeo(&[
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        &worker_layout(),
        &format!("docker://{}/shop/worker:1", reg.host()),
    ]);
    let client = Client::new(&ClientOptions {
        insecure: true,
        ..ClientOptions::default()
    })
    .unwrap();
    let image = Reference::parse(&format!("{}/shop/worker:1", reg.host())).unwrap();
    let digest = resolve(&client, &image).unwrap();
    // The layout's own manifest digest (index.json of the example).
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples/images/worker/index.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        digest.to_string(),
        index["manifests"][0]["digest"].as_str().unwrap()
    );
    assert_eq!(
        attached_tag(&digest, Attached::Signature),
        format!("sha256-{}.sig", &digest.to_string()[7..])
    );
    assert!(
        fetch(&client, &image, &digest, Attached::Signature)
            .unwrap()
            .is_none(),
        "nothing attached yet"
    );

    // A minimal object of cosign's shape: config, one layer with an annotation.
    let payload = br#"{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"sha256:0"},"type":"cosign container image signature"},"optional":null}"#;
    let config = br#"{"architecture":"","config":{},"created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": config.len(), "digest": Digest::sha256_of(config).to_string()},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "size": payload.len(),
                    "digest": Digest::sha256_of(payload).to_string(),
                    "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ=="}}]
    });
    let bytes = serde_json::to_vec(&manifest).unwrap();
    push(
        &client,
        &image,
        &digest,
        Attached::Signature,
        &bytes,
        &[config, payload],
    )
    .unwrap();
    let tags = client.list_tags(image.repository()).unwrap();
    assert!(
        tags.contains(&attached_tag(&digest, Attached::Signature)),
        "{tags:?}"
    );
    let got = fetch(&client, &image, &digest, Attached::Signature)
        .unwrap()
        .unwrap();
    assert_eq!(got.bytes, bytes);
    assert_eq!(got.layers.len(), 1);
    assert_eq!(got.layers[0].blob, payload);
    assert_eq!(
        got.layers[0].annotations["dev.cosignproject.cosign/signature"],
        "MEUCIQ=="
    );
    assert!(
        fetch(&client, &image, &digest, Attached::Attestation)
            .unwrap()
            .is_none()
    );

    // The same image under another tag: same digest, same attached objects.
    let renamed = copy_within(&reg, "shop/worker:1", "shop/worker:renamed");
    let d2 = resolve(&client, &renamed).unwrap();
    assert_eq!(d2, digest);
    assert!(
        fetch(&client, &renamed, &d2, Attached::Signature)
            .unwrap()
            .is_some()
    );
    // Another repository holds the same digest but not its signatures (cosign's layout is per
    // repository): nothing attached there.
    let mirror = copy_within(&reg, "shop/worker:1", "mirror/worker:1");
    assert_eq!(resolve(&client, &mirror).unwrap(), digest);
    assert!(
        fetch(&client, &mirror, &digest, Attached::Signature)
            .unwrap()
            .is_none()
    );
}

/// Copies `from` to `to` inside the registry with skopeo; the reference of the copy.
fn copy_within(reg: &Registry, from: &str, to: &str) -> Reference {
    skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &format!("docker://{}/{from}", reg.host()),
        &format!("docker://{}/{to}", reg.host()),
    ]);
    Reference::parse(&format!("{}/{to}", reg.host())).unwrap()
}
