//! Every rule: metadata, its own examples, and a table of positive and negative fixtures.

use rampart_core::{Assessment, Layer, RuleTarget, Severity};
use rampart_dockerfile::{ScanInput, rules, scan};
use std::collections::{BTreeMap, BTreeSet};

fn run(text: &str, has_dockerignore: bool) -> Assessment {
    scan(&ScanInput {
        path: "svc/Dockerfile",
        text,
        has_dockerignore,
    })
    .0
}

/// Lines at which `id` fired.
fn lines(a: &Assessment, id: &str) -> Vec<u32> {
    a.findings
        .iter()
        .filter(|f| f.rule_id == id)
        .map(|f| f.location.line)
        .collect()
}

#[test]
fn catalog_is_complete_and_ids_are_unique() {
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    for r in rules() {
        assert!(ids.insert(r.id), "duplicate id {}", r.id);
        assert!(names.insert(r.name), "duplicate name {}", r.name);
        assert!(
            r.id.len() == 5
                && r.id.starts_with("DF")
                && r.id[2..].chars().all(|c| c.is_ascii_digit()),
            "bad id {}",
            r.id
        );
        assert!(
            r.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}: name not kebab-case",
            r.id
        );
        assert_eq!(r.target, RuleTarget::Dockerfile, "{}", r.id);
        for (field, v) in [
            ("title", r.title),
            ("rationale", r.rationale),
            ("remediation", r.remediation),
            ("bad_example", r.bad_example),
            ("good_example", r.good_example),
        ] {
            assert!(!v.trim().is_empty(), "{}: empty {field}", r.id);
        }
        assert!(!r.references.is_empty(), "{}: no references", r.id);
        for re in r.references {
            assert!(re.url.starts_with("https://"), "{}: {}", r.id, re.url);
        }
    }
    // Ids are dense and in order: DF001..DFnnn.
    let expected: Vec<String> = (1..=rules().len()).map(|i| format!("DF{i:03}")).collect();
    let got: Vec<String> = rules().iter().map(|r| r.id.to_owned()).collect();
    assert_eq!(got, expected);
}

#[test]
fn every_bad_example_fires_and_every_good_example_does_not() {
    for r in rules() {
        let bad = run(r.bad_example, false);
        assert!(
            !lines(&bad, r.id).is_empty(),
            "{} {}: bad_example does not fire",
            r.id,
            r.name
        );
        let good = run(r.good_example, false);
        assert!(
            lines(&good, r.id).is_empty(),
            "{} {}: good_example fires: {:?}",
            r.id,
            r.name,
            good.findings
                .iter()
                .filter(|f| f.rule_id == r.id)
                .map(|f| &f.message)
                .collect::<Vec<_>>()
        );
        let (_, diags) = scan(&ScanInput {
            path: "x",
            text: r.bad_example,
            has_dockerignore: false,
        });
        assert!(
            diags.is_empty(),
            "{}: bad_example has parse problems: {diags:?}",
            r.id
        );
        let (_, diags) = scan(&ScanInput {
            path: "x",
            text: r.good_example,
            has_dockerignore: false,
        });
        assert!(
            diags.is_empty(),
            "{}: good_example has parse problems: {diags:?}",
            r.id
        );
    }
}

#[test]
fn layers_are_the_documented_ones() {
    let layer = |id: &str| rules().iter().find(|r| r.id == id).map(|r| r.layer);
    assert_eq!(layer("DF001"), Some(Layer::Build));
    assert_eq!(layer("DF002"), Some(Layer::SupplyChain));
    assert_eq!(layer("DF006"), Some(Layer::Access));
    assert_eq!(layer("DF017"), Some(Layer::Network));
    let sev = |id: &str| rules().iter().find(|r| r.id == id).map(|r| r.severity);
    assert!(
        sev("DF003") > sev("DF002"),
        "latest is worse than no digest"
    );
}

