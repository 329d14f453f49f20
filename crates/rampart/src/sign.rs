//! `rampart key`: cosign-compatible key files.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rampart_sign::keys::{KeyPair, PrivateKey, password_from_env};

use crate::cli::{KeyArgs, KeyCommand};

/// The password: `COSIGN_PASSWORD` / `RAMPART_PASSWORD`, else a prompt on the terminal
/// (twice when `confirm`), else an error (no terminal to ask on).
fn password(confirm: bool) -> Result<Vec<u8>> {
    if let Some(p) = password_from_env() {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no password: set COSIGN_PASSWORD or RAMPART_PASSWORD (no terminal to ask on)");
    }
    let first = rpassword::prompt_password("Password for the private key: ")?;
    if confirm {
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            bail!("the passwords differ");
        }
    }
    Ok(first.into_bytes())
}

fn with_extension(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Writes `text` to a new file (never over an existing one unless `force`), private key files
/// readable by the owner only.
fn write_new(path: &Path, text: &str, force: bool, private: bool) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    if private {
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| {
        if path.exists() && !force {
            format!("{} exists (--force overwrites it)", path.display())
        } else {
            format!("cannot write {}", path.display())
        }
    })?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// `rampart key ...`.
pub fn key(args: &KeyArgs) -> Result<u8> {
    match &args.command {
        KeyCommand::Generate {
            output_prefix,
            force,
        } => {
            let (key_file, pub_file) = (
                with_extension(output_prefix, "key"),
                with_extension(output_prefix, "pub"),
            );
            if !force {
                for f in [&key_file, &pub_file] {
                    if f.exists() {
                        bail!("{} exists (--force overwrites it)", f.display());
                    }
                }
            }
            let password = password(true)?;
            let pair = KeyPair::generate()?;
            write_new(
                &key_file,
                &pair.private_key.to_encrypted_pem(&password)?,
                *force,
                true,
            )?;
            write_new(&pub_file, &pair.public_key.to_pem()?, *force, false)?;
            eprintln!("rampart: private key written to {}", key_file.display());
            eprintln!("rampart: public key written to {}", pub_file.display());
            Ok(0)
        }
        KeyCommand::Public { key } => {
            let pem = std::fs::read_to_string(key)
                .with_context(|| format!("cannot read {}", key.display()))?;
            let pw = if PrivateKey::pem_is_encrypted(&pem) {
                password(false)?
            } else {
                Vec::new()
            };
            let private =
                PrivateKey::from_pem(&pem, &pw).with_context(|| key.display().to_string())?;
            crate::write_out(None, &private.public_key().to_pem()?)?;
            Ok(0)
        }
    }
}

/// Exit code of `verify` when no signature is found (distinct from invalid ones: 1).
pub const EXIT_NO_SIGNATURE: u8 = 3;

fn load_private(path: &Path) -> Result<PrivateKey> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let pw = if PrivateKey::pem_is_encrypted(&pem) {
        password(false)?
    } else {
        Vec::new()
    };
    PrivateKey::from_pem(&pem, &pw).with_context(|| path.display().to_string())
}

fn load_public(path: &Path) -> Result<rampart_sign::keys::PublicKey> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    rampart_sign::keys::PublicKey::from_pem(&pem).with_context(|| path.display().to_string())
}

fn client(args: &crate::cli::ImageArgs) -> Result<rampart_registry::Client> {
    Ok(rampart_registry::Client::new(
        &crate::registry::client_options(args)?,
    )?)
}

/// The registry image a signing command works on. A local file or directory is refused (signing
/// is on a registry's digest), and a target written as a path that names nothing is "no such
/// file", never a Docker Hub lookup.
fn reference(image: &str) -> Result<rampart_registry::Reference> {
    if std::path::Path::new(image).exists() {
        bail!(
            "{image} is a local file: signatures and attestations are attached to an image in a registry (push it, then name it by reference)"
        );
    }
    if rampart_scan::images::looks_like_path(image) {
        bail!("{image}: no such file or directory");
    }
    rampart_registry::Reference::parse(image)
        .with_context(|| format!("`{image}` is not an image reference"))
}

