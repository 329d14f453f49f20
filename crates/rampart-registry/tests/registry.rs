//! The client against the real registry (distribution 2.8, Debian's `docker-registry`), one
//! registry per test. Images are built here as OCI layouts and pushed by `skopeo` (independent
//! of this crate) or by the client itself and read back by `skopeo`. A fake server plays what a
//! real registry never sends (endless bodies, huge headers, redirect loops).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

#[path = "../../rampart-image/tests/support/mod.rs"]
mod layouts;

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use layouts::{Comp, E, layer};
use rampart_image::{BlobStore, Digest, Image, ImageError, Limits, Platform, Source};
use rampart_registry::{
    BlobPush, Client, ClientOptions, Reference, RegistryError, RegistryStore, Secret, open_image,
};
use rampart_testkit::registry::{
    self as support, Auth, FakeServer, Registry, TokenServer, header, skopeo,
};

/// Options for a plain-HTTP loopback registry, no docker config.
fn insecure() -> ClientOptions {
    ClientOptions {
        insecure: true,
        use_docker_config: false,
        ..ClientOptions::default()
    }
}

fn reference(reg: &Registry, name: &str) -> Reference {
    Reference::parse(&format!("{}/{name}", reg.host())).unwrap()
}

/// Every entry (path, kind, mode, size, link) and every file's content of a squashed image.
type View = (Vec<String>, Vec<(String, Vec<u8>)>);

fn view(image: &Image) -> View {
    let (fs, files) = image.capture(|_: &str, _: &_| true).unwrap();
    let entries = fs
        .iter()
        .map(|(p, m)| {
            format!(
                "{p}:{:?}:{:o}:{}:{:?}",
                m.kind, m.mode, m.size, m.link_target
            )
        })
        .collect();
    let files = files.into_iter().map(|f| (f.path, f.content)).collect();
    (entries, files)
}

fn local_view(dir: &Path, platform: Option<&Platform>) -> View {
    view(&Image::open(&Source::OciLayout(dir.to_path_buf()), platform).unwrap())
}

/// Two layers: files, a directory, a symlink, a setuid file and a hardlink, then a whiteout.
fn sample_layers(comp: [Comp; 2]) -> Vec<layouts::Layer> {
    vec![
        layer(
            &[
                E::Dir("etc/"),
                E::File("etc/os-release", b"ID=rampart-registry-test\n"),
                E::File("etc/secret", b"gone later"),
                E::Symlink("etc/link", "os-release"),
                E::FileMode("usr/bin/tool", b"#!/bin/sh\necho tool\n", 0o4755),
                E::Hardlink("usr/bin/tool2", "usr/bin/tool"),
            ],
            comp[0],
        ),
        layer(
            &[
                E::File("etc/.wh.secret", b""),
                E::File("srv/app", b"app v1\n"),
            ],
            comp[1],
        ),
    ]
}

/// Builds an OCI layout and pushes it with skopeo; returns the layout directory.
fn push_layout_with_skopeo(
    reg: &Registry,
    name: &str,
    layers: &[layouts::Layer],
    extra: &[&str],
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    layouts::oci_layout(dir.path(), layers);
    let src = format!("oci:{}", dir.path().display());
    let dst = format!("docker://{}/{name}", reg.host());
    let mut args = vec!["copy", "--quiet", "--dest-tls-verify=false"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[&src, &dst]);
    skopeo(&args);
    dir
}