/// (rule, Dockerfile, has .dockerignore, expected lines: empty = must not fire).
type Case = (&'static str, &'static str, bool, &'static [u32]);

const CASES: &[Case] = &[
    // DF001 root-user
    ("DF001", "FROM debian:12\nRUN true\n", false, &[1]),
    (
        "DF001",
        "FROM debian:12\nUSER app\nUSER root\n",
        false,
        &[3],
    ),
    ("DF001", "FROM debian:12\nUSER 0:0\n", false, &[2]),
    (
        "DF001",
        "FROM debian:12\nARG RUNAS=root\nUSER $RUNAS\n",
        false,
        &[3],
    ),
    (
        "DF001",
        "FROM debian:12\nARG RUNAS\nUSER ${RUNAS:-root}\n",
        false,
        &[3],
    ),
    ("DF001", "FROM debian:12\nENV U=0\nUSER ${U}\n", false, &[3]),
    (
        "DF001",
        "FROM debian:12 AS base\nUSER root\nFROM base\nRUN id\n",
        false,
        &[2],
    ),
    ("DF001", "FROM scratch\nCOPY app /app\n", false, &[1]),
    (
        "DF001",
        "FROM debian:12\nUSER root\nRUN apt-get update\nUSER 10001\n",
        false,
        &[],
    ),
    (
        "DF001",
        "FROM golang:1.22 AS build\nRUN go build\nFROM debian:12\nUSER nobody\n",
        false,
        &[],
    ),
    (
        "DF001",
        "FROM debian:12 AS base\nUSER app\nFROM base\nRUN id\n",
        false,
        &[],
    ),
    (
        "DF001",
        "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY app /app\n",
        false,
        &[],
    ),
    (
        "DF001",
        "FROM cgr.dev/chainguard/static:latest\nCOPY app /app\n",
        false,
        &[],
    ),
    // Hardened runtime variants run as non-root; their -dev build variants as root.
    (
        "DF001",
        "FROM dhi.io/node:24-dev AS b\nRUN npm ci\nFROM dhi.io/node:24\nCOPY --from=b /app /app\n",
        false,
        &[],
    ),
    (
        "DF001",
        "FROM dhi.io/python:3.13-dev\nCOPY . /app\n",
        false,
        &[1],
    ),
    (
        "DF001",
        "FROM cgr.dev/chainguard/python:latest-dev\nCOPY . /app\n",
        false,
        &[1],
    ),
    (
        "DF001",
        "FROM gcr.io/distroless/python3-debian12:debug\nCOPY . /app\n",
        false,
        &[1],
    ),
    ("DF001", "FROM debian:12\nARG UID\nUSER $UID\n", false, &[]),
    ("DF001", "FROM debian:12\nUSER rootless\n", false, &[]),
    // DF002 base-image-not-pinned
    ("DF002", "FROM debian:12\n", false, &[1]),
    (
        "DF002",
        "ARG BASE=python:3.12-slim\nFROM ${BASE} AS app\n",
        false,
        &[2],
    ),
    (
        "DF002",
        "FROM scratch\nCOPY --from=nginx:1.25 /etc/nginx /etc/nginx\n",
        false,
        &[2],
    ),
    (
        "DF002",
        "FROM golang:1.22 AS build\nFROM build\n",
        false,
        &[1],
    ),
    (
        "DF002",
        "FROM debian:12@sha256:0d8498a0e9e6a60011df39aab78534cfe940785e7c59d19dfae1eb53ea59babe\n",
        false,
        &[],
    ),
    ("DF002", "FROM scratch\nCOPY app /app\n", false, &[]),
    ("DF002", "ARG BASE\nFROM $BASE\n", false, &[]),
    // DF003 base-image-latest
    ("DF003", "FROM node\n", false, &[1]),
    ("DF003", "FROM node:latest AS web\n", false, &[1]),
    (
        "DF003",
        "FROM ghcr.io/acme/tool\nRUN x\nFROM alpine:3.19\n",
        false,
        &[1],
    ),
    ("DF003", "FROM node:20\n", false, &[]),
    (
        "DF003",
        "FROM node:latest@sha256:0d8498a0e9e6a60011df39aab78534cfe940785e7c59d19dfae1eb53ea59babe\n",
        false,
        &[],
    ),
    ("DF003", "FROM localhost:5000/app:1.0\n", false, &[]),
    // DF004 build-tools-in-final-image
    (
        "DF004",
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends gcc make libssl-dev && rm -rf /var/lib/apt/lists/*\n",
        false,
        &[2],
    ),
    (
        "DF004",
        "FROM golang:1.22\nCOPY . .\nRUN go build -o /app\n",
        false,
        &[1],
    ),
    (
        "DF004",
        "FROM node:20\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"node\", \"dist/index.js\"]\n",
        false,
        &[1],
    ),
    (
        "DF004",
        "FROM alpine:3.19\nRUN apk add --no-cache build-base\n",
        false,
        &[2],
    ),
    (
        "DF004",
        "FROM debian:12 AS build\nRUN apt-get install -y gcc\nFROM build\nCMD [\"/app\"]\n",
        false,
        &[2],
    ),
    (
        "DF004",
        "FROM debian:12 AS build\nRUN apt-get install -y gcc\nFROM debian:12\nCOPY --from=build /app /app\n",
        false,
        &[],
    ),
    (
        "DF004",
        "FROM alpine:3.19\nRUN apk add --no-cache --virtual .deps gcc musl-dev && make && apk del .deps\n",
        false,
        &[],
    ),
    (
        "DF004",
        "FROM debian:12\nRUN apt-get install -y gcc && make && apt-get purge -y gcc\n",
        false,
        &[],
    ),
    (
        "DF004",
        "FROM python:3.12\nRUN savedAptMark=\"$(apt-mark showmanual)\" && apt-get install -y gcc libpq-dev && pip install psycopg2 && apt-mark auto '.*' && apt-get purge -y --auto-remove\n",
        false,
        &[],
    ),
    (
        "DF004",
        "FROM node:20-slim\nCOPY . .\nRUN npm ci --omit=dev\n",
        false,
        &[],
    ),
    (
        "DF004",
        "FROM golang:1.22 AS build\nRUN go build -o /app\nFROM gcr.io/distroless/static\nCOPY --from=build /app /app\n",
        false,
        &[],
    ),
    // DF005 shell-in-final-image
    ("DF005", "FROM ubuntu:22.04\nUSER 10001\n", false, &[1]),
    (
        "DF005",
        "FROM alpine:3.19\nRUN apk add --no-cache curl\n",
        false,
        &[1],
    ),
    (
        "DF005",
        "FROM golang:1.22 AS b\nRUN go build\nFROM gcr.io/distroless/base-debian12:debug\n",
        false,
        &[3],
    ),
    (
        "DF005",
        "FROM debian:12 AS b\nRUN true\nFROM b AS final\nRUN true\n",
        false,
        &[3],
    ),
    (
        "DF005",
        "FROM gcr.io/distroless/static-debian12\nCOPY app /\n",
        false,
        &[],
    ),
    ("DF005", "FROM scratch\nCOPY app /\n", false, &[]),
    (
        "DF005",
        "FROM debian:12 AS b\nRUN true\nFROM cgr.dev/chainguard/static\nCOPY --from=b /x /x\n",
        false,
        &[],
    ),
    // DF005: hardened and distroless families, one case per family and variant.
    (
        "DF005",
        "FROM dhi.io/node:24\nCOPY app /app\nCMD [\"node\", \"/app/index.js\"]\n",
        false,
        &[],
    ),
    (
        "DF005",
        "FROM dhi.io/node:24-dev AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nFROM dhi.io/node:24\nCOPY --from=build /app /app\n",
        false,
        &[],
    ),
    (
        "DF005",
        "FROM dhi.io/node:24-dev\nCOPY . /app\nUSER 10001\n",
        false,
        &[1],
    ),
    (
        "DF005",
        "FROM dhi.io/golang:1.25-debian13-dev AS b\nRUN go build -o /app\nFROM dhi.io/golang:1.25-debian13\nCOPY --from=b /app /app\n",
        false,
        &[],
    ),
    (
        "DF005",
        "FROM cgr.dev/chainguard/python:latest-dev\nCOPY . /app\n",
        false,
        &[1],
    ),
    (
        "DF005",
        "FROM cgr.dev/chainguard/python:latest-dev AS b\nRUN pip install --no-cache-dir --target /deps flask\nFROM cgr.dev/chainguard/python:latest\nCOPY --from=b /deps /deps\n",
        false,
        &[],
    ),
    (
        "DF005",
        "FROM registry.access.redhat.com/ubi9/ubi-micro:9.6\nCOPY app /app\n",
        false,
        &[1],
    ),
    // DF006 secret-in-env-or-arg
    (
        "DF006",
        "FROM alpine:3.19\nENV DB_PASSWORD=hunter2\n",
        false,
        &[2],
    ),
    (
        "DF006",
        "FROM alpine:3.19\nENV \\\n    APP=1 \\\n    API_KEY=abc\n",
        false,
        &[4],
    ),
    ("DF006", "ARG NPM_TOKEN\nFROM node:20\n", false, &[1]),
    (
        "DF006",
        "FROM node:20 AS build\nARG GITHUB_TOKEN\nRUN npm ci\nFROM node:20-slim\n",
        false,
        &[2],
    ),
    (
        "DF006",
        "FROM alpine:3.19\nENV MYSQL_ROOT_PASSWORD secret-value\n",
        false,
        &[2],
    ),
    (
        "DF006",
        "FROM alpine:3.19\nENV DB_PASSWORD_FILE=/run/secrets/db\n",
        false,
        &[],
    ),
    ("DF006", "FROM alpine:3.19\nENV DB_PASSWORD=\n", false, &[]),
    (
        "DF006",
        "FROM alpine:3.19\nARG TOKEN\nENV TOKEN=$TOKEN\n",
        false,
        &[2],
    ),
    (
        "DF006",
        "FROM alpine:3.19\nENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D PWD=/x TOKENIZERS_PARALLELISM=false\n",
        false,
        &[],
    ),
    (
        "DF006",
        "FROM alpine:3.19\nENV AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n",
        false,
        &[],
    ),
    // DF007 hardcoded-credential
    (
        "DF007",
        "FROM alpine:3.19\nENV AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n",
        false,
        &[2],
    ),
    (
        "DF007",
        "FROM alpine:3.19\nRUN git clone https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/acme/x\n",
        false,
        &[2],
    ),
    (
        "DF007",
        "FROM alpine:3.19\nENV SECRET_KEY=8f3a9c2e7b1d4f6a0e5c3b9d7a2f1e8c\n",
        false,
        &[2],
    ),
    (
        "DF007",
        "FROM alpine:3.19\nCOPY <<EOF /root/.ssh/id_rsa\n-----BEGIN OPENSSH PRIVATE KEY-----\nabc\nEOF\n",
        false,
        &[2],
    ),
    (
        "DF007",
        "FROM alpine:3.19\nRUN curl -u user:${PASSWORD} https://example.com\n",
        false,
        &[],
    ),
    (
        "DF007",
        "FROM alpine:3.19\nENV SECRET_KEY=changeme\n",
        false,
        &[],
    ),
    (
        "DF007",
        "FROM alpine:3.19\nENV GIT_COMMIT=8f3a9c2e7b1d4f6a0e5c3b9d7a2f1e8c\n",
        false,
        &[],
    ),
    // DF008 add-remote-url
    (
        "DF008",
        "FROM alpine:3.19\nADD https://example.com/a.tgz /opt/\n",
        false,
        &[2],
    ),
    (
        "DF008",
        "FROM alpine:3.19\nADD https://github.com/acme/x.git#main /src\n",
        false,
        &[2],
    ),
    (
        "DF008",
        "FROM alpine:3.19\nADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/a.tgz /opt/\n",
        false,
        &[],
    ),
    (
        "DF008",
        "FROM alpine:3.19\nADD https://github.com/acme/x.git#0123456789abcdef0123456789abcdef01234567 /src\n",
        false,
        &[],
    ),
    // DF009 add-instead-of-copy
    (
        "DF009",
        "FROM alpine:3.19\nADD app.py config.yaml /app/\n",
        false,
        &[2],
    ),
    (
        "DF009",
        "FROM alpine:3.19\nADD rootfs.tar.xz /\n",
        false,
        &[],
    ),
    (
        "DF009",
        "FROM alpine:3.19\nADD https://example.com/x /x\n",
        false,
        &[],
    ),
    ("DF009", "FROM alpine:3.19\nADD *.tgz /opt/\n", false, &[]),
    // DF010 copy-context-without-dockerignore
    ("DF010", "FROM node:20\nCOPY . .\n", false, &[2]),
    ("DF010", "FROM node:20\nADD ./ /app\n", false, &[2]),
    ("DF010", "FROM node:20\nCOPY . .\n", true, &[]),
    ("DF010", "FROM node:20\nCOPY src/ /app/src/\n", false, &[]),
    (
        "DF010",
        "FROM node:20 AS b\nFROM node:20\nCOPY --from=b . .\n",
        false,
        &[],
    ),
    // DF011 sudo
    (
        "DF011",
        "FROM debian:12\nRUN apt-get install -y sudo\n",
        false,
        &[2],
    ),
    (
        "DF011",
        "FROM debian:12\nRUN sudo -E apt-get update\n",
        false,
        &[2],
    ),
    (
        "DF011",
        "FROM debian:12\nRUN echo sudo is not here && apt-get install -y gosu\n",
        false,
        &[],
    ),
    // DF012 apt-install-recommends
    (
        "DF012",
        "FROM debian:12\nRUN apt-get update \\\n && apt-get install -y curl\n",
        false,
        &[2],
    ),
    (
        "DF012",
        "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl\n",
        false,
        &[],
    ),
    (
        "DF012",
        "FROM debian:12\nRUN echo 'APT::Install-Recommends \"false\";' > /etc/apt/apt.conf.d/00norec\nRUN apt-get install -y curl\n",
        false,
        &[],
    ),
    (
        "DF012",
        "FROM debian:12 AS build\nRUN apt-get install -y curl\nFROM scratch\n",
        false,
        &[],
    ),
    // DF013 apt-lists-not-removed
    (
        "DF013",
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
        false,
        &[2],
    ),
    (
        "DF013",
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl \\\n    && rm -rf /var/lib/apt/lists/*\n",
        false,
        &[],
    ),
    (
        "DF013",
        "FROM debian:12\nRUN --mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update && apt-get install -y curl\n",
        false,
        &[],
    ),
    (
        "DF013",
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && cd /var/lib && rm -rf apt\n",
        false,
        &[],
    ),
    (
        "DF013",
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && cd /var/lib/apt && rm -rf lists\n",
        false,
        &[],
    ),
    (
        "DF013",
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt\n",
        false,
        &[],
    ),
    (
        "DF013",
        "FROM debian:12\nWORKDIR /var/lib\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf apt/lists\n",
        false,
        &[],
    ),
    (
        "DF013",
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && cd /tmp && rm -rf apt\n",
        false,
        &[2],
    ),
    (
        "DF013",
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && cd /var/lib/apt && rm -rf archives\n",
        false,
        &[2],
    ),
    // DF014 apk-add-cache
    (
        "DF014",
        "FROM alpine:3.19\nRUN apk update && apk add curl\n",
        false,
        &[2],
    ),
    (
        "DF014",
        "FROM alpine:3.19\nRUN apk add --no-cache curl\n",
        false,
        &[],
    ),
    (
        "DF014",
        "FROM alpine:3.19\nRUN apk add curl && rm -rf /var/cache/apk/*\n",
        false,
        &[],
    ),
    // DF015 pip-install-cache
    (
        "DF015",
        "FROM python:3.12\nRUN pip install -r requirements.txt\n",
        false,
        &[2],
    ),
    (
        "DF015",
        "FROM python:3.12\nRUN python3 -m pip install flask\n",
        false,
        &[2],
    ),
    (
        "DF015",
        "FROM python:3.12\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask\n",
        false,
        &[],
    ),
    (
        "DF015",
        "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n",
        false,
        &[],
    ),
    // DF016 world-writable-permissions
    ("DF016", "FROM debian:12\nRUN chmod 777 /app\n", false, &[2]),
    (
        "DF016",
        "FROM debian:12\nRUN mkdir /data && chmod -R a+rwx /data\n",
        false,
        &[2],
    ),
    (
        "DF016",
        "FROM debian:12\nCOPY --chmod=0777 run.sh /run.sh\n",
        false,
        &[2],
    ),
    (
        "DF016",
        "FROM debian:12\nRUN chmod 1777 /scratch && chmod 755 /app && chmod +x /run.sh\n",
        false,
        &[],
    ),
    // DF017 ssh-exposed
    ("DF017", "FROM debian:12\nEXPOSE 80 22/tcp\n", false, &[2]),
    (
        "DF017",
        "FROM debian:12\nRUN apt-get install -y openssh-server\n",
        false,
        &[2],
    ),
    (
        "DF017",
        "FROM debian:12\nARG SSH_PORT=22\nEXPOSE $SSH_PORT\n",
        false,
        &[3],
    ),
    (
        "DF017",
        "FROM debian:12\nEXPOSE 2222 8022 22/udp\n",
        false,
        &[],
    ),
    (
        "DF017",
        "FROM debian:12 AS b\nEXPOSE 22\nFROM debian:12\n",
        false,
        &[],
    ),
    // DF018 missing-healthcheck
    ("DF018", "FROM nginx:1.25\n", false, &[1]),
    ("DF018", "FROM nginx:1.25\nHEALTHCHECK NONE\n", false, &[2]),
    (
        "DF018",
        "FROM nginx:1.25\nHEALTHCHECK --interval=5s CMD curl -f http://localhost/ || exit 1\n",
        false,
        &[],
    ),
    (
        "DF018",
        "FROM nginx:1.25 AS base\nHEALTHCHECK CMD [\"/hc\"]\nFROM base\n",
        false,
        &[],
    ),
    // DF019 pipe-to-shell
    (
        "DF019",
        "FROM debian:12\nRUN curl -fsSL https://get.example.com | sudo bash -s -- --yes\n",
        false,
        &[2],
    ),
    (
        "DF019",
        "FROM debian:12\nRUN wget -qO- https://x/install.sh | tee /tmp/log | sh\n",
        false,
        &[2],
    ),
    (
        "DF019",
        "FROM debian:12\nRUN sh -c \"$(curl -fsSL https://x/install.sh)\"\n",
        false,
        &[2],
    ),
    (
        "DF019",
        "FROM debian:12 AS b\nRUN <<EOF\nset -e\ncurl -sSf https://sh.rustup.rs | sh -s -- -y\nEOF\nFROM scratch\n",
        false,
        &[2],
    ),
    (
        "DF019",
        "FROM debian:12\nRUN curl -fsSL https://x/a.tgz | tar xz -C /opt\n",
        false,
        &[],
    ),
    (
        "DF019",
        "FROM debian:12\nRUN curl -fsSLo /tmp/i.sh https://x/i.sh && sh /tmp/i.sh\n",
        false,
        &[],
    ),
    // DF020 package-upgrade
    (
        "DF020",
        "FROM debian:12\nRUN apt-get update && apt-get -y dist-upgrade\n",
        false,
        &[2],
    ),
    (
        "DF020",
        "FROM alpine:3.19\nRUN apk upgrade --no-cache\n",
        false,
        &[2],
    ),
    (
        "DF020",
        "FROM fedora:40\nRUN dnf -y update && dnf clean all\n",
        false,
        &[2],
    ),
    (
        "DF020",
        "FROM fedora:40\nRUN dnf -y update openssl\n",
        false,
        &[],
    ),
    (
        "DF020",
        "FROM alpine:3.19\nRUN apk upgrade --no-cache openssl\n",
        false,
        &[],
    ),
    // DF021 update-alone
    (
        "DF021",
        "FROM debian:12\nRUN apt-get update\nRUN apt-get install -y curl\n",
        false,
        &[2],
    ),
    (
        "DF021",
        "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n",
        false,
        &[],
    ),
    // DF022 maintainer-deprecated
    (
        "DF022",
        "FROM alpine:3.19\nmaintainer Jane <jane@example.com>\n",
        false,
        &[2],
    ),
    (
        "DF022",
        "FROM alpine:3.19\nLABEL maintainer=jane\n",
        false,
        &[],
    ),
    // DF023 relative-workdir
    ("DF023", "FROM alpine:3.19\nWORKDIR app\n", false, &[2]),
    (
        "DF023",
        "FROM alpine:3.19\nWORKDIR /srv\nWORKDIR app\n",
        false,
        &[],
    ),
    (
        "DF023",
        "FROM alpine:3.19 AS a\nWORKDIR /srv\nFROM a\nWORKDIR app\n",
        false,
        &[],
    ),
    (
        "DF023",
        "FROM alpine:3.19\nARG DIR=/opt/app\nWORKDIR $DIR\n",
        false,
        &[],
    ),
    // DF024 duplicate-cmd-entrypoint
    (
        "DF024",
        "FROM alpine:3.19\nCMD [\"a\"]\nENTRYPOINT [\"b\"]\nCMD [\"c\"]\n",
        false,
        &[2],
    ),
    (
        "DF024",
        "FROM alpine:3.19 AS b\nCMD [\"a\"]\nFROM alpine:3.19\nCMD [\"c\"]\n",
        false,
        &[],
    ),
    // DF025 shell-form-entrypoint
    (
        "DF025",
        "FROM node:20\nENTRYPOINT node server.js\n",
        false,
        &[2],
    ),
    (
        "DF025",
        "FROM node:20 AS base\nCMD npm start\nFROM base\n",
        false,
        &[2],
    ),
    (
        "DF025",
        "FROM node:20\nCMD exec node server.js\n",
        false,
        &[],
    ),
    (
        "DF025",
        "FROM node:20\nCMD [\"node\", \"server.js\"]\n",
        false,
        &[],
    ),
    // DF026 run-cd
    (
        "DF026",
        "FROM alpine:3.19\nRUN cd /src && make\n",
        false,
        &[2],
    ),
    (
        "DF026",
        "FROM alpine:3.19\nRUN git clone x /src && cd /src && make\n",
        false,
        &[],
    ),
    // DF027 sensitive-file-copied
    (
        "DF027",
        "FROM alpine:3.19\nCOPY id_rsa /root/.ssh/id_rsa\n",
        false,
        &[2],
    ),
    (
        "DF027",
        "FROM alpine:3.19\nCOPY .env /app/.env\n",
        false,
        &[2],
    ),
    (
        "DF027",
        "FROM alpine:3.19\nCOPY [\".npmrc\", \"/root/\"]\n",
        false,
        &[2],
    ),
    (
        "DF027",
        "FROM alpine:3.19\nCOPY .env.example /app/.env\n",
        false,
        &[],
    ),
    (
        "DF027",
        "FROM alpine:3.19\nCOPY certs/ca.crt /etc/ssl/\n",
        false,
        &[],
    ),
    // DF028 verification-disabled
    (
        "DF028",
        "FROM debian:12\nRUN curl -fsSLk -o /tmp/x https://example.com/x\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM debian:12\nRUN curl --insecure https://example.com/x\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM debian:12\nRUN wget --no-check-certificate https://example.com/x\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM python:3.12\nRUN pip install --trusted-host pypi.example.com -r requirements.txt\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM node:20\nRUN npm config set strict-ssl false && npm ci\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM alpine/git\nRUN git -c http.sslVerify=false clone https://example.com/r.git\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM debian:12\nENV GIT_SSL_NO_VERIFY=1\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM python:3.12\nENV PYTHONHTTPSVERIFY=0\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM node:20\nARG NODE_TLS_REJECT_UNAUTHORIZED=0\nRUN npm ci\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM node:20\nRUN NODE_TLS_REJECT_UNAUTHORIZED=0 npm ci\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM debian:12\nRUN apt-get update && apt-get install -y --allow-unauthenticated foo\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM fedora:40\nRUN rpm -i --nosignature /tmp/x.rpm\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM fedora:40\nRUN dnf install -y --nogpgcheck foo\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM alpine:3.19\nRUN apk add --allow-untrusted /tmp/x.apk\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM debian:12\nRUN echo 'deb [trusted=yes] http://repo.example/ ./' > /etc/apt/sources.list.d/x.list\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM debian:12 AS build\nRUN curl -k -o /x https://example.com/x\nFROM scratch\nCOPY --from=build /x /x\n",
        false,
        &[2],
    ),
    (
        "DF028",
        "FROM debian:12\nRUN curl -fsSL -o /tmp/k https://example.com/k && curl -K /etc/curl.conf https://example.com\n",
        false,
        &[],
    ),
    (
        "DF028",
        "FROM debian:12\nRUN curl -u kim:pw https://example.com && curl -H 'X-k: 1' https://example.com\n",
        false,
        &[],
    ),
    (
        "DF028",
        "FROM node:20\nENV NODE_TLS_REJECT_UNAUTHORIZED=1 PYTHONHTTPSVERIFY=1\nRUN npm config set strict-ssl true\n",
        false,
        &[],
    ),
    // DF029 password-set-in-image
    (
        "DF029",
        "FROM debian:12\nRUN echo 'root:toor' | chpasswd\n",
        false,
        &[2],
    ),
    (
        "DF029",
        "FROM centos:7\nRUN echo secret | passwd --stdin app\n",
        false,
        &[2],
    ),
    (
        "DF029",
        "FROM debian:12\nRUN usermod -p \"$(openssl passwd -1 pw)\" app\n",
        false,
        &[2],
    ),
    (
        "DF029",
        "FROM debian:12\nRUN useradd -m -p '$6$abc$def' app\n",
        false,
        &[2],
    ),
    (
        "DF029",
        "FROM debian:12\nRUN useradd -m -u 10001 app && passwd -l app && usermod -L app\n",
        false,
        &[],
    ),
    (
        "DF029",
        "FROM debian:12\nRUN useradd -m -p '*' app && passwd -d root\n",
        false,
        &[],
    ),
    // DF030 apt-in-script
    (
        "DF030",
        "FROM debian:12\nRUN apt update && apt install -y curl\n",
        false,
        &[2],
    ),
    (
        "DF030",
        "FROM ubuntu:24.04 AS b\nRUN apt-get update && apt-cache policy curl\n",
        false,
        &[],
    ),
];

#[test]
fn rule_table() {
    let mut failures = Vec::new();
    for (i, (id, text, ignore, expected)) in CASES.iter().enumerate() {
        let got = lines(&run(text, *ignore), id);
        if got != *expected {
            failures.push(format!(
                "case {i} {id}: expected lines {expected:?}, got {got:?}\n{text}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn every_rule_has_positive_and_negative_cases() {
    let mut seen: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (id, _, _, expected) in CASES {
        let e = seen.entry(id).or_default();
        if expected.is_empty() {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    for r in rules() {
        let (pos, neg) = seen.get(r.id).copied().unwrap_or_default();
        assert!(
            pos > 0 && neg > 0,
            "{} needs a positive and a negative case ({pos}, {neg})",
            r.id
        );
    }
}

#[test]
fn findings_in_builder_stages_are_located_and_lowered() {
    let text = "FROM debian:12 AS build\nENV API_TOKEN=abc123\nRUN chmod 777 /x\nFROM gcr.io/distroless/static:nonroot\nCOPY --from=build /x /x\n";
    let a = run(text, true);
    let f = a.findings.iter().find(|f| f.rule_id == "DF016");
    let f = f.map(|f| (f.severity, f.location.stage.clone()));
    assert_eq!(
        f,
        Some((
            Severity::Low,
            Some(rampart_core::Stage {
                index: 0,
                name: Some("build".into()),
                is_final: false
            })
        ))
    );
    let secret = a
        .findings
        .iter()
        .find(|f| f.rule_id == "DF006")
        .map(|f| f.severity);
    assert_eq!(secret, Some(Severity::Medium));
    assert!(
        a.findings.iter().all(|f| !f.message.contains("abc123")),
        "secret value printed"
    );
}

#[test]
fn every_rule_is_assessed_and_one_subject_is_used() {
    let a = run(
        "FROM gcr.io/distroless/static:nonroot\nCOPY app /app\n",
        true,
    );
    let ids: BTreeSet<&str> = a.controls.iter().map(|c| c.rule_id).collect();
    assert_eq!(ids.len(), rules().len());
    assert!(
        a.controls
            .iter()
            .all(|c| c.subject == "Dockerfile svc/Dockerfile" && c.file == "svc/Dockerfile")
    );
    assert!(
        a.findings
            .iter()
            .all(|f| f.subject == "Dockerfile svc/Dockerfile")
    );
    // Not a Dockerfile: nothing is claimed as passed.
    let none = run("hello world\n", false);
    assert!(none.controls.is_empty());
}

#[test]
fn messages_name_the_offending_thing() {
    let a = run(
        "FROM python:3.12\nRUN apt-get update && apt-get install -y gcc curl\nRUN pip install flask\nCMD python app.py\n",
        false,
    );
    let msg = |id: &str| {
        a.findings
            .iter()
            .filter(|f| f.rule_id == id)
            .map(|f| f.message.clone())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(msg("DF001").contains("python:3.12"), "{}", msg("DF001"));
    assert!(msg("DF004").contains("gcc"), "{}", msg("DF004"));
    assert!(msg("DF005").contains("curl (line 2)"), "{}", msg("DF005"));
    assert!(
        msg("DF015").contains("pip install flask"),
        "{}",
        msg("DF015")
    );
    assert!(msg("DF025").contains("python app.py"), "{}", msg("DF025"));
}

#[test]
fn a_typical_careless_dockerfile() {
    let text = r#"FROM python:latest
MAINTAINER dev@example.com
ENV DJANGO_SECRET_KEY=not-so-secret
RUN apt-get update
RUN apt-get install -y build-essential libpq-dev curl
RUN curl -sSL https://install.python-poetry.org | python3 -
WORKDIR app
COPY . .
RUN pip install -r requirements.txt && chmod -R 777 /app
EXPOSE 8000 22
CMD python manage.py runserver 0.0.0.0:8000
"#;
    let a = run(text, false);
    let ids: BTreeSet<&str> = a.findings.iter().map(|f| f.rule_id).collect();
    let expected: BTreeSet<&str> = [
        "DF001", "DF002", "DF003", "DF004", "DF005", "DF006", "DF010", "DF012", "DF013", "DF015",
        "DF016", "DF017", "DF018", "DF019", "DF021", "DF022", "DF023", "DF025",
    ]
    .into_iter()
    .collect();
    assert_eq!(ids, expected);
}
