//! The Java archive walker on real jars from Debian packages (`apt-get download`, `dpkg-deb -x`)
//! and on a war, an ear (with the war, library jars and a resource adapter), a Spring Boot style
//! fat jar and a shaded uber jar built from them by the JDK's own `jar` tool. The oracle is
//! tests/oracle/JarOracle.java `--packages`: it walks the same archives with
//! `java.util.jar.JarFile` (central directory, manifest and properties parsers of the JDK) and
//! applies the documented identity rules on its own. Hostile archives (zip bombs, deep nesting,
//! path-traversal names, truncated, not a zip) are built with the JDK and Python's `zipfile`.

mod common;

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use rampart_sbom::{CatalogError, JavaArchiveCatalog, JavaLimits, catalog_java_archive};

type Row = (String, String, String, String, String);

/// Jars (regular files, not the versioned symlinks) from Debian packages, by file name.
fn debian_jars(dir: &Path) -> Vec<PathBuf> {
    // log4j2, jackson-databind and commons-lang3 ship pom.properties; xz, jsch and jzlib do not
    // (Ant builds with OSGi manifests only).
    common::unpack_debian_packages(
        dir,
        &[
            "liblog4j2-java",
            "libjackson2-databind-java",
            "libcommons-lang3-java",
            "libxz-java",
            "libjsch-java",
            "libjzlib-java",
        ],
    );
    common::walk(&dir.join("root"))
        .into_iter()
        .filter(|(rel, _)| rel.ends_with(".jar"))
        .map(|(_, full)| full)
        .collect()
}

fn jar_named(jars: &[PathBuf], name: &str) -> PathBuf {
    match jars
        .iter()
        .find(|j| j.file_name().is_some_and(|f| f == name))
    {
        Some(j) => j.clone(),
        None => common::panic_msg(&format!("no {name} in {jars:?}")),
    }
}

fn put(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        if let Err(e) = std::fs::create_dir_all(parent) {
            common::panic_msg(&format!("mkdir {}: {e}", parent.display()));
        }
    }
    if let Err(e) = std::fs::write(path, bytes) {
        common::panic_msg(&format!("write {}: {e}", path.display()));
    }
}