fn image_error(e: RegistryError) -> ImageError {
    match e {
        RegistryError::Image { source, .. } => source,
        other => panic!("expected an image error, found {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// anonymous pull over plain HTTP

#[test]
fn anonymous_pull_over_http_equals_the_local_layout() {
    let reg = Registry::start(Auth::None);
    let dir = push_layout_with_skopeo(
        &reg,
        "test/app:v1",
        &sample_layers([Comp::Gzip, Comp::Gzip]),
        &[],
    );
    let r = reference(&reg, "test/app:v1");
    let image = open_image(&r, None, &insecure(), &Limits::default()).unwrap();
    let local = Image::open(&Source::OciLayout(dir.path().to_path_buf()), None).unwrap();
    // skopeo stores the manifest unchanged, so the digests agree too
    assert_eq!(image.manifest_digest(), local.manifest_digest());
    assert_eq!(image.config_digest(), local.config_digest());
    assert_eq!(image.config().unwrap().config.user, "app:app");
    let (entries, files) = view(&image);
    assert_eq!((entries.clone(), files.clone()), view(&local));
    assert!(
        entries
            .iter()
            .any(|e| e.starts_with("/usr/bin/tool:File:4755"))
    );
    assert!(!entries.iter().any(|e| e.starts_with("/etc/secret")));
    assert!(files.contains(&("/srv/app".to_owned(), b"app v1\n".to_vec())));

    let client = Arc::new(Client::new(&insecure()).unwrap());
    let desc = client.resolve(&r).unwrap();
    assert_eq!(
        Some(desc.digest.as_str()),
        local.manifest_digest().map(ToString::to_string).as_deref()
    );
    assert_eq!(
        desc.media_type.as_deref(),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    // by digest, the same image
    let by_digest = reference(&reg, &format!("test/app@{}", desc.digest));
    let again = client
        .open_image(&by_digest, None, &Limits::default())
        .unwrap();
    assert_eq!(again.manifest_digest(), image.manifest_digest());
    assert_eq!(client.list_tags(r.repository()).unwrap(), ["v1"]);
    let layer0 = image.layers()[0].digest.clone().unwrap();
    assert!(client.blob_exists(r.repository(), &layer0).unwrap());
    assert!(
        !client
            .blob_exists(r.repository(), &Digest::sha256_of(b"absent"))
            .unwrap()
    );
    let config = client
        .fetch_blob(r.repository(), image.config_digest().unwrap(), 1 << 20)
        .unwrap();
    assert_eq!(&Digest::sha256_of(&config), image.config_digest().unwrap());
    // a registry has no paths
    let store = RegistryStore::new(Arc::clone(&client), r.repository().clone(), None);
    assert!(matches!(
        store.open_path("index.json"),
        Err(ImageError::BlobNotFound { .. })
    ));
    assert!(!store.has_path("index.json"));
}

// ---------------------------------------------------------------------------------------------
// multi-platform

#[test]
fn multi_platform_index_is_resolved_for_the_requested_platform() {
    let reg = Registry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    layouts::multi_platform_layout(
        dir.path(),
        &[
            ("linux", "amd64", None),
            ("linux", "arm64", Some("v8")),
            ("linux", "arm", Some("v7")),
        ],
    );
    skopeo(&[
        "copy",
        "--quiet",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}", dir.path().display()),
        &format!("docker://{}/multi:1", reg.host()),
    ]);
    let r = reference(&reg, "multi:1");
    let client = Arc::new(Client::new(&insecure()).unwrap());
    assert_eq!(
        client.resolve(&r).unwrap().media_type.as_deref(),
        Some("application/vnd.oci.image.index.v1+json")
    );
    for (want, content) in [
        ("linux/arm64", "linux/arm64/v8"),
        ("linux/arm/v7", "linux/arm/v7"),
        ("linux/amd64", "linux/amd64"),
    ] {
        let platform: Platform = want.parse().unwrap();
        let image = client
            .open_image(&r, Some(&platform), &Limits::default())
            .unwrap();
        let (_, files) = view(&image);
        assert_eq!(
            files,
            [("/platform".to_owned(), content.as_bytes().to_vec())],
            "{want}"
        );
        assert_eq!(
            view(&image),
            local_view(dir.path(), Some(&platform)),
            "{want}"
        );
    }
    let err = image_error(client.open_image(&r, None, &Limits::default()).unwrap_err());
    assert!(
        matches!(&err, ImageError::PlatformAmbiguous { available } if available == "linux/amd64, linux/arm/v7, linux/arm64/v8"),
        "{err}"
    );
    let s390x: Platform = "linux/s390x".parse().unwrap();
    let err = client
        .open_image(&r, Some(&s390x), &Limits::default())
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("platform linux/s390x not in the image")
            && text.contains("linux/arm64/v8")
            && text.contains(&r.to_string()),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// compression

#[test]
fn gzip_zstd_and_plain_layers_pull_like_the_layout() {
    let reg = Registry::start(Auth::None);
    let mut layers = sample_layers([Comp::Zstd, Comp::Gzip]);
    layers.push(layer(
        &[E::File("plain/file", b"uncompressed\n")],
        Comp::None,
    ));
    let dir = push_layout_with_skopeo(&reg, "comp:mixed", &layers, &[]);
    let image = open_image(
        &reference(&reg, "comp:mixed"),
        None,
        &insecure(),
        &Limits::default(),
    )
    .unwrap();
    let media: Vec<&str> = image
        .layers()
        .iter()
        .map(|l| l.media_type.as_deref().unwrap())
        .collect();
    assert_eq!(media[0], "application/vnd.oci.image.layer.v1.tar+zstd");
    assert_eq!(media[1], "application/vnd.oci.image.layer.v1.tar+gzip");
    assert_eq!(view(&image), local_view(dir.path(), None));

    // skopeo compresses uncompressed layers with zstd itself
    let dir = push_layout_with_skopeo(
        &reg,
        "comp:zstd",
        &sample_layers([Comp::None, Comp::None]),
        &["--dest-compress-format", "zstd"],
    );
    let image = open_image(
        &reference(&reg, "comp:zstd"),
        None,
        &insecure(),
        &Limits::default(),
    )
    .unwrap();
    assert!(
        image
            .layers()
            .iter()
            .all(|l| l.media_type.as_deref() == Some("application/vnd.oci.image.layer.v1.tar+zstd")),
        "{:?}",
        image.layers()
    );
    assert_eq!(view(&image), local_view(dir.path(), None));
}

// ---------------------------------------------------------------------------------------------
// TLS

#[test]
fn tls_is_verified_against_the_added_ca_and_an_unknown_ca_is_refused() {
    let pki = support::test_pki("registry");
    let reg = Registry::start_with(
        Auth::None,
        Some((pki.server_pem.clone(), pki.server_key_pem.clone())),
    );
    let certs = tempfile::tempdir().unwrap();
    std::fs::write(certs.path().join("ca.crt"), &pki.ca_pem).unwrap();
    // skopeo verifies the server with the same CA
    let dir = tempfile::tempdir().unwrap();
    layouts::oci_layout(dir.path(), &sample_layers([Comp::Gzip, Comp::Zstd]));
    skopeo(&[
        "copy",
        "--quiet",
        "--dest-cert-dir",
        &certs.path().display().to_string(),
        &format!("oci:{}", dir.path().display()),
        &format!("docker://{}/tls/app:1", reg.host()),
    ]);
    let r = reference(&reg, "tls/app:1");
    let trusting = ClientOptions {
        ca_file: Some(certs.path().join("ca.crt")),
        use_docker_config: false,
        ..ClientOptions::default()
    };
    let image = open_image(&r, None, &trusting, &Limits::default()).unwrap();
    assert_eq!(view(&image), local_view(dir.path(), None));

    // the system roots alone do not know this CA
    let plain = ClientOptions {
        use_docker_config: false,
        ..ClientOptions::default()
    };
    let err = open_image(&r, None, &plain, &Limits::default()).unwrap_err();
    assert!(
        matches!(&err, RegistryError::Transport { problem, .. } if problem.contains("UnknownIssuer")),
        "{err}"
    );
    // a CA that did not sign the server is refused as well
    let other = support::test_pki("other");
    let other_ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(other_ca.path(), &other.ca_pem).unwrap();
    let err = open_image(
        &r,
        None,
        &ClientOptions {
            ca_file: Some(other_ca.path().to_path_buf()),
            ..plain.clone()
        },
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, RegistryError::Transport { .. }), "{err}");
    // plain HTTP to a TLS port is no answer a client could take for a registry
    let err = open_image(&r, None, &insecure(), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::Status { status: 400, .. } | RegistryError::Transport { .. }
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// basic auth (htpasswd)

#[test]
fn basic_auth_from_options_config_json_and_credential_helpers() {
    let reg = Registry::start(Auth::Htpasswd(vec![
        ("alice", "wonder-land"),
        ("bob", "b0b"),
    ]));
    push_layout_with_skopeo(
        &reg,
        "private/app:1",
        &sample_layers([Comp::Gzip, Comp::Gzip]),
        &["--dest-creds", "alice:wonder-land"],
    );
    let r = reference(&reg, "private/app:1");
    let with = |o: ClientOptions| open_image(&r, None, &o, &Limits::default());

    // explicit credentials
    let ok = ClientOptions {
        username: Some("bob".into()),
        password: Some(Secret::new("b0b")),
        ..insecure()
    };
    with(ok.clone()).unwrap();
    // wrong password, no credentials
    let err = with(ClientOptions {
        password: Some(Secret::new("not-b0b")),
        ..ok.clone()
    })
    .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.status(), Some(401), "{text}");
    assert!(
        text.contains("access denied")
            && text.contains("user \"bob\" were refused")
            && text.contains("UNAUTHORIZED")
            && text.contains("private/app"),
        "{text}"
    );
    assert!(!text.contains("not-b0b"), "{text}");
    let err = with(insecure()).unwrap_err();
    assert!(
        err.to_string().contains("no credentials were found"),
        "{err}"
    );

    // config.json: the auth field, then the username/password form
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.json");
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let from_config = ClientOptions {
        use_docker_config: true,
        docker_config: Some(config.clone()),
        ..insecure()
    };
    std::fs::write(
        &config,
        serde_json::json!({"auths": {reg.host(): {"auth": b64("alice:wonder-land")}}}).to_string(),
    )
    .unwrap();
    with(from_config.clone()).unwrap();
    std::fs::write(
        &config,
        serde_json::json!({"auths": {format!("http://{}", reg.host()): {"username": "bob", "password": "b0b"}}})
            .to_string(),
    )
    .unwrap();
    with(from_config.clone()).unwrap();
    std::fs::write(
        &config,
        serde_json::json!({"auths": {reg.host(): {"auth": b64("alice:wrong")}}}).to_string(),
    )
    .unwrap();
    assert!(
        with(from_config.clone())
            .unwrap_err()
            .to_string()
            .contains("user \"alice\" were refused")
    );

    // a credential helper found on the PATH given for this client, by credHelpers and by
    // credsStore; it records what it was asked
    let bin = tempfile::tempdir().unwrap();
    let asked = bin.path().join("asked");
    let helper = bin.path().join("docker-credential-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\ncat > {asked}\nif [ \"$(cat {asked})\" = {host} ]; then\n  echo '{{\"ServerURL\":\"{host}\",\"Username\":\"alice\",\"Secret\":\"wonder-land\"}}'\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
            asked = asked.display(),
            host = reg.host()
        ),
    )
    .unwrap();
    let slow = bin.path().join("docker-credential-slow");
    std::fs::write(&slow, "#!/bin/sh\nexec sleep 60\n").unwrap();
    for f in [&helper, &slow] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let with_helpers = ClientOptions {
        credential_helper_path: Some(path.into()),
        credential_helper_timeout: std::time::Duration::from_secs(2),
        ..from_config
    };
    for cfg in [
        serde_json::json!({"credHelpers": {reg.host(): "test"}}),
        serde_json::json!({"credsStore": "test", "auths": {reg.host(): {}}}),
    ] {
        std::fs::write(&config, cfg.to_string()).unwrap();
        std::fs::remove_file(&asked).ok();
        with(with_helpers.clone()).unwrap();
        assert_eq!(std::fs::read_to_string(&asked).unwrap(), reg.host());
    }
    // a helper without credentials for this host means anonymous: refused by this registry
    std::fs::write(
        &config,
        serde_json::json!({"credHelpers": {reg.host(): "test"}}).to_string(),
    )
    .unwrap();
    let other_host = Reference::parse(&format!("localhost:{}/private/app:1", reg.port)).unwrap();
    let err = open_image(&other_host, None, &with_helpers, &Limits::default()).unwrap_err();
    assert!(
        err.to_string().contains("no credentials were found"),
        "{err}"
    );
    // a helper that hangs is stopped
    std::fs::write(
        &config,
        serde_json::json!({"credHelpers": {reg.host(): "slow"}}).to_string(),
    )
    .unwrap();
    let err = with(with_helpers.clone()).unwrap_err();
    assert!(
        matches!(&err, RegistryError::Credentials { problem } if problem.contains("docker-credential-slow") && problem.contains("no answer")),
        "{err}"
    );
    // a missing helper is an error that names it
    std::fs::write(
        &config,
        serde_json::json!({"credHelpers": {reg.host(): "absent"}}).to_string(),
    )
    .unwrap();
    let err = with(with_helpers).unwrap_err();
    assert!(
        err.to_string().contains("docker-credential-absent"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// bearer tokens

/// A token from the token server, as Harbor hands a scanner one: the registry takes it as it
/// is, for the repository it was issued for and no other, and nothing else is sent.
#[test]
fn a_pre_issued_bearer_token_pulls_its_repository_and_nothing_else() {
    let tokens = TokenServer::start(&[("alice", "tok-pass")], &[]);
    let reg = Registry::start(tokens.registry_auth());
    let dir = push_layout_with_skopeo(
        &reg,
        "harbor/app:1",
        &sample_layers([Comp::Gzip, Comp::Gzip]),
        &["--dest-creds", "alice:tok-pass"],
    );
    push_layout_with_skopeo(
        &reg,
        "other/app:1",
        &sample_layers([Comp::Gzip, Comp::Gzip]),
        &["--dest-creds", "alice:tok-pass"],
    );
    let issued = |scope: &str| -> String {
        let basic = base64::engine::general_purpose::STANDARD.encode("alice:tok-pass");
        let mut resp = ureq::get(&tokens.realm())
            .query("service", support::SERVICE)
            .query("scope", scope)
            .header("Authorization", &format!("Basic {basic}"))
            .call()
            .unwrap();
        let body: serde_json::Value = serde_json::from_reader(resp.body_mut().as_reader()).unwrap();
        body["token"].as_str().unwrap().to_owned()
    };
    let token = issued("repository:harbor/app:pull");
    let authorization = rampart_registry::Authorization::parse(&format!("Bearer {token}")).unwrap();
    let options = insecure().with_authorization(Some(&authorization));
    let asked_before = tokens.requests.load(std::sync::atomic::Ordering::SeqCst);
    let image = open_image(
        &reference(&reg, "harbor/app:1"),
        None,
        &options,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(view(&image), local_view(dir.path(), None));
    // the token was used as it is: the token server was never asked for another
    assert_eq!(
        tokens.requests.load(std::sync::atomic::Ordering::SeqCst),
        asked_before
    );
    // another repository: refused, and said so without the token
    let err = open_image(
        &reference(&reg, "other/app:1"),
        None,
        &options,
        &Limits::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.status(), Some(401), "{text}");
    assert!(text.contains("bearer token given was refused"), "{text}");
    assert!(!text.contains(&token), "{text}");
    // a bearer token and a user name at once is an option error
    let both = ClientOptions {
        username: Some("alice".into()),
        password: Some(Secret::new("tok-pass")),
        ..options
    };
    assert!(
        Client::new(&both)
            .unwrap_err()
            .to_string()
            .contains("one credential only")
    );
}

#[test]
fn bearer_token_flow_pulls_and_pushes() {
    let tokens = TokenServer::start(&[("alice", "tok-pass")], &[("refresh-1", "alice")]);
    let reg = Registry::start(tokens.registry_auth());
    let dir = push_layout_with_skopeo(
        &reg,
        "tok/app:1",
        &sample_layers([Comp::Gzip, Comp::Zstd]),
        &["--dest-creds", "alice:tok-pass"],
    );
    let r = reference(&reg, "tok/app:1");
    let alice = ClientOptions {
        username: Some("alice".into()),
        password: Some(Secret::new("tok-pass")),
        ..insecure()
    };
    let client = Arc::new(Client::new(&alice).unwrap());
    let image = client.open_image(&r, None, &Limits::default()).unwrap();
    assert_eq!(view(&image), local_view(dir.path(), None));
    // one token for the pull scope, reused for every blob and for a second pull
    let before = tokens.requests.load(std::sync::atomic::Ordering::SeqCst);
    let again = client.open_image(&r, None, &Limits::default()).unwrap();
    view(&again);
    assert_eq!(
        tokens.requests.load(std::sync::atomic::Ordering::SeqCst),
        before
    );
    assert!(
        tokens
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l == "GET user=alice scope=repository:tok/app:pull"),
        "{:?}",
        tokens.log.lock().unwrap()
    );

    // push: a new layer and a manifest under a new tag, read back by skopeo and by a pull
    let extra = layer(&[E::File("pushed/by", b"rampart\n")], Comp::Gzip);
    let mut layers = sample_layers([Comp::Gzip, Comp::Zstd]);
    layers.push(extra);
    let src = tempfile::tempdir().unwrap();
    let manifest_digest = layouts::oci_layout(src.path(), &layers);
    let pushed = reference(&reg, "tok/app:pushed");
    push_layout_with_client(&client, src.path(), &pushed, &manifest_digest);
    assert!(
        tokens
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l == "GET user=alice scope=repository:tok/app:pull,push"),
        "{:?}",
        tokens.log.lock().unwrap()
    );
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        "alice:tok-pass",
        &format!("docker://{pushed}"),
    ]);
    assert_eq!(
        Digest::sha256_of(raw.as_bytes()).to_string(),
        manifest_digest
    );
    let copy = tempfile::tempdir().unwrap();
    skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        "--src-creds",
        "alice:tok-pass",
        &format!("docker://{pushed}"),
        &format!("oci:{}", copy.path().display()),
    ]);
    assert_eq!(local_view(copy.path(), None), local_view(src.path(), None));
    let image = client
        .open_image(&pushed, None, &Limits::default())
        .unwrap();
    assert_eq!(view(&image), local_view(src.path(), None));
    let mut tags = client.list_tags(r.repository()).unwrap();
    tags.sort();
    assert_eq!(tags, ["1", "pushed"]);

    // an identity token from config.json is exchanged at the token server (POST)
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.json");
    std::fs::write(
        &config,
        serde_json::json!({"auths": {reg.host(): {"identitytoken": "refresh-1"}}}).to_string(),
    )
    .unwrap();
    open_image(
        &r,
        None,
        &ClientOptions {
            use_docker_config: true,
            docker_config: Some(config),
            ..insecure()
        },
        &Limits::default(),
    )
    .unwrap();
    assert!(
        tokens
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l == "POST user=alice scope=repository:tok/app:pull"),
        "{:?}",
        tokens.log.lock().unwrap()
    );

    // wrong password: the token server refuses; anonymous: the token grants nothing
    let err = open_image(
        &r,
        None,
        &ClientOptions {
            password: Some(Secret::new("nope")),
            ..alice
        },
        &Limits::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, RegistryError::Unauthorized { status: 401, .. })
            && text.contains("token server 127.0.0.1")
            && text.contains("\"alice\" were refused"),
        "{text}"
    );
    let err = open_image(&r, None, &insecure(), &Limits::default()).unwrap_err();
    assert!(
        matches!(&err, RegistryError::Unauthorized { status: 401, codes, .. } if codes.contains("UNAUTHORIZED"))
            && err.to_string().contains("no credentials were found"),
        "{err}"
    );
}

