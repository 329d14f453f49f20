//! NetworkPolicy reachability on hostile manifests: selectors, CIDRs, ports and whole clusters
//! read and analysed without a panic; every connection listed allows something, and the CIDR
//! parser's blocks are well formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_netpol::ip::{Cidr, parse_cidr};
use rampart_netpol::{Engine, read};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // the CIDR parser on every line
    for line in text.lines().take(64) {
        if let Ok(Cidr::V4(r)) = parse_cidr(line.trim()) {
            assert!(r.lo <= r.hi);
        }
    }
    let cluster = read([("fuzz.yaml".to_owned(), text)]);
    if cluster.members.len() > 64 || cluster.policies.len() > 64 {
        return; // keep each run short
    }
    let engine = Engine::new(&cluster);
    for c in engine.connections() {
        assert!(!c.conns.is_empty(), "{c}");
    }
    for e in engine.exposure() {
        let _ = e.is_exposed();
    }
});
