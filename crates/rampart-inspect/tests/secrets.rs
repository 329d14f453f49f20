//! IMG008 precision and recall, measured.
//!
//! Precision: real files of real packages hold no secret, so no IMG008 finding above low is
//! allowed on them: CPython's standard library with its test suite under `/usr/lib` (Debian)
//! and under `/usr/local/lib` (the official `python` image), Debian's `nodejs`, `npm`,
//! `golang-1.19` and `openjdk-17-jre-headless` (also where the official and Temurin images put
//! Go and Java), a real npm tree and a real pip tree (scripts/build-secrets-corpus.sh, cached).
//! Checked twice: the image as rampart scans it (runtime and package trees are read by content
//! only for files named like credentials), and every text file of the tree through the content
//! rules, as if nothing were skipped.
//!
//! Recall: synthetic secrets (generated here, never real) of every credential format rampart
//! knows, planted in files of each language (Python, JavaScript, TypeScript, Go, Java, shell,
//! YAML, JSON, .env, properties), next to decoys (values from calls, attributes, variables,
//! expressions, references) that must not be reported. Every planted secret must be found.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rampart_core::{Finding, Severity};
use rampart_image::{Image, Source};
use rampart_inspect::{InspectOptions, inspect, rules};

/// Credentials that real packages publish, which the content rules rightly find: (path, what).
/// Only the content pass meets them (package trees are not read by content in images).
const PUBLISHED: [(&str, &str); 1] = [(
    "/app/web/node_modules/debug/.coveralls.yml",
    "the Coveralls repo token debug@2.6.9 ships",
)];

fn corpus() -> PathBuf {
    rampart_testkit::oracles::cached_script_dir("build-secrets-corpus.sh").join("rootfs")
}

fn img008(dir: &Path) -> Vec<Finding> {
    let image = Image::open(&Source::Rootfs(dir.to_owned()), None).unwrap();
    let opts = InspectOptions {
        secrets: true,
        today: jiff::civil::date(2026, 12, 1),
    };
    let ins = inspect(&image, &dir.display().to_string(), &opts).unwrap();
    rules::assess(&ins)
        .findings
        .into_iter()
        .filter(|f| f.rule_id == "IMG008")
        .collect()
}

/// The tree a path of the clean corpus belongs to, for the per-tree counts.
fn tree(path: &str) -> &'static str {
    const TREES: [(&str, &str); 12] = [
        (
            "/usr/local/lib/python3",
            "CPython stdlib+tests /usr/local/lib",
        ),
        ("/usr/lib/python3", "CPython stdlib+tests /usr/lib"),
        ("/app/node_modules/", "npm tree"),
        ("/app/web/node_modules/", "npm tree"),
        ("/app/site-packages/", "pip tree"),
        ("/usr/local/go/", "Go /usr/local/go"),
        ("/usr/lib/go-1.19/", "Go (Debian)"),
        ("/usr/share/go-1.19/", "Go (Debian)"),
        ("/usr/lib/jvm/", "OpenJDK (Debian)"),
        ("/opt/java/", "OpenJDK /opt/java"),
        ("/usr/share/nodejs/", "nodejs/npm (Debian)"),
        ("/usr/", "other Debian files"),
    ];
    TREES
        .iter()
        .find(|(p, _)| path.starts_with(p))
        .map_or("other", |(_, t)| t)
}

/// Every file of `dir` that rampart reads for secrets by its kind (text-like or named like a
/// credential, at most 1 MiB, no NUL byte), wherever it is, with its path in the tree.
fn text_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() && e.metadata().unwrap().len() <= 1 << 20 {
                let rel = format!("/{}", e.path().strip_prefix(dir).unwrap().display());
                if !rampart_inspect::secret_candidate(&rel) {
                    continue;
                }
                let bytes = std::fs::read(e.path()).unwrap();
                if !bytes.contains(&0) {
                    out.push((rel, String::from_utf8_lossy(&bytes).into_owned()));
                }
            }
        }
    }
    out
}

// ---- synthetic secrets -------------------------------------------------------------------

/// xorshift64*: deterministic, good enough to make random-looking synthetic credentials.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick(&mut self, alphabet: &str, n: usize) -> String {
        let a = alphabet.as_bytes();
        (0..n)
            .map(|_| char::from(a[(self.next() % a.len() as u64) as usize]))
            .collect()
    }
    fn alnum(&mut self, n: usize) -> String {
        self.pick(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            n,
        )
    }
    fn b64(&mut self, n: usize) -> String {
        self.pick(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            n,
        )
    }
    fn b64url(&mut self, n: usize) -> String {
        self.pick(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            n,
        )
    }
}

