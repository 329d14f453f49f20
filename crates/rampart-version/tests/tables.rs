//! Table tests for the schemes without an oracle on Debian: Alpine's apk (apk-tools is not
//! packaged) and NuGet (NuGet.Versioning needs .NET). The rows follow apk-tools' src/version.c
//! and test/version.data, and the rules of learn.microsoft.com "NuGet package versioning".
#![allow(clippy::unwrap_used, clippy::panic)]

use rampart_version::Scheme;
use std::cmp::Ordering::{self, Equal, Greater, Less};

fn check(scheme: Scheme, rows: &[(&str, Ordering, &str)]) {
    for &(a, want, b) in rows {
        let got = scheme.compare(a, b).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, want, "{scheme:?}: {a} vs {b}");
        assert_eq!(
            scheme.compare(b, a).unwrap(),
            want.reverse(),
            "{scheme:?}: {b} vs {a}"
        );
    }
}

#[test]
fn apk_order() {
    check(
        Scheme::Apk,
        &[
            ("2.34", Greater, "0.1.0_alpha"),
            ("0.1.0_alpha", Equal, "0.1.0_alpha"),
            ("0.1.0_alpha2", Greater, "0.1.0_alpha"),
            ("1.0.4-r3", Less, "1.0.4-r4"),
            ("1.1", Greater, "1.1_alpha1"),
            ("1.2.1", Greater, "1.2"),
            ("0.8_beta1", Less, "0.8_beta2"),
            ("2.3.0b-r1", Less, "2.3.0b-r2"),
            ("3.1_p16", Less, "3.1_p17"),
            ("1.06-r6", Less, "006"),
            ("1.2.2-r1", Greater, "1.2.2"),
            ("20050718-r1", Less, "20050718-r2"),
            ("1.0", Greater, "0.99.3.20040818"),
            ("2.5.1-r8", Less, "2.5.1a-r1"),
            ("0.1.0_alpha_pre2", Less, "0.1.0_alpha"),
            ("1.0_p10-r0", Greater, "1.0_p9-r0"),
            ("6.0_pre1", Less, "6.0"),
            ("6.0_p1", Greater, "6.0"),
            (
                "1.0.0_pre20191002222144-r0",
                Less,
                "1.0.0_pre20210530193627-r0",
            ),
            ("1.0_rc1", Less, "1.0"),
            ("1.0", Less, "1.0-r1"),
            ("1.0-r1", Less, "1.0_p1"),
            ("1.0_p1", Less, "1.0a"),
            ("1.0a", Less, "1.0.1"),
            ("1.0_git1", Less, "1.0_hg1"),
            ("1.0_cvs1", Less, "1.0_svn1"),
            ("1.0_alpha", Less, "1.0_beta"),
            ("1.0_beta", Less, "1.0_pre"),
            ("1.0_pre", Less, "1.0_rc"),
            ("1.0~abc", Greater, "1.0"),
            ("1.0~abc-r1", Less, "1.0~abd"),
            ("1.05", Less, "1.5"),
            ("1.0", Less, "1.00"),
            ("1.10", Greater, "1.9"),
            ("8.2.0015", Less, "8.2.002"),
            ("18446744073709551616", Equal, "0"),
        ],
    );
}

#[test]
fn apk_validity() {
    for ok in [
        "1",
        "1.0a",
        "1.0_alpha_beta2",
        "1.0~DEADbeef-r0",
        "1_p",
        "01",
    ] {
        assert!(Scheme::Apk.parse(ok).is_ok(), "{ok:?}");
    }
    for bad in [
        "",
        "a",
        "1.",
        "1..2",
        "1.0-1",
        "1.0-r",
        "1.0_foo",
        "1.0A",
        "1a2",
        "1a.2",
        "1.0-r1-r2",
        "1.0-r1_p1",
        "1.0~",
        "1.0~g",
        " 1.0",
        "1.0bc",
        "1.0_alphab",
    ] {
        assert!(Scheme::Apk.parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn nuget_order() {
    check(
        Scheme::NuGet,
        &[
            ("1.0", Equal, "1.0.0"),
            ("1.0.0.0", Equal, "1.0.0"),
            ("1.0.01", Equal, "1.0.1"),
            ("1", Equal, "1.0.0.0"),
            ("1.0.0.1", Greater, "1.0.0"),
            ("1.0.0-alpha", Less, "1.0.0"),
            ("1.0.0-ALPHA", Equal, "1.0.0-alpha"),
            ("1.0.0-alpha.1", Less, "1.0.0-alpha.beta"),
            ("1.0.0-beta.2", Less, "1.0.0-beta.11"),
            ("1.0.0-1", Less, "1.0.0-a"),
            ("1.0.0-alpha", Less, "1.0.0-alpha.1"),
            ("1.0.0-rc.1", Less, "1.0.0"),
            ("1.0.0+build", Equal, "1.0.0+other"),
            ("1.0.0-beta+x", Equal, "1.0.0-BETA"),
            (" 1.0 ", Equal, "1.0"),
            ("2.0", Greater, "1.99.99.99"),
        ],
    );
}

#[test]
fn nuget_validity() {
    for ok in [
        "1",
        "1.0",
        "1.0.0.0",
        "01.002",
        "1.0.0-alpha.0",
        "1.0.0-a-b",
        "1.0+01",
        "2147483647",
    ] {
        assert!(Scheme::NuGet.parse(ok).is_ok(), "{ok:?}");
    }
    for bad in [
        "",
        "1.0.0.0.0",
        "1.",
        "1..0",
        "v1.0",
        "1.0-",
        "1.0+",
        "1.0-01",
        "1.0-a..b",
        "2147483648",
        "1.0-a_b",
        "-1.0",
        "1.0 beta",
    ] {
        assert!(Scheme::NuGet.parse(bad).is_err(), "{bad:?}");
    }
}
