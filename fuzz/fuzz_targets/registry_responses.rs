//! What a registry or token server sends back: a `WWW-Authenticate` header and a manifest
//! response. The input is split at its first NUL: the text before it goes through the challenge
//! parser (and a parsed challenge must print back to itself) and the reference parser (a
//! parsed reference must print back to itself); the bytes after it are a manifest body checked
//! with a content type and a `Docker-Content-Digest` chosen by the first byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_image::Digest;
use rampart_registry::{Manifest, Reference, parse_challenges};

const CONTENT_TYPES: [Option<&str>; 5] = [
    None,
    Some("application/vnd.oci.image.manifest.v1+json"),
    Some("application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8"),
    Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
    Some("application/json"),
];

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(head);
    if let Ok(challenges) = parse_challenges(&text) {
        for c in challenges {
            let printed = c.to_string();
            assert_eq!(parse_challenges(&printed).ok(), Some(vec![c]), "{printed}");
        }
    }
    if let Ok(r) = Reference::parse(&text) {
        assert_eq!(Reference::parse(&r.to_string()).ok(), Some(r));
    }
    let choice = usize::from(head.first().copied().unwrap_or(0));
    let content_type = CONTENT_TYPES[choice % CONTENT_TYPES.len()];
    let right = Digest::sha256_of(body).to_string();
    let announced = match choice / CONTENT_TYPES.len() % 3 {
        0 => None,
        1 => Some(right.as_str()),
        _ => Some(text.as_ref()),
    };
    let pinned = (choice % 2 == 1).then(|| Digest::sha256_of(body));
    if let Ok(m) = Manifest::from_response(body.to_vec(), content_type, announced, pinned.as_ref()) {
        assert_eq!(m.descriptor.digest, right);
        assert_eq!(m.descriptor.size, Some(body.len() as u64));
    }
});