fn b64url_json(json: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in json.as_bytes().chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A value of one credential format, on one line unless it is a private key (then its PEM
/// lines).
struct Secret {
    format: &'static str,
    name: &'static str,
    value: String,
}

fn secrets(rng: &mut Rng) -> Vec<Secret> {
    let jwt = format!(
        "{}.{}.{}",
        b64url_json(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64url_json(&format!(
            r#"{{"sub":"{}","name":"svc","iat":1733000000}}"#,
            rng.alnum(12)
        )),
        rng.b64url(43)
    );
    let mut key = String::from("-----BEGIN RSA PRIVATE KEY-----\n");
    key.push_str("MIIEowIBAAKCAQEA");
    key.push_str(&rng.b64(48));
    key.push('\n');
    for _ in 0..8 {
        key.push_str(&rng.b64(64));
        key.push('\n');
    }
    key.push_str("-----END RSA PRIVATE KEY-----");
    vec![
        Secret {
            format: "AWS access key id",
            name: "AWS_ACCESS_KEY_ID",
            value: format!("AKIA{}", rng.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        },
        Secret {
            format: "AWS secret access key",
            name: "aws_secret_access_key",
            value: rng.b64(40),
        },
        Secret {
            format: "GitHub token",
            name: "GH_TOKEN",
            value: format!("ghp_{}", rng.alnum(36)),
        },
        Secret {
            format: "GitHub fine-grained token",
            name: "GITHUB_PAT",
            value: format!("github_pat_{}_{}", rng.alnum(22), rng.alnum(59)),
        },
        Secret {
            format: "GitLab token",
            name: "GITLAB_TOKEN",
            value: format!("glpat-{}", rng.alnum(20)),
        },
        Secret {
            format: "Slack token",
            name: "SLACK_BOT_TOKEN",
            value: format!(
                "xoxb-{}-{}-{}",
                rng.pick("0123456789", 12),
                rng.pick("0123456789", 13),
                rng.alnum(24)
            ),
        },
        Secret {
            format: "Slack webhook",
            name: "SLACK_WEBHOOK",
            value: format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                rng.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8),
                rng.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
                rng.alnum(24)
            ),
        },
        Secret {
            format: "npm token",
            name: "NPM_TOKEN",
            value: format!("npm_{}", rng.alnum(36)),
        },
        Secret {
            format: "PyPI token",
            name: "PYPI_TOKEN",
            value: format!("pypi-AgEIcHlwaS5vcmc{}", rng.b64url(70)),
        },
        Secret {
            format: "Stripe live key",
            name: "STRIPE_KEY",
            value: format!("sk_live_{}", rng.alnum(24)),
        },
        Secret {
            format: "Google API key",
            name: "GOOGLE_MAPS",
            value: format!("AIza{}", rng.b64url(35)),
        },
        Secret {
            format: "URL with a password",
            name: "DATABASE_URL",
            value: format!("postgres://app:{}@db.internal:5432/app", rng.alnum(18)),
        },
        Secret {
            format: "JWT",
            name: "SESSION_JWT",
            value: jwt,
        },
        Secret {
            format: "secret-named literal",
            name: "api_secret",
            value: rng.alnum(32),
        },
        Secret {
            format: "private key",
            name: "TLS_KEY",
            value: key,
        },
    ]
}

/// A GCP service account key file (JSON, private key with `\n` escapes).
fn service_account(rng: &mut Rng) -> String {
    let mut body = String::from("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC");
    body.push_str(&rng.b64(32));
    for _ in 0..6 {
        body.push_str("\\n");
        body.push_str(&rng.b64(64));
    }
    format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"shop-prod-4471\",\n  \
         \"private_key_id\": \"{}\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\",\n  \
         \"client_email\": \"deployer@shop-prod-4471.iam.gserviceaccount.com\"\n}}\n",
        rng.pick("0123456789abcdef", 40),
        body
    )
}

/// One file per language: each secret written the way that language writes a literal, and the
/// decoys. Returns (path, content, (line where a secret starts, its last line, its format)).
type Planted = (String, String, Vec<(u32, u32, &'static str)>);

fn plant(lang: &str, secrets: &[Secret]) -> Planted {
    let (path, decoys, open): (&str, &[&str], &str) = match lang {
        "python" => (
            "/app/shop/settings.py",
            &[
                "token = get_unstructured(value)",
                "passwd = fallback_getpass(prompt, stream)",
                "token = random.randrange(sys.maxsize)",
                "password = os.environ[\"DB_PASSWORD_FROM_ENVIRONMENT\"]",
                "api_key: str = settings.API_KEY_FROM_VAULT_STORE",
                "secret_token = f\"{prefix}-{uuid.uuid4().hex}x9\"",
                "if password == confirm_password_field_value: pass",
            ],
            "import os\n",
        ),
        "javascript" => (
            "/app/web/src/config.js",
            &[
                "const token = crypto.randomBytes(32).toString('hex');",
                "const apiKey = process.env.API_KEY_FROM_ENVIRONMENT;",
                "let password = `${user}:${readPasswordFromFile(path)}`;",
                "module.exports = { secret: config.get('session.secret.value') };",
            ],
            "'use strict';\n",
        ),
        "typescript" => (
            "/app/web/src/settings.ts",
            &[
                "export const authToken: string = getAuthTokenFromKeychain();",
                "const secretKey = options.secretKey ?? defaults.secretKey2;",
                "private readonly password = this.vault.read('db/password');",
            ],
            "import { env } from 'process';\n",
        ),
        "go" => (
            "/srv/api/config.go",
            &[
                "\ttoken := os.Getenv(\"API_TOKEN_FROM_ENVIRONMENT\")",
                "\tpassword, err := readSecretFile(\"/run/secrets/db_password\")",
                "\tvar apiKey string = cfg.Section(\"api\").Key(\"key\").String()",
            ],
            "package config\n",
        ),
        "java" => (
            "/opt/app/src/main/java/shop/Config.java",
            &[
                "    String password = System.getenv(\"DB_PASSWORD_FROM_ENV\");",
                "    private final String apiToken = tokenProvider.nextToken(64);",
                "    char[] secretKey = keyStore.getKeyPassword(alias2).toCharArray();",
            ],
            "package shop;\nclass Config {\n",
        ),
        "shell" => (
            "/usr/local/bin/start-app.sh",
            &[
                "TOKEN=$(cat /run/secrets/api_token_file)",
                "export DB_PASSWORD=\"${DB_PASSWORD_FROM_VAULT:-}\"",
                "API_KEY=`vault read -field=key secret/api2`",
            ],
            "#!/bin/sh\nset -eu\n",
        ),
        "yaml" => (
            "/etc/shop/config.yaml",
            &[
                "password: ${DB_PASSWORD_FROM_ENVIRONMENT}",
                "api_token: \"{{ .Values.apiToken2 }}\"",
                "secret_key: !vault |",
            ],
            "shop:\n",
        ),
        "json" => (
            "/etc/shop/config.json",
            &[
                "\"password_ref\": \"vault:secret/data/db#password2\",",
                "\"api_token\": null,",
            ],
            "{\n",
        ),
        "env" => (
            "/app/.env",
            &[
                "API_KEY=${VAULT_API_KEY_FROM_ENVIRONMENT}",
                "DB_PASSWORD=$DB_PASSWORD_FROM_ENVIRONMENT",
            ],
            "NODE_ENV=production\n",
        ),
        "properties" => (
            "/opt/app/config/application.properties",
            &[
                "spring.datasource.password=${DB_PASSWORD_FROM_ENVIRONMENT}",
                "app.jwt.secret=${JWT_SECRET_FROM_VAULT_2}",
            ],
            "server.port=8080\n",
        ),
        _ => unreachable!(),
    };
    let mut text = String::from(open);
    if lang == "json" {
        text.push_str("  \"note\": \"synthetic credentials generated by rampart's tests\",\n");
    }
    let mut lines = Vec::new();
    let line_no = |t: &str| t.matches('\n').count() as u32 + 1;
    for d in decoys {
        let indent = if matches!(lang, "yaml" | "json") {
            "  "
        } else {
            ""
        };
        writeln!(text, "{indent}{d}").unwrap();
    }
    for (i, s) in secrets.iter().enumerate() {
        let multi = s.value.contains('\n');
        let esc = s.value.replace('\n', "\\n");
        let var = s.name;
        let (line, extra) = match lang {
            "python" if multi => (format!("{var} = \"\"\"{}\n\"\"\"", s.value), 0),
            "python" => (format!("{var} = \"{}\"", s.value), 0),
            "javascript" if multi => (format!("const {var} = `{}`;", s.value), 0),
            "javascript" => (format!("const {var} = '{}';", s.value), 0),
            "typescript" if multi => (format!("export const {var}: string = `{}`;", s.value), 0),
            "typescript" => (format!("export const {var}: string = \"{}\";", s.value), 0),
            "go" if multi => (format!("const {var} = `{}`", s.value), 0),
            "go" if i % 2 == 0 => (format!("var {var} = \"{}\"", s.value), 0),
            "go" => (format!("func init() {{ cfg.{var} := \"{}\" }}", s.value), 0),
            "java" if multi => {
                let parts: Vec<String> = s
                    .value
                    .lines()
                    .map(|l| format!("        \"{l}\\n\""))
                    .collect();
                (
                    format!("    static final String {var} =\n{};", parts.join(" +\n")),
                    1,
                )
            }
            "java" => (
                format!("    static final String {var} = \"{}\";", s.value),
                0,
            ),
            "shell" if multi => (format!("cat > /tmp/{var}.pem <<'EOF'\n{}\nEOF", s.value), 1),
            "shell" => (format!("export {var}='{}'", s.value), 0),
            "yaml" if multi => {
                let body: Vec<String> = s.value.lines().map(|l| format!("    {l}")).collect();
                (format!("  {var}: |\n{}", body.join("\n")), 1)
            }
            "yaml" => (format!("  {var}: {}", s.value), 0),
            "json" => (format!("  \"{var}\": \"{esc}\",",), 0),
            "env" if multi => (format!("{var}=\"{esc}\""), 0),
            "env" => (format!("{var}={}", s.value), 0),
            "properties" if multi => {
                let body: Vec<String> = s.value.lines().map(|l| format!("  {l}\\n\\")).collect();
                (
                    format!(
                        "{}={}",
                        var.to_lowercase().replace('_', "."),
                        body.join("\n").trim_start()
                    ),
                    0,
                )
            }
            "properties" => (
                format!("{}={}", var.to_lowercase().replace('_', "."), s.value),
                0,
            ),
            _ => unreachable!(),
        };
        let first = line_no(&text) + extra;
        let last = first + s.value.lines().count() as u32 - 1;
        lines.push((first, last, s.format));
        writeln!(text, "{line}").unwrap();
    }
    if lang == "json" {
        text.push_str("  \"end\": true\n}\n");
    }
    if lang == "java" {
        text.push_str("}\n");
    }
    (path.to_owned(), text, lines)
}

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn img008_precision_and_recall() {
    let t0 = Instant::now();
    let dir = corpus();
    let prepared = t0.elapsed();
    let mut report = String::new();

    // Precision 1: the image as rampart scans it.
    let t = Instant::now();
    let clean = img008(&dir);
    let scan_time = t.elapsed();
    let mut by_tree: BTreeMap<(&str, Severity), usize> = BTreeMap::new();
    for f in &clean {
        *by_tree
            .entry((tree(&f.location.file), f.severity))
            .or_default() += 1;
    }
    let false_criticals: Vec<&Finding> = clean
        .iter()
        .filter(|f| f.severity > Severity::Low)
        .collect();
    writeln!(
        report,
        "clean trees, image scan ({scan_time:.2?}): IMG008 by tree and severity"
    )
    .unwrap();
    for ((tree, sev), n) in &by_tree {
        writeln!(report, "  {tree:40} {sev:?}: {n}").unwrap();
    }
    assert!(
        clean
            .iter()
            .filter(|f| f.severity == Severity::Low)
            .all(|f| f.message.contains("test fixture") || f.message.contains("documentation")),
        "a low finding without its reason"
    );

    // Precision 2: every text file, as if nothing were skipped.
    let t = Instant::now();
    let files = text_files(&dir);
    let mut content_hits: BTreeMap<(&str, bool), usize> = BTreeMap::new();
    let mut content_false = Vec::new();
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let found: Vec<(String, rampart_secrets::Hit)> = std::thread::scope(|s| {
        let workers: Vec<_> = files
            .chunks(files.len().div_ceil(2).max(1))
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .flat_map(|(path, text)| {
                            rampart_secrets::scan_file(path, text)
                                .into_iter()
                                .map(|h| (path.clone(), h))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    for (path, h) in &found {
        *content_hits
            .entry((tree(path), h.fixture.is_some()))
            .or_default() += 1;
        if h.fixture.is_none() && !PUBLISHED.iter().any(|(p, _)| p == path) {
            content_false.push(format!(
                "{path}:{}:{} {} {}",
                h.line, h.column, h.kind, h.redacted
            ));
        }
    }
    let content_time = t.elapsed();
    writeln!(
        report,
        "clean trees, content rules on all {} text files ({} MB, {content_time:.2?}): hits by tree (fixture?)",
        files.len(),
        bytes >> 20
    )
    .unwrap();
    for ((tree, fixture), n) in &content_hits {
        let what = if *fixture {
            "test fixture (low)"
        } else {
            "not a fixture"
        };
        writeln!(report, "  {tree:40} {what}: {n}").unwrap();
    }

    // Recall: planted secrets in every language, with decoys.
    let planted_dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5EC2_E75E_ED00_1337);
    let set = secrets(&mut rng);
    let mut expected: Vec<(String, u32, &str)> = Vec::new();
    let mut last_lines: Vec<u32> = Vec::new();
    for lang in [
        "python",
        "javascript",
        "typescript",
        "go",
        "java",
        "shell",
        "yaml",
        "json",
        "env",
        "properties",
    ] {
        let (path, text, lines) = plant(lang, &set);
        write(planted_dir.path(), &path, &text);
        for (first, last, format) in lines {
            expected.push((path.clone(), first, format));
            last_lines.push(last);
        }
    }
    write(
        planted_dir.path(),
        "/app/keys/gcp-deployer.json",
        &service_account(&mut rng),
    );
    expected.push((
        "/app/keys/gcp-deployer.json".into(),
        5,
        "GCP service account",
    ));
    last_lines.push(8);
    assert_eq!(expected.len(), last_lines.len());
    // bench/secrets.sh scans the same planted files with rampart and Trivy.
    if let Some(keep) = std::env::var_os("RAMPART_SECRETS_PLANTED") {
        let keep = PathBuf::from(keep);
        let mut tsv = String::new();
        for ((path, line, format), last) in expected.iter().zip(&last_lines) {
            // the GCP key file is one secret: any line of it
            let first = if path.ends_with(".json") && format.starts_with("GCP") {
                1
            } else {
                *line
            };
            writeln!(tsv, "{path}\t{first}\t{last}\t{format}").unwrap();
            let from = planted_dir.path().join(path.trim_start_matches('/'));
            write(
                &keep.join("rootfs"),
                path,
                &std::fs::read_to_string(from).unwrap(),
            );
        }
        std::fs::write(keep.join("expected.tsv"), tsv).unwrap();
    }
    let planted = img008(planted_dir.path());
    let mut missed = Vec::new();
    for (path, line, format) in &expected {
        let hit = planted
            .iter()
            .find(|f| &f.location.file == path && f.location.line == *line);
        match hit {
            Some(f) if f.severity == Severity::Critical => {}
            Some(f) => missed.push(format!("{path}:{line} {format}: found as {:?}", f.severity)),
            None => missed.push(format!("{path}:{line} {format}")),
        }
    }
    let stray: Vec<String> = planted
        .iter()
        .filter(|f| {
            !expected
                .iter()
                .any(|(p, l, _)| &f.location.file == p && f.location.line == *l)
        })
        .map(|f| format!("{}:{} {}", f.location.file, f.location.line, f.message))
        .collect();
    let tp = expected.len() - missed.len();
    let fp = false_criticals.len() + stray.len();
    writeln!(
        report,
        "planted: {} secrets ({} formats x 10 languages + a GCP service account file), {} found, {} decoys reported",
        expected.len(),
        set.len(),
        tp,
        stray.len()
    )
    .unwrap();
    writeln!(
        report,
        "IMG008 precision {:.1}% ({tp} true / {} reported above low), recall {:.1}% ({tp} / {}); corpus ready in {prepared:.2?}, whole test {:.2?}",
        100.0 * tp as f64 / (tp + fp).max(1) as f64,
        tp + fp,
        100.0 * tp as f64 / expected.len() as f64,
        expected.len(),
        t0.elapsed()
    )
    .unwrap();
    for m in &missed {
        writeln!(report, "  missed: {m}").unwrap();
    }
    for m in &stray {
        writeln!(report, "  decoy reported: {m}").unwrap();
    }
    for (p, what) in PUBLISHED {
        writeln!(
            report,
            "  content rules, a credential published in a package: {p} ({what})"
        )
        .unwrap();
    }
    for m in &content_false {
        writeln!(report, "  content rules, not a fixture: {m}").unwrap();
    }
    eprintln!("{report}");
    let shown = |v: &[String]| v.iter().take(40).cloned().collect::<Vec<_>>().join("\n");
    assert!(
        false_criticals.is_empty(),
        "IMG008 above low on clean trees:\n{}",
        false_criticals
            .iter()
            .take(40)
            .map(|f| format!(
                "{:?} {}:{} {}",
                f.severity, f.location.file, f.location.line, f.message
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        content_false.is_empty(),
        "content rules report non-fixture secrets in clean trees:\n{}",
        shown(&content_false)
    );
    assert!(stray.is_empty(), "decoys reported:\n{}", shown(&stray));
    assert!(
        missed.is_empty(),
        "planted secrets missed:\n{}",
        shown(&missed)
    );
}