/// Pushes every blob of an OCI layout and its manifest with the client.
fn push_layout_with_client(client: &Client, dir: &Path, to: &Reference, manifest_digest: &str) {
    let store = rampart_image::DirStore::new(dir);
    let manifest_digest = Digest::parse(manifest_digest).unwrap();
    let mut manifest = Vec::new();
    store
        .open_blob(&manifest_digest)
        .unwrap()
        .read_to_end(&mut manifest)
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let mut blobs = vec![doc["config"].clone()];
    blobs.extend(doc["layers"].as_array().unwrap().iter().cloned());
    for b in &blobs {
        let digest = Digest::parse(b["digest"].as_str().unwrap()).unwrap();
        let size = b["size"].as_u64().unwrap();
        let existed = client.blob_exists(to.repository(), &digest).unwrap();
        let mut reader = store.open_blob(&digest).unwrap();
        assert_eq!(
            client
                .push_blob(to.repository(), &digest, size, &mut reader)
                .unwrap(),
            if existed {
                BlobPush::Existed
            } else {
                BlobPush::Uploaded
            }
        );
        assert!(client.blob_exists(to.repository(), &digest).unwrap());
        // a second push finds it there
        let mut reader = store.open_blob(&digest).unwrap();
        assert_eq!(
            client
                .push_blob(to.repository(), &digest, size, &mut reader)
                .unwrap(),
            BlobPush::Existed
        );
    }
    let pushed = client
        .push_manifest(to, doc["mediaType"].as_str().unwrap(), &manifest)
        .unwrap();
    assert_eq!(pushed, manifest_digest);
}