/// `rampart sign`.
pub fn sign(args: &crate::cli::SignArgs) -> Result<u8> {
    // The target first: no password is asked for an image that is not there.
    let image = reference(&args.image)?;
    let client = client(&args.registry)?;
    rampart_sign::oci::resolve(&client, &image).with_context(|| format!("resolving {image}"))?;
    let key = load_private(&args.key)?;
    let annotations = args.annotations.iter().cloned().collect();
    let signed = rampart_sign::cosign::sign(&client, &image, store()?.as_ref(), &key, &annotations)
        .with_context(|| format!("signing {image}"))?;
    if signed.already_there {
        eprintln!(
            "rampart: {image}@{} already carries this signature ({})",
            signed.digest, signed.tag
        );
    } else {
        eprintln!("rampart: signed {image}@{} ({})", signed.digest, signed.tag);
    }
    Ok(0)
}

/// `rampart verify`.
pub fn verify(args: &crate::cli::VerifyArgs) -> Result<u8> {
    use rampart_sign::cosign::CosignError;
    let image = reference(&args.image)?;
    let client = client(&args.registry)?;
    let store = store()?;
    let key = match (&args.key, &args.policy) {
        (Some(k), _) => k,
        (None, Some(p)) => return verify_policy(p, &client, &image, store.as_ref()),
        (None, None) => bail!("--key or --policy is required"),
    };
    let required: std::collections::BTreeMap<String, String> =
        args.annotations.iter().cloned().collect();
    let public = load_public(key)?;
    match rampart_sign::cosign::verify(&client, &image, store.as_ref(), &public, &required) {
        Ok((digest, verified)) => {
            let text = match args.format {
                crate::cli::ListFormat::Json => {
                    let list: Vec<serde_json::Value> = verified
                        .iter()
                        .map(|v| {
                            serde_json::json!({
                                "digest": digest.to_string(),
                                "key": key.display().to_string(),
                                "payload": serde_json::from_slice::<serde_json::Value>(&v.payload.to_bytes()).unwrap_or_default(),
                            })
                        })
                        .collect();
                    serde_json::to_string_pretty(&list)? + "\n"
                }
                crate::cli::ListFormat::Table => format!(
                    "{image}@{digest}: {} valid signature(s) by {}\n",
                    verified.len(),
                    key.display()
                ),
            };
            crate::write_out(None, &text)?;
            Ok(0)
        }
        Err(e) if rampart_sign::trust::is_transport(&e) => {
            Err(anyhow::Error::new(e).context(format!("verifying {image}")))
        }
        Err(e @ CosignError::NoSignature { .. }) => {
            eprintln!("rampart: {e}");
            Ok(EXIT_NO_SIGNATURE)
        }
        Err(e) => {
            eprintln!("rampart: verification failed: {e}");
            Ok(1)
        }
    }
}

/// `rampart verify --policy`.
fn verify_policy(
    path: &Path,
    client: &rampart_registry::Client,
    image: &rampart_registry::Reference,
    store: Option<&rampart_registry::Reference>,
) -> Result<u8> {
    use rampart_sign::trust::{TrustPolicy, Verdict};
    let policy = TrustPolicy::load(path)?;
    let verdict = policy
        .check(client, image, store)
        .with_context(|| format!("verifying {image}"))?;
    let rule = |i: usize| format!("{} rule #{}", path.display(), i + 1);
    match verdict {
        Verdict::Verified {
            digest,
            key,
            rule: i,
            attestations,
        } => {
            let with = if attestations.is_empty() {
                String::new()
            } else {
                format!(" and attestations {}", attestations.join(", "))
            };
            println!(
                "{image}@{digest}: verified by {}: signature by {}{with}",
                rule(i),
                key.display()
            );
            Ok(0)
        }
        Verdict::Exempt { rule: i } => {
            eprintln!("rampart: {image}: allowed unsigned by {}", rule(i));
            Ok(0)
        }
        Verdict::AllowedByDefault => {
            eprintln!(
                "rampart: {image}: no rule of {} matches; allowed by its default",
                path.display()
            );
            Ok(0)
        }
        Verdict::Refused { reason, none_found } => {
            eprintln!("rampart: {image}: {reason}");
            Ok(if none_found { EXIT_NO_SIGNATURE } else { 1 })
        }
    }
}

/// `$COSIGN_REPOSITORY`: where signatures and attestations are stored, if not beside the image.
fn store() -> Result<Option<rampart_registry::Reference>> {
    rampart_sign::cosign::store_from_env().with_context(|| {
        format!(
            "{} is not a repository",
            rampart_sign::cosign::REPOSITORY_ENV
        )
    })
}

