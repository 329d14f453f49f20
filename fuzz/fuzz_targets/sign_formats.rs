//! cosign's formats on arbitrary bytes: the first byte picks the parser. Simple-signing payloads
//! that parse print back to bytes that parse to the same payload; signature and attestation
//! manifests (manifest bytes up to the first NUL, the rest a blob offered under its own digest)
//! that read rebuild to the same layer descriptors; DSSE envelopes, in-toto statements and
//! Sigstore bundles that parse print back to themselves.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use rampart_sign::dsse::{Bundle, Envelope, Statement, read_attestation_layers};
use rampart_sign::signature::{
    SimpleSigning, build_manifest, parse_manifest, read_signature_layers, sha256_digest,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => {
            if let Ok(p) = SimpleSigning::parse(rest) {
                assert_eq!(SimpleSigning::parse(&p.to_bytes()), Ok(p));
            }
        }
        1 => {
            let (manifest, blob) = match rest.iter().position(|b| *b == 0) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            let blobs = BTreeMap::from([(sha256_digest(blob), blob.to_vec())]);
            let _ = parse_manifest(manifest);
            if let Ok(layers) = read_signature_layers(manifest, &blobs) {
                let rebuilt: Vec<_> = layers.iter().map(|l| l.to_layer()).collect();
                let built = build_manifest(&rebuilt);
                let again = parse_manifest(&built.manifest).unwrap();
                let first = parse_manifest(manifest).unwrap();
                assert_eq!(again.layers, first.layers);
            }
            let _ = read_attestation_layers(manifest, &blobs);
        }
        _ => {
            if let Ok(env) = Envelope::parse(rest) {
                assert_eq!(Envelope::parse(&env.to_bytes()).as_ref(), Ok(&env));
                if let Ok(body) = env.body() {
                    if let Ok(s) = Statement::parse(&body) {
                        assert_eq!(Statement::parse(&s.to_bytes()), Ok(s));
                    }
                }
            }
            if let Ok(b) = Bundle::parse(rest) {
                let _ = b.statement();
            }
        }
    }
});