#[test]
fn own_push_over_plain_http_is_read_back_by_skopeo() {
    let reg = Registry::start(Auth::None);
    let client = Client::new(&insecure()).unwrap();
    let src = tempfile::tempdir().unwrap();
    let digest = layouts::oci_layout(src.path(), &sample_layers([Comp::Zstd, Comp::Gzip]));
    let to = reference(&reg, "mine/app:1");
    push_layout_with_client(&client, src.path(), &to, &digest);
    let copy = tempfile::tempdir().unwrap();
    skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{to}"),
        &format!("oci:{}", copy.path().display()),
    ]);
    assert_eq!(local_view(copy.path(), None), local_view(src.path(), None));
    let inspect: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{to}"),
    ]))
    .unwrap();
    assert_eq!(inspect["Digest"], digest);
    // push by digest, and a digest the bytes do not hash to is refused before sending
    let by_digest = reference(&reg, &format!("mine/app@{digest}"));
    let manifest = std::fs::read(
        src.path()
            .join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap()),
    )
    .unwrap();
    let media = "application/vnd.oci.image.manifest.v1+json";
    assert_eq!(
        client
            .push_manifest(&by_digest, media, &manifest)
            .unwrap()
            .to_string(),
        digest
    );
    let err = client
        .push_manifest(&by_digest, media, b"{\"schemaVersion\":2}")
        .unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
    // a blob whose bytes do not match its digest: the registry says so
    let wrong = Digest::sha256_of(b"something else");
    let err = client
        .push_blob(to.repository(), &wrong, 5, &mut &b"hello"[..])
        .unwrap_err();
    assert!(
        matches!(&err, RegistryError::Status { status: 400, codes, .. } if codes.contains("DIGEST_INVALID")),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// corruption and absence

#[test]
fn a_corrupted_blob_fails_with_a_digest_mismatch_naming_it() {
    let reg = Registry::start(Auth::None);
    push_layout_with_skopeo(
        &reg,
        "bad/app:1",
        &sample_layers([Comp::Gzip, Comp::Gzip]),
        &[],
    );
    let r = reference(&reg, "bad/app:1");
    let client = Arc::new(Client::new(&insecure()).unwrap());
    let image = client.open_image(&r, None, &Limits::default()).unwrap();
    let victim = image.layers()[1].digest.clone().unwrap();
    let file = reg.blob_file(&victim.to_string());
    let mut bytes = std::fs::read(&file).unwrap();
    for b in bytes.iter_mut().skip(20) {
        *b ^= 0x55;
    }
    std::fs::write(&file, &bytes).unwrap();

    let err = image.filesystem().unwrap_err();
    assert!(
        matches!(&err, ImageError::DigestMismatch { blob, expected, .. } if blob == &victim.to_string() && expected == &victim.to_string()),
        "{err}"
    );
    let err = client
        .fetch_blob(r.repository(), &victim, 1 << 20)
        .unwrap_err();
    assert!(
        matches!(&err, RegistryError::DigestMismatch { expected, .. } if expected == &victim.to_string()),
        "{err}"
    );
}

#[test]
fn unknown_tags_repositories_and_blobs_carry_the_registry_error_code() {
    let reg = Registry::start(Auth::None);
    push_layout_with_skopeo(
        &reg,
        "here/app:1",
        &sample_layers([Comp::Gzip, Comp::Gzip]),
        &[],
    );
    let client = Arc::new(Client::new(&insecure()).unwrap());
    let err = client
        .open_image(&reference(&reg, "here/app:2"), None, &Limits::default())
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.status(), Some(404));
    assert!(
        text.contains("get manifest 2 in here/app")
            && text.contains("MANIFEST_UNKNOWN")
            && text.contains(&reg.host()),
        "{text}"
    );
    let err = client
        .resolve(&reference(&reg, "nowhere/app:1"))
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.codes().is_some_and(|c| c.contains("UNKNOWN")), "{err}");
    let repo = reference(&reg, "here/app:1");
    let err = client
        .open_blob(repo.repository(), &Digest::sha256_of(b"no such blob"))
        .err()
        .unwrap();
    assert!(
        err.codes().is_some_and(|c| c.contains("BLOB_UNKNOWN")),
        "{err}"
    );
    let err = client
        .list_tags(reference(&reg, "nowhere/app:1").repository())
        .unwrap_err();
    assert!(
        err.codes().is_some_and(|c| c.contains("NAME_UNKNOWN")),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// hostile answers (a fake server: a real registry never sends these)

fn fake(
    handler: impl Fn(&str, &str) -> tiny_http::ResponseBox + Send + Sync + 'static,
) -> FakeServer {
    FakeServer::start("127.0.0.1", Arc::new(handler))
}

/// An endless stream of bytes.
struct Endless;
impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        buf.fill(b' ');
        Ok(buf.len())
    }
}