/// `rampart attest`.
pub fn attest(args: &crate::cli::AttestArgs) -> Result<u8> {
    let kind = rampart_sign::dsse::PredicateKind::from_cosign_type(&args.predicate_type).with_context(|| {
        format!(
            "--type {}: expected custom, cyclonedx, spdx, spdxjson, slsaprovenance, slsaprovenance1, vuln, openvex or intent",
            args.predicate_type
        )
    })?;
    let image = reference(&args.image)?;
    let client = client(&args.registry)?;
    let digest = rampart_sign::oci::resolve(&client, &image)
        .with_context(|| format!("resolving {image}"))?;
    let predicate = if kind == rampart_sign::dsse::PredicateKind::Intent {
        // The intent document (validated), as JSON; it must be this image's.
        let intent = rampart_intent::Intent::load(&args.predicate)?;
        if intent.image.digest() != digest.to_string() {
            anyhow::bail!(
                "{}: the intent is for {}, not for {image}@{digest}",
                args.predicate.display(),
                intent.image
            );
        }
        serde_json::to_vec(&intent)?
    } else {
        std::fs::read(&args.predicate)
            .with_context(|| format!("cannot read {}", args.predicate.display()))?
    };
    let key = load_private(&args.key)?;
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let done = rampart_sign::cosign::attest(
        &client,
        &image,
        store()?.as_ref(),
        &key,
        kind,
        &predicate,
        &now,
    )
    .with_context(|| format!("attesting {image}"))?;
    if done.already_there {
        eprintln!(
            "rampart: {image}@{} already carries this attestation ({})",
            done.digest, done.tag
        );
    } else {
        eprintln!(
            "rampart: attested {image}@{} with a {} predicate ({})",
            done.digest,
            kind.uri(),
            done.tag
        );
    }
    Ok(0)
}

/// `rampart verify-attestation`.
pub fn verify_attestation(args: &crate::cli::VerifyAttestationArgs) -> Result<u8> {
    use rampart_sign::cosign::CosignError;
    let key = load_public(&args.key)?;
    let image = reference(&args.image)?;
    let client = client(&args.registry)?;
    match rampart_sign::cosign::verify_attestations(
        &client,
        &image,
        store()?.as_ref(),
        &key,
        args.predicate_type.as_deref(),
    ) {
        Ok((digest, verified)) => {
            for v in &verified {
                println!(
                    "{image}@{digest}: verified {} attestation",
                    v.statement.predicate_type
                );
            }
            // An intent attestation must be this image's intent: a valid document bound to the
            // digest it is attached to (one copied from another image is refused).
            for v in &verified {
                if v.statement.predicate_type == rampart_sign::dsse::INTENT_PREDICATE_TYPE {
                    let text = serde_json::to_string(&v.statement.predicate)?;
                    match rampart_intent::Intent::parse(&text, Path::new("predicate")) {
                        Ok(i) if i.image.digest() == digest.to_string() => {}
                        Ok(i) => {
                            eprintln!(
                                "rampart: verification failed: the intent attested on {image}@{digest} is for {}",
                                i.image
                            );
                            return Ok(1);
                        }
                        Err(e) => {
                            eprintln!(
                                "rampart: verification failed: the intent predicate is invalid: {e}"
                            );
                            return Ok(1);
                        }
                    }
                }
            }
            if let (Some(out), Some(first)) = (&args.output_predicate, verified.first()) {
                // An SPDX predicate as cosign embeds it is the document's text; others are JSON.
                let text = match &first.statement.predicate {
                    serde_json::Value::String(s) => s.clone(),
                    other => serde_json::to_string_pretty(other)? + "\n",
                };
                std::fs::write(out, text)
                    .with_context(|| format!("cannot write {}", out.display()))?;
            }
            Ok(0)
        }
        Err(e @ CosignError::NoAttestation { .. }) => {
            eprintln!("rampart: {e}");
            Ok(EXIT_NO_SIGNATURE)
        }
        Err(e @ (CosignError::Oci(_) | CosignError::Layout { .. })) => {
            Err(anyhow::Error::new(e).context(format!("verifying {image}")))
        }
        Err(e) => {
            eprintln!("rampart: verification failed: {e}");
            Ok(1)
        }
    }
}