fn copy(from: &Path, to: &Path) {
    let bytes = std::fs::read(from).unwrap_or_default();
    assert!(!bytes.is_empty(), "{}", from.display());
    put(to, &bytes);
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// `jar --create` of the directory `src` into `out`, with an optional manifest file.
fn jar_tool(dir: &Path, out: &Path, src: &Path, manifest: Option<&str>, stored: bool) {
    let mut args = vec!["--create", "--file", s(out)];
    let mf;
    if let Some(m) = manifest {
        mf = dir.join(format!(
            "{}.mf",
            out.file_name().and_then(|f| f.to_str()).unwrap_or("x")
        ));
        put(&mf, m.as_bytes());
        args.extend(["--manifest", s(&mf)]);
    }
    if stored {
        args.push("--no-compress");
    }
    args.extend(["-C", s(src), "."]);
    common::run(dir, 120, "jar", &args);
}

/// The war, ear, fat jar and uber jar, built with the JDK's `jar` from the Debian jars.
fn build_archives(dir: &Path, jars: &[PathBuf]) -> Vec<PathBuf> {
    let j = |n: &str| jar_named(jars, n);
    let pom = |g: &str, a: &str, v: &str| format!("groupId={g}\nartifactId={a}\nversion={v}\n");

    // A war: its own pom.properties, WEB-INF/lib with two pom-carrying jars and one without.
    let war = dir.join("war");
    put(&war.join("WEB-INF/web.xml"), b"<web-app/>\n");
    put(
        &war.join("WEB-INF/classes/shop/Index.class"),
        b"\xca\xfe\xba\xbe",
    );
    put(
        &war.join("META-INF/maven/com.example/shop/pom.properties"),
        pom("com.example", "shop", "1.0").as_bytes(),
    );
    copy(
        &j("commons-lang3.jar"),
        &war.join("WEB-INF/lib/commons-lang3-3.12.0.jar"),
    );
    copy(
        &j("jackson-databind.jar"),
        &war.join("WEB-INF/lib/jackson-databind-2.14.0.jar"),
    );
    copy(&j("xz-1.9.jar"), &war.join("WEB-INF/lib/xz-1.9.jar"));
    let war_file = dir.join("shop-1.0.war");
    jar_tool(dir, &war_file, &war, None, false);

    // A resource adapter (.rar, a zip) with a jar inside, for the ear.
    let rar = dir.join("rar");
    put(&rar.join("META-INF/ra.xml"), b"<connector/>\n");
    copy(&j("jsch-0.1.54.jar"), &rar.join("jsch-0.1.54.jar"));
    let rar_file = dir.join("connector.rar");
    jar_tool(dir, &rar_file, &rar, None, false);

    // An ear: the war, library jars in lib/, the resource adapter; no pom.properties of its own.
    let ear = dir.join("ear");
    put(&ear.join("META-INF/application.xml"), b"<application/>\n");
    copy(&war_file, &ear.join("shop-1.0.war"));
    copy(&rar_file, &ear.join("connector.rar"));
    copy(&j("log4j-api.jar"), &ear.join("lib/log4j-api-2.19.0.jar"));
    copy(&j("log4j-core.jar"), &ear.join("lib/log4j-core-2.19.0.jar"));
    let ear_file = dir.join("bank-3.1.ear");
    jar_tool(
        dir,
        &ear_file,
        &ear,
        Some("Implementation-Vendor-Id: com.example.bank\nBundle-License: EPL-2.0\n"),
        false,
    );

    // A Spring Boot style executable jar: nested jars stored (uncompressed) in BOOT-INF/lib.
    let fat = dir.join("fat");
    put(
        &fat.join("BOOT-INF/classes/com/example/App.class"),
        b"\xca\xfe\xba\xbe",
    );
    put(
        &fat.join("META-INF/maven/com.example/fat/pom.properties"),
        pom("com.example", "fat", "2.0").as_bytes(),
    );
    copy(
        &j("log4j-api.jar"),
        &fat.join("BOOT-INF/lib/log4j-api-2.19.0.jar"),
    );
    copy(
        &j("jzlib-1.1.3.jar"),
        &fat.join("BOOT-INF/lib/jzlib-1.1.3.jar"),
    );
    let fat_file = dir.join("fat-2.0.jar");
    jar_tool(
        dir,
        &fat_file,
        &fat,
        Some(
            "Main-Class: org.springframework.boot.loader.JarLauncher\nStart-Class: com.example.App\nBundle-License: Apache-2.0\n",
        ),
        true,
    );

    // A shaded uber jar: the contents of three jars merged (their pom.properties come along),
    // none of which is the uber jar's own.
    let uber = dir.join("uber");
    std::fs::create_dir_all(&uber).unwrap_or_default();
    for name in ["commons-lang3.jar", "log4j-api.jar", "jzlib-1.1.3.jar"] {
        common::run(dir, 60, "unzip", &["-q", "-o", s(&j(name)), "-d", s(&uber)]);
    }
    let _ = std::fs::remove_file(uber.join("META-INF/MANIFEST.MF"));
    let uber_file = dir.join("uber-0.1.jar");
    jar_tool(
        dir,
        &uber_file,
        &uber,
        Some(
            "Implementation-Title: uber\nImplementation-Vendor-Id: org.acme\nImplementation-Version: 0.1\nBundle-License: MIT\n",
        ),
        false,
    );

    // A shaded jar that carries its own pom.properties (matching its versioned file name) next to
    // a shaded dependency's: the license goes to its own package, no manifest package is made.
    let shaded = dir.join("shaded");
    common::run(
        dir,
        60,
        "unzip",
        &["-q", "-o", s(&j("commons-lang3.jar")), "-d", s(&shaded)],
    );
    let _ = std::fs::remove_file(shaded.join("META-INF/MANIFEST.MF"));
    put(
        &shaded.join("META-INF/maven/com.example/shaded-app/pom.properties"),
        pom("com.example", "shaded-app", "4.2").as_bytes(),
    );
    let shaded_file = dir.join("shaded-app-4.2.jar");
    jar_tool(
        dir,
        &shaded_file,
        &shaded,
        Some("Implementation-Version: 9.9\nBundle-License: BSD-3-Clause\n"),
        false,
    );
    vec![
        war_file,
        ear_file,
        fat_file,
        uber_file,
        rar_file,
        shaded_file,
    ]
}

fn oracle(dir: &Path, archives: &[PathBuf]) -> BTreeSet<Row> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/JarOracle.java");
    let mut args = vec![s(&src), "--packages"];
    args.extend(archives.iter().map(|a| s(a)));
    let out = common::run(dir, 600, "java", &args);
    let mut rows = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        match line.split('\t').collect::<Vec<_>>().as_slice() {
            ["PKG", loc, g, a, v, lic] => {
                rows.insert((
                    (*loc).to_owned(),
                    (*g).to_owned(),
                    (*a).to_owned(),
                    (*v).to_owned(),
                    (*lic).to_owned(),
                ));
            }
            _ => common::panic_msg(&format!("unexpected oracle line {line:?}")),
        }
    }
    rows
}

