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