/// The trust policy of a scan (`--policy`, else `policy` in rampart.toml relative to it) applied
/// to the registry images among `targets`: the signature and attestation controls of the
/// supply-chain layer. No policy: nothing checked. A policy that cannot be loaded is an error.
pub fn scan_trust(
    args: &crate::cli::ScanArgs,
    config: &rampart_scan::Config,
    base: &Path,
    targets: &[String],
) -> Result<rampart_scan::supply::TrustResults> {
    use rampart_scan::images::ImageTarget;
    let mut results = rampart_scan::supply::TrustResults::default();
    let path = match (&args.policy, &config.supply.policy) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => base.join(p),
        (None, None) => return Ok(results),
    };
    let registry_images: Vec<(&String, rampart_registry::Reference)> = targets
        .iter()
        .filter_map(
            |t| match ImageTarget::parse(t, &rampart_image::Limits::default()) {
                Ok(ImageTarget::Registry(r)) => {
                    rampart_registry::Reference::parse(&r).ok().map(|p| (t, p))
                }
                _ => None,
            },
        )
        .collect();
    if registry_images.is_empty() {
        return Ok(results);
    }
    let policy = rampart_sign::trust::TrustPolicy::load(&path)
        .with_context(|| format!("trust policy {}", path.display()))?;
    let client = client(&args.images)?;
    for (name, reference) in &registry_images {
        results.add(rampart_scan::supply::verify_image(
            &policy, &client, name, reference,
        ));
    }
    Ok(results)
}

/// The intents attested on the images `--intent-from` names, verified with the scan's trust
/// policy and bound to each image's digest, added to `set` under the name given; each image
/// whose intent cannot be had is an input error (the scan is then incomplete, exit 2).
pub fn attested_intents(
    args: &crate::cli::ScanArgs,
    config: &rampart_scan::Config,
    base: &Path,
    set: &mut rampart_intent::conform::IntentSet,
) -> Result<Vec<rampart_core::InputError>> {
    if args.intent_from.is_empty() {
        return Ok(Vec::new());
    }
    let path = match (&args.policy, &config.supply.policy) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => base.join(p),
        (None, None) => anyhow::bail!(
            "--intent-from: attested intents are verified with a trust policy: give --policy (or `policy` in rampart.toml)"
        ),
    };
    let policy = rampart_sign::trust::TrustPolicy::load(&path)
        .with_context(|| format!("trust policy {}", path.display()))?;
    let client = client(&args.images)?;
    let mut errors = Vec::new();
    let error = |name: &str, message: String| rampart_core::InputError {
        file: name.to_owned(),
        line: 0,
        column: 0,
        message,
    };
    for name in &args.intent_from {
        let reference = match rampart_registry::Reference::parse(name) {
            Ok(r) => r,
            Err(e) => {
                errors.push(error(name, format!("--intent-from: {e}")));
                continue;
            }
        };
        let digest = match rampart_sign::oci::resolve(&client, &reference) {
            Ok(d) => d,
            Err(e) => {
                errors.push(error(name, format!("cannot resolve the image: {e}")));
                continue;
            }
        };
        let pinned = reference.with_digest(digest.clone());
        let predicate = match policy.attested_predicate(
            &client,
            &pinned,
            rampart_sign::dsse::INTENT_PREDICATE_TYPE,
        ) {
            Ok(Some(p)) => p,
            Ok(None) => {
                errors.push(error(
                    name,
                    format!(
                        "no intent attestation verified with the keys of {} (the workloads running it are not checked against an intent)",
                        path.display()
                    ),
                ));
                continue;
            }
            Err(e) => {
                errors.push(error(
                    name,
                    format!("cannot verify the intent attestation: {e}"),
                ));
                continue;
            }
        };
        match rampart_intent::Intent::parse(&predicate.to_string(), Path::new(name)) {
            Ok(i) if i.image.digest() == digest.to_string() => {
                if let Err(e) = set.add_for(name, i, &format!("attestation of {name}")) {
                    errors.push(error(name, e.to_string()));
                }
            }
            Ok(i) => errors.push(error(
                name,
                format!("the attested intent is for {}, not for {pinned}", i.image),
            )),
            Err(e) => errors.push(error(name, format!("the attested intent is invalid: {e}"))),
        }
    }
    Ok(errors)
}
