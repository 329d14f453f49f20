//! SBOM reading (`rampart_sbom::read_sbom`, CycloneDX or SPDX JSON from any tool) on arbitrary
//! bytes, plus `looks_like_sbom`. What is read must be canonical: every package's purl prints and
//! parses back to itself and names the package's ecosystem; and rampart's own CycloneDX and
//! SPDX documents of those packages read back to the same purls and distribution.
#![no_main]

use libfuzzer_sys::fuzz_target;

use rampart_sbom::{
    Ecosystem, Options, Purl, SbomDocument, SbomInput, Subject, Tool, cyclonedx_json,
    looks_like_sbom, read_sbom, spdx_json,
};

fn purls(s: &SbomInput) -> Vec<String> {
    let mut v: Vec<String> = s.packages.iter().map(|p| p.purl.to_string()).collect();
    v.sort();
    v
}

fuzz_target!(|data: &[u8]| {
    let _ = looks_like_sbom(data);
    let Ok(sbom) = read_sbom(data) else {
        return;
    };
    for p in &sbom.packages {
        let text = p.purl.to_string();
        assert_eq!(text.parse::<Purl>().map(|q| q.to_string()), Ok(text.clone()));
        assert_eq!(Ecosystem::from_purl_type(p.purl.ty()), Some(p.ecosystem), "{text}");
    }
    let doc = SbomDocument {
        subject: Subject {
            name: "fuzz".to_owned(),
            ..Subject::default()
        },
        distro: sbom.distro.clone(),
        packages: sbom.packages.clone(),
        tool: Tool {
            name: "rampart".to_owned(),
            version: "0".to_owned(),
        },
    };
    let opts = Options::reproducible(None);
    for text in [cyclonedx_json(&doc, &opts), spdx_json(&doc, &opts)] {
        let again = read_sbom(text.as_bytes()).expect("rampart's own document reads back");
        assert_eq!(purls(&again), purls(&sbom));
        assert_eq!(again.distro, sbom.distro);
    }
});