fn fake_ref(server: &FakeServer, rest: &str) -> Reference {
    Reference::parse(&format!("{}/{rest}", server.addr)).unwrap()
}

#[test]
fn hostile_bodies_are_bounded() {
    let server = fake(|_, url| {
        if url.contains("endless") {
            tiny_http::Response::new(
                200.into(),
                vec![header(
                    "Content-Type",
                    "application/vnd.oci.image.manifest.v1+json",
                )],
                Endless,
                None,
                None,
            )
            .boxed()
        } else if url.contains("declared") {
            // a declared length tiny_http must not turn into chunked encoding
            tiny_http::Response::new(200.into(), vec![], std::io::empty(), Some(1 << 40), None)
                .with_chunked_threshold(usize::MAX)
                .boxed()
        } else if url.contains("lying") {
            let body =
                br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
            tiny_http::Response::from_data(body.to_vec())
                .with_header(header(
                    "Docker-Content-Digest",
                    &Digest::sha256_of(b"other").to_string(),
                ))
                .boxed()
        } else {
            tiny_http::Response::from_string(r#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#)
                .boxed()
        }
    });
    let client = Client::new(&ClientOptions {
        max_manifest_bytes: 64 * 1024,
        ..insecure()
    })
    .unwrap();
    for (name, limit) in [("endless", 64 * 1024), ("declared", 64 * 1024)] {
        let err = client
            .fetch_manifest(&fake_ref(&server, &format!("{name}:1")))
            .unwrap_err();
        assert!(
            matches!(err, RegistryError::TooLarge { limit: l, .. } if l == limit),
            "{name}: {err}"
        );
    }
    let err = client
        .fetch_manifest(&fake_ref(&server, "lying:1"))
        .unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
    let pinned = fake_ref(&server, &format!("lying@{}", Digest::sha256_of(b"pinned")));
    assert!(matches!(
        client.fetch_manifest(&pinned).unwrap_err(),
        RegistryError::DigestMismatch { .. }
    ));
    let err = client
        .fetch_manifest(&fake_ref(&server, "v1:1"))
        .unwrap_err();
    assert!(err.to_string().contains("schema 1"), "{err}");
}

#[test]
fn hostile_challenges_and_redirects_are_bounded() {
    let server = fake(|_, url| {
        if url.contains("bigheader") {
            let realm = "r".repeat(32 * 1024);
            tiny_http::Response::empty(401)
                .with_header(header(
                    "WWW-Authenticate",
                    &format!("Bearer realm=\"{realm}\""),
                ))
                .boxed()
        } else if url.contains("hugeheader") {
            tiny_http::Response::empty(401)
                .with_header(header("WWW-Authenticate", &"x".repeat(1 << 20)))
                .boxed()
        } else if url.contains("badchallenge") {
            tiny_http::Response::empty(401)
                .with_header(header("WWW-Authenticate", "Bearer realm=\"open"))
                .boxed()
        } else if url.contains("httprealm") {
            tiny_http::Response::empty(401)
                .with_header(header(
                    "WWW-Authenticate",
                    "Bearer realm=\"ftp://127.0.0.1/token\",service=\"x\"",
                ))
                .boxed()
        } else {
            // every blob redirects to itself
            tiny_http::Response::empty(302)
                .with_header(header("Location", url))
                .boxed()
        }
    });
    let client = Client::new(&insecure()).unwrap();
    let err = client
        .fetch_manifest(&fake_ref(&server, "bigheader:1"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::Challenge {
                source: rampart_registry::ChallengeError::TooLong(_),
                ..
            }
        ),
        "{err}"
    );
    let err = client
        .fetch_manifest(&fake_ref(&server, "hugeheader:1"))
        .unwrap_err();
    assert!(
        matches!(&err, RegistryError::Transport { problem, .. } if problem.contains("header")),
        "{err}"
    );
    let err = client
        .fetch_manifest(&fake_ref(&server, "badchallenge:1"))
        .unwrap_err();
    assert!(err.to_string().contains("closing quote"), "{err}");
    let err = client
        .fetch_manifest(&fake_ref(&server, "httprealm:1"))
        .unwrap_err();
    assert!(err.to_string().contains("not an https URL"), "{err}");
    // a fresh client: the last one learned a token realm for this host
    let client = Client::new(&insecure()).unwrap();
    let repo = fake_ref(&server, "loop:1");
    let err = client
        .open_blob(repo.repository(), &Digest::sha256_of(b"x"))
        .err()
        .unwrap();
    assert!(
        matches!(&err, RegistryError::Transport { problem, .. } if problem.contains("more than 5 redirects")),
        "{err}"
    );
}

#[test]
fn authorization_is_not_forwarded_to_another_host_on_redirect() {
    let blob = b"layer bytes".to_vec();
    let digest = Digest::sha256_of(&blob);
    let storage = {
        let blob = blob.clone();
        FakeServer::start(
            "127.0.0.2",
            Arc::new(move |_: &str, _: &str| tiny_http::Response::from_data(blob.clone()).boxed()),
        )
    };
    let storage_url = format!("http://{}/object", storage.addr);
    let registry = fake(move |_, url| {
        // a registry asking for Basic, redirecting blob reads to object storage
        if url.contains("/blobs/") {
            tiny_http::Response::empty(307)
                .with_header(header("Location", &storage_url))
                .boxed()
        } else {
            tiny_http::Response::empty(404).boxed()
        }
    });
    let client = Client::new(&ClientOptions {
        username: Some("u".into()),
        password: Some(Secret::new("p")),
        ..insecure()
    })
    .unwrap();
    let repo = fake_ref(&registry, "app:1");
    let mut got = Vec::new();
    client
        .open_blob(repo.repository(), &digest)
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, blob);
    let seen = storage.seen.lock().unwrap().clone();
    assert_eq!(seen, [("/object".to_owned(), None)]);
    // the same with a credential actually sent to the registry: Basic after a challenge
    let challenged = {
        let storage_url = format!("http://{}/object3", storage.addr);
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        fake(move |_, _| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                tiny_http::Response::empty(401)
                    .with_header(header("WWW-Authenticate", "Basic realm=\"fake\""))
                    .boxed()
            } else {
                tiny_http::Response::empty(307)
                    .with_header(header("Location", &storage_url))
                    .boxed()
            }
        })
    };
    let repo = fake_ref(&challenged, "app:1");
    let mut got = Vec::new();
    client
        .open_blob(repo.repository(), &digest)
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, blob);
    let reg_seen = challenged.seen.lock().unwrap().clone();
    assert_eq!(reg_seen.len(), 2);
    assert_eq!(reg_seen[0].1, None);
    assert_eq!(
        reg_seen[1].1.as_deref(),
        Some(
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("u:p")
            )
            .as_str()
        )
    );
    let seen = storage.seen.lock().unwrap().clone();
    assert_eq!(seen.last(), Some(&("/object3".to_owned(), None)));
}

