//! Arbitrary bytes (lossy UTF-8) parsed under every `rampart_version::Scheme`; the text is
//! also split at its first NUL into two versions that are compared both ways. Checks that
//! parsing never panics, a version keeps its text, equals itself, and that comparisons are
//! antisymmetric.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_version::Scheme;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (left, right) = text.split_once('\0').unwrap_or((&text, ""));
    for scheme in Scheme::ALL {
        for s in [text.as_ref(), left, right] {
            if let Ok(v) = scheme.parse(s) {
                assert_eq!(v.as_str(), s);
                assert!(v == v);
            }
        }
        if let (Ok(a), Ok(b)) = (scheme.parse(left), scheme.parse(right)) {
            assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
            assert_eq!(scheme.compare(left, right).ok(), Some(a.cmp(&b)));
        }
    }
});
