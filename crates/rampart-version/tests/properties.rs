//! Properties every scheme keeps: parsing never panics, a text equals itself, and the order is
//! total (antisymmetric, transitive, equality an equivalence) on versions built from each
//! scheme's own pieces.
#![allow(clippy::unwrap_used, clippy::panic)]

use proptest::prelude::*;
use rampart_version::Scheme;
use std::cmp::Ordering;

/// The pieces versions of a scheme are made of (separators, numbers, qualifiers).
fn pieces(scheme: Scheme) -> &'static [&'static str] {
    match scheme {
        Scheme::Dpkg => &[
            "0", "1", "2", "10", "01", ".", "~", "+", "-", ":", "a", "rc", "Z", "ubuntu",
        ],
        Scheme::Apk => &[
            "0", "1", "2", "10", "01", ".", "a", "z", "_alpha", "_rc", "_p", "_git", "-r", "~",
            "beef", "_pre",
        ],
        Scheme::Rpm => &[
            "0", "1", "2", "10", "01", ".", "~", "^", "-", ":", "a", "rc", "el9", "_", "+",
        ],
        Scheme::SemVer => &[
            "0", "1", "2", "10", ".", "-", "+", "v", "alpha", "rc", "x-y",
        ],
        Scheme::Pep440 => &[
            "0", "1", "2", "10", "01", ".", "-", "_", "!", "+", "a", "b", "rc", "post", "dev",
            "alpha", "local", "v",
        ],
        Scheme::Maven => &[
            "0", "1", "2", "10", "01", ".", "-", "alpha", "a", "b", "m", "rc", "cr", "snapshot",
            "ga", "final", "sp", "release", "x", "",
        ],
        Scheme::RubyGems => &[
            "0", "1", "2", "10", "01", ".", "-", "a", "pre", "rc", "beta", "B", "z",
        ],
        Scheme::NuGet => &[
            "0", "1", "2", "10", "01", ".", "-", "+", "alpha", "Beta", "rc", "x-y",
        ],
    }
}

fn version(scheme: Scheme) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(pieces(scheme)), 1..10).prop_map(|v| v.concat())
}

fn scheme() -> impl Strategy<Value = Scheme> {
    prop::sample::select(Scheme::ALL.to_vec())
}

fn triple() -> impl Strategy<Value = (Scheme, String, String, String)> {
    scheme().prop_flat_map(|s| (Just(s), version(s), version(s), version(s)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn parse_never_panics(s in any::<String>(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let lossy = String::from_utf8_lossy(&bytes);
        for scheme in Scheme::ALL {
            for text in [s.as_str(), lossy.as_ref()] {
                if let Ok(v) = scheme.parse(text) {
                    prop_assert_eq!(v.as_str(), text);
                    prop_assert_eq!(v.to_string(), text);
                    prop_assert_eq!(v.cmp(&v), Ordering::Equal);
                }
            }
        }
    }

    #[test]
    fn order_is_total((scheme, a, b, c) in triple()) {
        let parsed: Vec<_> = [&a, &b, &c].iter().filter_map(|t| scheme.parse(t).ok()).collect();
        for x in &parsed {
            prop_assert_eq!(x.cmp(x), Ordering::Equal, "{} equals itself", x);
            prop_assert_eq!(scheme.compare(x.as_str(), x.as_str()).unwrap(), Ordering::Equal);
            for y in &parsed {
                prop_assert_eq!(x.cmp(y), y.cmp(x).reverse(), "antisymmetry of {} and {}", x, y);
                for z in &parsed {
                    if x <= y && y <= z {
                        prop_assert!(x <= z, "transitivity: {} <= {} <= {} but not {} <= {}", x, y, z, x, z);
                    }
                    if x == y && y == z {
                        prop_assert!(x == z, "equality: {} = {} = {}", x, y, z);
                    }
                }
            }
        }
    }

    #[test]
    fn schemes_order_apart(a in version(Scheme::Maven), b in version(Scheme::RubyGems)) {
        if let (Ok(x), Ok(y)) = (Scheme::Maven.parse(&a), Scheme::RubyGems.parse(&b)) {
            prop_assert_eq!(x.cmp(&y), Ordering::Less);
            prop_assert!(x != y);
        }
    }
}