fn rows(c: &JavaArchiveCatalog) -> BTreeSet<Row> {
    c.packages
        .iter()
        .map(|p| {
            assert_eq!(
                p.purl.to_string(),
                format!(
                    "pkg:maven/{}/{}@{}",
                    p.purl.namespace().unwrap_or_default(),
                    p.name,
                    p.version
                )
            );
            assert_eq!(p.locations.len(), 1);
            (
                p.locations
                    .first()
                    .map(|l| l.path.clone())
                    .unwrap_or_default(),
                p.purl.namespace().unwrap_or_default().to_owned(),
                p.name.clone(),
                p.version.clone(),
                p.licenses.join(" "),
            )
        })
        .collect()
}

fn catalog_file(path: &Path, limits: &JavaLimits) -> Result<JavaArchiveCatalog, CatalogError> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => common::panic_msg(&format!("open {}: {e}", path.display())),
    };
    catalog_java_archive(s(path), f, limits)
}

#[test]
fn debian_jars_and_built_archives_match_the_jdk() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    common::ensure_jdk();
    let jars = debian_jars(dir);
    assert!(jars.len() >= 15, "{jars:?}");
    let mut archives = jars.clone();
    archives.extend(build_archives(dir, &jars));

    let want = oracle(dir, &archives);
    let limits = JavaLimits::default();
    let mut got = BTreeSet::new();
    for a in &archives {
        let c = catalog_file(a, &limits)?;
        assert!(c.skipped.is_empty(), "{}: {:?}", a.display(), c.skipped);
        // The layer reader may hand a buffered copy instead of a file: same result.
        let buffered = catalog_java_archive(s(a), Cursor::new(std::fs::read(a)?), &limits)?;
        assert_eq!(rows(&buffered), rows(&c));
        got.extend(rows(&c));
    }
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );

    // The comparison covers what it should: nesting two deep (ear > war > jar, ear > rar > jar),
    // stored nested jars, shaded pom.properties, jars identified by manifest and file name only.
    let has = |loc_suffix: &str, artifact: &str| {
        got.iter()
            .any(|(l, _, a, _, _)| l.ends_with(loc_suffix) && a == artifact)
    };
    assert!(has(
        "bank-3.1.ear:shop-1.0.war:WEB-INF/lib/jackson-databind-2.14.0.jar",
        "jackson-databind"
    ));
    assert!(has("bank-3.1.ear:connector.rar:jsch-0.1.54.jar", "jsch"));
    assert!(has("bank-3.1.ear", "bank"));
    assert!(has("fat-2.0.jar:BOOT-INF/lib/jzlib-1.1.3.jar", "jzlib"));
    assert!(has("fat-2.0.jar", "fat"));
    for a in ["uber", "commons-lang3", "log4j-api"] {
        assert!(has("uber-0.1.jar", a), "{a}");
    }
    assert!(has("xz-1.9.jar", "xz"));
    assert!(
        got.iter()
            .any(|r| r.2 == "shaded-app" && r.4 == "BSD-3-Clause")
    );
    assert!(
        got.iter().any(|r| r.0.ends_with("shaded-app-4.2.jar")
            && r.2 == "commons-lang3"
            && r.4.is_empty())
    );
    // A top-level .rar is not walked as a Java archive by the oracle's caller either: it was
    // passed explicitly, so both sides catalogued it; `is_java_archive` does not pick it.
    assert!(!rampart_sbom::is_java_archive("connector.rar"));
    // Licenses from Bundle-License land on the archive's own package only.
    assert!(got.iter().any(|r| r.2 == "uber" && r.4 == "MIT"));
    assert!(
        got.iter()
            .any(|r| r.0.ends_with("uber-0.1.jar") && r.2 == "log4j-api" && r.4.is_empty())
    );
    eprintln!(
        "java archives: {} archives, {} packages agree with the JDK",
        archives.len(),
        got.len()
    );

    // A total budget smaller than the ear: parts are skipped with a limit error, no panic.
    let tight = JavaLimits {
        max_total_bytes: 1 << 20,
        ..JavaLimits::default()
    };
    let c = catalog_file(&dir.join("bank-3.1.ear"), &tight)?;
    assert!(
        c.skipped
            .iter()
            .any(|e| matches!(e, CatalogError::Limit { message, .. } if message.contains("total"))),
        "{:?}",
        c.skipped
    );
    Ok(())
}

