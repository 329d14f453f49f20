//! The parser over realistic Dockerfiles: positions, heredocs, directives, substitution, stages.

use rampart_dockerfile::{BaseImage, CommandForm, Healthcheck, Instruction, Kind, Pos, parse};

fn kinds(text: &str) -> Vec<Instruction> {
    let p = parse(text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    p.dockerfile.instructions
}

const GO_SERVICE: &str = r#"# syntax=docker/dockerfile:1.7
# check=error=true

ARG GO_VERSION=1.22
ARG REGISTRY=docker.io
FROM --platform=$BUILDPLATFORM ${REGISTRY}/library/golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# dependencies first, for the cache
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    # comments inside a continuation are skipped
    go mod download

    COPY . .
ARG TARGETOS TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static-debian12:nonroot@sha256:0d8498a0e9e6a60011df39aab78534cfe940785e7c59d19dfae1eb53ea59babe
COPY --from=build --chown=65532:65532 /out/app /app
USER nonroot:nonroot
EXPOSE 8080/tcp
ENTRYPOINT ["/app"]
"#;

#[test]
fn multi_stage_go_service() {
    let p = parse(GO_SERVICE);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let df = &p.dockerfile;
    assert_eq!(df.directive("syntax"), Some("docker/dockerfile:1.7"));
    assert_eq!(df.directive("check"), Some("error=true"));
    assert_eq!(df.global_args.len(), 2);
    assert_eq!(df.stages.len(), 2);
    let build = &df.stages[0];
    assert_eq!(build.name.as_deref(), Some("build"));
    assert_eq!(
        build.from.image.value,
        "docker.io/library/golang:1.22-bookworm"
    );
    assert!(!build.from.image.unresolved);
    assert_eq!(
        build.from.image.pos,
        Pos {
            line: 6,
            column: 32
        }
    );
    let BaseImage::Image(r) = &build.from.base else {
        panic!("{:?}", build.from.base)
    };
    assert_eq!(r.registry.as_deref(), Some("docker.io"));
    assert_eq!(r.repository, "library/golang");
    assert_eq!(r.tag.as_deref(), Some("1.22-bookworm"));
    assert!(
        build
            .from
            .platform
            .as_ref()
            .is_some_and(|p| p.unresolved && p.raw == "$BUILDPLATFORM")
    );
    // The RUN with a comment inside its continuation spans lines 10-12.
    let run = df
        .stage_instructions(build)
        .iter()
        .find(|i| i.line == 10)
        .expect("RUN on line 10");
    assert_eq!(run.end_line, 12);
    assert_eq!(
        run.flag_value("mount"),
        Some("type=cache,target=/go/pkg/mod")
    );
    let Kind::Run(cmd) = &run.kind else { panic!() };
    assert_eq!(cmd.form, CommandForm::Shell("go mod download".into()));
    // Indented instruction keeps its column.
    let copy = df.instructions.iter().find(|i| i.line == 14).expect("COPY");
    assert_eq!(copy.column, 5);
    let fin = &df.stages[1];
    assert!(matches!(&fin.from.base, BaseImage::Image(r) if r.is_pinned()));
    let body = df.stage_instructions(fin);
    assert_eq!(body.len(), 4);
    let Kind::User(u) = &body[1].kind else {
        panic!()
    };
    assert_eq!(
        (u.user.as_str(), u.group.as_deref()),
        ("nonroot", Some("nonroot"))
    );
    let Kind::Entrypoint(e) = &body[3].kind else {
        panic!()
    };
    assert_eq!(e.form, CommandForm::Exec(vec!["/app".into()]));
}

#[test]
fn heredocs() {
    let text = "FROM alpine:3.19\nRUN <<EOF\napk add --no-cache curl\necho done\nEOF\nRUN <<-'SCRIPT' cat > /x && <<TWO sh\n\techo $HOME\n\tSCRIPT\nline two\nTWO\nCOPY <<EOF /etc/motd\nhello\nEOF\nUSER 1\n";
    let ins = kinds(text);
    let Kind::Run(a) = &ins[1].kind else { panic!() };
    assert_eq!(a.heredocs.len(), 1);
    assert_eq!(
        a.heredocs[0].content,
        "apk add --no-cache curl\necho done\n"
    );
    assert_eq!(a.heredocs[0].line, 3);
    assert_eq!((ins[1].line, ins[1].end_line), (2, 5));
    let Kind::Run(b) = &ins[2].kind else { panic!() };
    assert_eq!(b.heredocs.len(), 2);
    assert!(!b.heredocs[0].expand && b.heredocs[0].chomp);
    assert_eq!(b.heredocs[0].content, "echo $HOME\n");
    assert_eq!(b.heredocs[1].name, "TWO");
    assert_eq!(b.heredocs[1].content, "line two\n");
    assert_eq!(ins[2].end_line, 10);
    let Kind::Copy(c) = &ins[3].kind else {
        panic!()
    };
    assert_eq!(c.dest.value, "/etc/motd");
    assert_eq!(c.heredocs[0].content, "hello\n");
    assert_eq!(ins[4].line, 14);
}

#[test]
fn backtick_escape_directive_for_windows() {
    let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN powershell -Command `\n    Write-Host C:\\path\\\nWORKDIR C:\\app\n";
    let p = parse(text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.dockerfile.escape, '`');
    let ins = &p.dockerfile.instructions;
    let Kind::Run(r) = &ins[1].kind else { panic!() };
    assert_eq!(
        r.form,
        CommandForm::Shell("powershell -Command     Write-Host C:\\path\\".into())
    );
    assert_eq!(ins[1].end_line, 4);
    let Kind::Workdir { path } = &ins[2].kind else {
        panic!()
    };
    assert_eq!(path.value, "C:\\app");
}

#[test]
fn directives_only_at_the_top() {
    let p = parse("# a comment\n# escape=`\nFROM x\n");
    assert!(p.dockerfile.directives.is_empty());
    assert_eq!(p.dockerfile.escape, '\\');
    let p = parse("# unknown=1\n# syntax=foo\nFROM x\n");
    assert!(p.dockerfile.directives.is_empty());
    let p = parse("# escape=x\nFROM x\n");
    assert_eq!(p.diagnostics.len(), 1);
    assert!(p.diagnostics[0].message.contains("escape character"));
    let p = parse("#syntax=a\n# SYNTAX = b\nFROM x\n");
    assert_eq!(p.diagnostics.len(), 1, "{:?}", p.diagnostics);
}

#[test]
fn substitution_and_scoping() {
    let text = r#"ARG BASE=debian
ARG TAG=12
FROM ${BASE}:${TAG:-11} AS one
ARG TAG
ENV APP_HOME=/srv/app NAME="my app"
WORKDIR $APP_HOME/${NAME:+sub}
LABEL version="${TAG}" quoted='$TAG' escaped=\$TAG
ENV A=1 B=$A
ENV PATH=$PATH:/x
FROM one
USER ${APP_HOME#/srv/}
FROM scratch
USER ${APP_HOME:-none}
"#;
    let p = parse(text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let df = &p.dockerfile;
    assert_eq!(df.stages[0].from.image.value, "debian:12");
    let i = &df.instructions;
    let Kind::Workdir { path } = &i[5].kind else {
        panic!()
    };
    assert_eq!(path.value, "/srv/app/sub");
    let Kind::Label { pairs } = &i[6].kind else {
        panic!()
    };
    let values: Vec<&str> = pairs.iter().map(|kv| kv.value.value.as_str()).collect();
    assert_eq!(values, ["12", "$TAG", "$TAG"]);
    assert_eq!(
        pairs[1].key_pos,
        Pos {
            line: 7,
            column: 24
        }
    );
    let Kind::Env { pairs } = &i[7].kind else {
        panic!()
    };
    assert_eq!(
        pairs[1].value.value, "",
        "ENV sees the scope before the instruction"
    );
    let Kind::Env { pairs } = &i[8].kind else {
        panic!()
    };
    assert!(pairs[0].value.unresolved, "PATH comes from the base image");
    // FROM one inherits ENV.
    assert!(matches!(df.stages[1].from.base, BaseImage::Stage(0)));
    let Kind::User(u) = &i[10].kind else { panic!() };
    assert_eq!(u.user, "app");
    // scratch: nothing inherited, nothing unknown.
    let Kind::User(u) = &i[12].kind else { panic!() };
    assert_eq!((u.user.as_str(), u.word.unresolved), ("none", false));
}

#[test]
fn onbuild_healthcheck_case_and_forms() {
    let text = "from node:20 as Base\nonbuild copy . /app\nOnBuild RUN npm ci\nhealthcheck --interval=10s --retries=3 CMD [\"node\", \"hc.js\"]\nCMD [\"node\", \"server.js\"\nSHELL [\"/bin/bash\", \"-c\"]\nVOLUME /data /logs\nVOLUME [\"/cache\"]\nSTOPSIGNAL SIGTERM\nEXPOSE 8000-8010/udp 9090\n";
    let p = parse(text);
    let df = &p.dockerfile;
    assert_eq!(df.stages[0].name.as_deref(), Some("base"));
    let i = &df.instructions;
    let Kind::Onbuild(inner) = &i[1].kind else {
        panic!()
    };
    assert!(matches!(&inner.kind, Kind::Copy(c) if c.dest.value == "/app"));
    assert_eq!(inner.column, 9);
    assert!(matches!(&i[2].kind, Kind::Onbuild(inner) if matches!(inner.kind, Kind::Run(_))));
    let Kind::Healthcheck(Healthcheck::Cmd(c)) = &i[3].kind else {
        panic!()
    };
    assert_eq!(
        c.form,
        CommandForm::Exec(vec!["node".into(), "hc.js".into()])
    );
    assert_eq!(i[3].flag_value("retries"), Some("3"));
    // Unterminated JSON: shell form, with a diagnostic.
    assert!(matches!(&i[4].kind, Kind::Cmd(c) if matches!(c.form, CommandForm::Shell(_))));
    assert_eq!(p.diagnostics.len(), 1, "{:?}", p.diagnostics);
    assert_eq!(p.diagnostics[0].line, 5);
    assert!(p.diagnostics[0].message.contains("JSON array"));
    assert!(matches!(&i[5].kind, Kind::Shell { argv } if argv.len() == 2));
    assert!(matches!(&i[6].kind, Kind::Volume { paths } if paths.len() == 2));
    assert!(matches!(&i[7].kind, Kind::Volume { paths } if paths[0].value == "/cache"));
    assert!(
        matches!(&i[9].kind, Kind::Expose { ports } if ports.len() == 2 && ports[1].pos.column == 22)
    );
}

#[test]
fn problems_are_reported_and_parsing_goes_on() {
    let text = "RUN echo before\nFROM\nFROM alpine:3.19 AS a\nFROM alpine:3.19 AS a\nFOO bar\nCOPY onlyone\nENV KEY\nUSER\nEXPOSE http\nHEALTHCHECK maybe\nONBUILD FROM x\nARG 9-bad\nFROM Bad/Image\nRUN echo after\n";
    let p = parse(text);
    let lines: Vec<u32> = p.diagnostics.iter().map(|d| d.line).collect();
    assert_eq!(
        lines,
        [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
        "{:#?}",
        p.diagnostics
    );
    for d in &p.diagnostics {
        assert!(
            d.message
                .starts_with(|c: char| c.is_lowercase() || c == '`')
                || d.message.starts_with("expected"),
            "{}",
            d.message
        );
        assert!(!d.message.ends_with('.'), "{}", d.message);
        assert!(
            d.message.contains("expected") || d.message.contains("unknown"),
            "{}",
            d.message
        );
    }
    let last = p.dockerfile.instructions.last().expect("instructions");
    assert_eq!(last.line, 14);
    assert!(
        p.diagnostics
            .iter()
            .any(|d| d.message.contains("unknown instruction `FOO`"))
    );
}

#[test]
fn crlf_bom_and_empty_continuation_lines() {
    let text = "\u{feff}FROM alpine:3.19\r\nRUN apk add \\\r\n\r\n    curl\r\nUSER 1\r\n";
    let i = kinds(text);
    assert_eq!(i[0].column, 1);
    let Kind::Run(r) = &i[1].kind else { panic!() };
    assert_eq!(r.form, CommandForm::Shell("apk add     curl".into()));
    assert_eq!((i[1].line, i[1].end_line), (2, 4));
    assert_eq!(i[2].line, 5);
}

#[test]
fn positions_of_continued_env_values() {
    let text = "FROM alpine:3.19\nENV A=1 \\\n    SECRET_TOKEN=\"x y\" \\\n  \u{e9}=2\n";
    let i = kinds(text);
    let Kind::Env { pairs } = &i[1].kind else {
        panic!()
    };
    assert_eq!(pairs[1].key, "SECRET_TOKEN");
    assert_eq!(pairs[1].key_pos, Pos { line: 3, column: 5 });
    assert_eq!(
        pairs[1].value.pos,
        Pos {
            line: 3,
            column: 18
        }
    );
    assert_eq!(pairs[1].value.value, "x y");
    assert_eq!(
        pairs[2].value.pos,
        Pos { line: 4, column: 5 },
        "columns count characters"
    );
}

#[test]
fn copy_from_and_flags() {
    let text = "FROM rust:1.77 AS build\nFROM debian:12\nCOPY --from=build --chmod=755 --link /a /b /dst/\nADD --keep-git-dir=true https://github.com/a/b.git /src\nRUN --network=none --security=sandbox true\n";
    let i = kinds(text);
    assert_eq!(i[2].flags.len(), 3);
    assert_eq!(i[2].flag_value("from"), Some("build"));
    assert!(i[2].flags[2].value.is_none());
    assert_eq!(
        i[2].flags[1].pos,
        Pos {
            line: 3,
            column: 19
        }
    );
    let Kind::Copy(c) = &i[2].kind else { panic!() };
    assert_eq!(c.sources.len(), 2);
    assert_eq!(i[4].flag_value("network"), Some("none"));
}

#[test]
fn dockerfile_names() {
    use rampart_dockerfile::is_dockerfile_name;
    for n in [
        "Dockerfile",
        "dockerfile",
        "Containerfile",
        "api.Dockerfile",
        "Dockerfile.prod",
        "DOCKERFILE.alpine",
        "build/Dockerfile.dev",
        "Dockerfile2",
        "Dockerfile_windows",
        "Dockerfile-dev",
        "Dockerfile_windows.1809",
    ] {
        assert!(is_dockerfile_name(n), "{n}");
    }
    for n in [
        "Dockerfile.md",
        "Dockerfile.dockerignore",
        "Dockerfile.j2",
        "Dockerfile.",
        ".Dockerfile",
        "Dockerfiles",
        "MyDockerfile",
        "docker-compose.yml",
        "dockerfile_test.go",
        "Dockerfile-lint.sh",
        "Dockerfile_notes.md",
    ] {
        assert!(!is_dockerfile_name(n), "{n}");
    }
}