#[test]
fn a_manifest_resolved_by_tag_is_not_fetched_again_by_its_digest_in_the_same_repository() {
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    let server = fake(move |_, _| {
        tiny_http::Response::from_data(body.to_vec())
            .with_header(header(
                "Content-Type",
                "application/vnd.oci.image.manifest.v1+json",
            ))
            .boxed()
    });
    let manifests = || {
        server
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(u, _)| u.contains("/manifests/"))
            .count()
    };
    let client = Client::new(&insecure()).unwrap();
    let digest = client
        .resolve(&fake_ref(&server, "team/app:v1"))
        .unwrap()
        .digest;
    assert_eq!(digest, Digest::sha256_of(body).to_string());
    assert_eq!(manifests(), 1);
    let pinned = client
        .fetch_manifest(&fake_ref(&server, &format!("team/app@{digest}")))
        .unwrap();
    assert_eq!(pinned.bytes, body);
    assert_eq!(manifests(), 1, "answered from what the resolve fetched");
    // a tag is asked again (it may move); another repository and another client ask again
    client.resolve(&fake_ref(&server, "team/app:v1")).unwrap();
    assert_eq!(manifests(), 2);
    client
        .fetch_manifest(&fake_ref(&server, &format!("team/other@{digest}")))
        .unwrap();
    assert_eq!(manifests(), 3);
    Client::new(&insecure())
        .unwrap()
        .fetch_manifest(&fake_ref(&server, &format!("team/app@{digest}")))
        .unwrap();
    assert_eq!(manifests(), 4);
}