/// Writes a zip with Python's `zipfile` from a small script (names and contents are Python
/// expressions), so hostile names and sizes can be made.
fn python_zip(dir: &Path, out: &Path, body: &str) {
    let script = format!(
        "import zipfile, sys\nz = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED)\n{body}\nz.close()\n"
    );
    common::run(dir, 300, "python3", &["-c", &script, s(out)]);
}

#[test]
fn hostile_archives() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    common::ensure_jdk();
    let limits = JavaLimits::default();
    let pom_jar = |name: &str, group: &str, artifact: &str| {
        let src = dir.join(format!("src-{name}"));
        put(
            &src.join(format!("META-INF/maven/{group}/{artifact}/pom.properties")),
            format!("groupId={group}\nartifactId={artifact}\nversion=1.0\n").as_bytes(),
        );
        let out = dir.join(name);
        jar_tool(dir, &out, &src, None, false);
        out
    };

    // Not a zip, with a .jar name.
    let fake = dir.join("fake-1.0.jar");
    put(&fake, b"#!/bin/sh\necho this is not a jar\n");
    let e = catalog_file(&fake, &limits).err();
    assert!(
        matches!(&e, Some(CatalogError::Format { message, .. }) if message.contains("expected a zip")),
        "{e:?}"
    );

    // Truncated: a real jar cut in half (the JDK refuses it too).
    let good = pom_jar("good-1.0.jar", "org.example", "good");
    let bytes = std::fs::read(&good)?;
    let cut = dir.join("cut-1.0.jar");
    put(&cut, bytes.get(..bytes.len() / 2).unwrap_or_default());
    assert!(matches!(
        catalog_file(&cut, &limits),
        Err(CatalogError::Format { .. })
    ));
    let jdk = Command::new("jar")
        .args(["--list", "--file", s(&cut)])
        .output()?;
    assert!(!jdk.status.success(), "the JDK reads the truncated jar");

    // A war holding the truncated jar and a good one: the good one is found, the bad one skipped.
    let war = dir.join("mixed");
    copy(&cut, &war.join("WEB-INF/lib/cut-1.0.jar"));
    copy(&good, &war.join("WEB-INF/lib/good-1.0.jar"));
    let war_file = dir.join("mixed-1.0.war");
    jar_tool(dir, &war_file, &war, None, false);
    let c = catalog_file(&war_file, &limits)?;
    assert!(rows(&c).iter().any(|r| r.2 == "good"));
    assert!(
        matches!(c.skipped.as_slice(), [CatalogError::Format { path, .. }] if path.ends_with("mixed-1.0.war:WEB-INF/lib/cut-1.0.jar")),
        "{:?}",
        c.skipped
    );

    // Zip bombs: a 200 MiB manifest and a 300 MiB nested "jar" of zeros (a few hundred KiB
    // compressed each), next to a real pom.properties.
    let bomb = dir.join("bomb-1.0.jar");
    python_zip(
        dir,
        &bomb,
        "z.writestr('META-INF/maven/g/bomb/pom.properties', 'groupId=g\\nartifactId=bomb\\nversion=1.0\\n')\n\
         with z.open('META-INF/MANIFEST.MF', 'w') as f:\n    [f.write(bytes(1 << 20)) for _ in range(200)]\n\
         with z.open('lib/inner.jar', 'w', force_zip64=True) as f:\n    [f.write(bytes(1 << 20)) for _ in range(300)]",
    );
    let c = catalog_file(&bomb, &limits)?;
    assert_eq!(rows(&c).len(), 1, "{:?}", rows(&c));
    assert_eq!(c.skipped.len(), 2, "{:?}", c.skipped);
    assert!(
        c.skipped
            .iter()
            .all(|e| matches!(e, CatalogError::Limit { .. }))
    );
    // The ratio limit on its own: entries may be large, but not 1000:1 compressed.
    let big_entries = JavaLimits {
        max_entry_bytes: 256 << 20,
        ..JavaLimits::default()
    };
    let c = catalog_file(&bomb, &big_entries)?;
    assert!(
        c.skipped
            .iter()
            .any(|e| matches!(e, CatalogError::Limit { message, .. } if message.contains("ratio"))),
        "{:?}",
        c.skipped
    );

    // Deep nesting: seven levels, each with its own pom.properties; the oracle stops at the same
    // depth, the walker says what it skipped.
    let mut inner = pom_jar("level7.jar", "org.nest", "level7");
    for level in (0..7).rev() {
        let src = dir.join(format!("nest{level}"));
        copy(&inner, &src.join(format!("lib/level{}.jar", level + 1)));
        put(
            &src.join(format!(
                "META-INF/maven/org.nest/level{level}/pom.properties"
            )),
            format!("groupId=org.nest\nartifactId=level{level}\nversion=1.0\n").as_bytes(),
        );
        let out = dir.join(format!("level{level}.jar"));
        jar_tool(dir, &out, &src, None, level % 2 == 0);
        inner = out;
    }
    let c = catalog_file(&inner, &limits)?;
    assert_eq!(rows(&c), oracle(dir, std::slice::from_ref(&inner)));
    assert_eq!(rows(&c).len(), limits.max_depth + 1);
    assert!(
        matches!(c.skipped.as_slice(), [CatalogError::Limit { message, .. }] if message.contains("nested deeper")),
        "{:?}",
        c.skipped
    );

    // Zip64: more entries than the classic end record can count. The zip64 record is read and
    // its count checked against the limit.
    let zip64 = dir.join("many-1.0.jar");
    python_zip(
        dir,
        &zip64,
        "z.writestr('META-INF/maven/g/many/pom.properties', 'groupId=g\\nartifactId=many\\nversion=1.0\\n')\n\
         [z.writestr(f'c/{i}.class', b'') for i in range(70000)]",
    );
    let c = catalog_file(&zip64, &limits)?;
    assert_eq!(rows(&c), oracle(dir, std::slice::from_ref(&zip64)));
    assert_eq!(rows(&c).len(), 1);
    let fewer = JavaLimits {
        max_entries: 50_000,
        ..JavaLimits::default()
    };
    let e = catalog_file(&zip64, &fewer).err();
    assert!(
        matches!(&e, Some(CatalogError::Limit { message, .. }) if message.contains("70001")),
        "{e:?}"
    );

    // Path-traversal and absolute entry names: only labels, nothing is written anywhere.
    let evil_target = Path::new("/tmp/rampart-evil-1.0.jar");
    let _ = std::fs::remove_file(evil_target);
    let traversal = dir.join("traversal-1.0.jar");
    python_zip(
        dir,
        &traversal,
        &format!(
            "inner = open({:?}, 'rb').read()\n\
             z.writestr('../../../../../../tmp/rampart-evil-1.0.jar', inner)\n\
             z.writestr('/abs/lib/abs-2.0.jar', inner)",
            s(&good)
        ),
    );
    let c = catalog_file(&traversal, &limits)?;
    assert!(c.skipped.is_empty(), "{:?}", c.skipped);
    assert_eq!(rows(&c), oracle(dir, std::slice::from_ref(&traversal)));
    assert!(rows(&c).iter().any(|r| {
        r.0.ends_with("traversal-1.0.jar:../../../../../../tmp/rampart-evil-1.0.jar")
    }));
    assert!(!evil_target.exists());
    Ok(())
}
