//! Property tests: `parse` never panics and its positions stay inside the input.

use proptest::prelude::*;
use rampart_dockerfile::{Instruction, Kind, Parsed, ScanInput, parse, scan};

const SEEDS: [&str; 4] = [
    "# syntax=docker/dockerfile:1\nARG V=1.22\nFROM golang:${V} AS build\nWORKDIR /src\nCOPY --link go.* ./\nRUN --mount=type=cache,target=/root/.cache \\\n  # comment\n  go build -o /app\nFROM gcr.io/distroless/static:nonroot\nCOPY --from=build /app /app\nUSER 65532\nENTRYPOINT [\"/app\"]\n",
    "# escape=`\nFROM mcr.microsoft.com/windows/nanoserver:ltsc2022\nRUN dir `\n  c:\\\nENV A=\"b c\" D='e'\nONBUILD RUN echo hi\n",
    "FROM alpine:3.19\nRUN <<EOF\napk add curl\nEOF\nCOPY <<-\"X\" <<Y /dst\n\ta\n\tX\nb\nY\nHEALTHCHECK CMD wget -q localhost || exit 1\nEXPOSE 22 80/udp\nLABEL a=b \"c d\"=e\nCMD [\"sh\", \"-c\", \"x\"\n",
    "ARG BASE\nFROM ${BASE:-debian:12}\nENV PATH=$PATH:/opt/bin TOKEN=${SECRET:?missing}\nUSER ${U:-root}:${G}\nADD https://x/y.tgz /\nMAINTAINER me\nSTOPSIGNAL SIGKILL\nVOLUME [\"/v\"]\nSHELL [\"bash\"]\n",
];

fn lines_in(text: &str) -> u32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    u32::try_from(text.split('\n').count()).unwrap_or(u32::MAX)
}

fn check_instruction(i: &Instruction, max: u32) -> Result<(), TestCaseError> {
    prop_assert!(i.line >= 1 && i.line <= max, "line {} of {max}", i.line);
    prop_assert!(
        i.end_line >= i.line && i.end_line <= max,
        "end {} of {max}",
        i.end_line
    );
    prop_assert!(i.column >= 1);
    for f in &i.flags {
        prop_assert!(f.pos.line >= i.line && f.pos.line <= i.end_line);
    }
    if let Kind::Onbuild(inner) = &i.kind {
        check_instruction(inner, max)?;
    }
    Ok(())
}

fn check(text: &str, p: &Parsed) -> Result<(), TestCaseError> {
    let max = lines_in(text);
    for i in &p.dockerfile.instructions {
        check_instruction(i, max)?;
    }
    for d in &p.diagnostics {
        prop_assert!(
            d.line >= 1 && d.line <= max,
            "diagnostic line {} of {max}",
            d.line
        );
        prop_assert!(!d.message.is_empty());
    }
    for s in &p.dockerfile.stages {
        prop_assert!(p.dockerfile.stage_from(s).is_some());
        prop_assert!(s.body.end <= p.dockerfile.instructions.len());
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (
            any::<usize>(),
            prop_oneof![
                Just("\\".to_owned()),
                Just("\n".to_owned()),
                Just("<<EOF".to_owned()),
                Just("${".to_owned()),
                Just("}".to_owned()),
                Just("\"".to_owned()),
                Just("'".to_owned()),
                Just("[".to_owned()),
                Just("--".to_owned()),
                Just("#".to_owned()),
                Just("`".to_owned()),
                Just("\0".to_owned()),
                Just("\r".to_owned()),
                Just("é".to_owned()),
                ".{0,8}"
            ]
        )
            .prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<usize>(), 0usize..20).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut t = text.to_owned();
    for e in edits {
        let boundary = |t: &str, i: usize| {
            let mut i = i % (t.len() + 1);
            while !t.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        match e {
            Edit::Insert(i, s) => {
                let i = boundary(&t, *i);
                t.insert_str(i, s);
            }
            Edit::Delete(i, n) => {
                let a = boundary(&t, *i);
                let b = boundary(&t, a.saturating_add(*n).min(t.len()));
                if a < b {
                    t.replace_range(a..b, "");
                }
            }
            Edit::DuplicateLine(i) => {
                let mut lines: Vec<String> = t.split('\n').map(str::to_owned).collect();
                let i = i % lines.len();
                let l = lines[i].clone();
                lines.insert(i, l);
                t = lines.join("\n");
            }
            Edit::SwapLines(a, b) => {
                let mut lines: Vec<String> = t.split('\n').map(str::to_owned).collect();
                let n = lines.len();
                lines.swap(a % n, b % n);
                t = lines.join("\n");
            }
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        let p = parse(&text);
        check(&text, &p)?;
        let _ = scan(&ScanInput { path: "Dockerfile", text: &text, has_dockerignore: false });
    }

    #[test]
    fn dockerfile_shaped_strings_never_panic(text in "(FROM|RUN|ENV|ARG|COPY|USER|ONBUILD|#|\\\\|<<EOF|EOF|\\$\\{|\\}|:-|\"|'|\\[|\\]|=| |\n|a|--x=|@sha256:|AS b){0,60}") {
        let p = parse(&text);
        check(&text, &p)?;
        let _ = scan(&ScanInput { path: "Dockerfile", text: &text, has_dockerignore: true });
    }

    #[test]
    fn mutated_real_dockerfiles_never_panic(seed in 0usize..SEEDS.len(), edits in proptest::collection::vec(edit(), 1..12)) {
        let text = apply(SEEDS[seed % SEEDS.len()], &edits);
        let p = parse(&text);
        check(&text, &p)?;
        let _ = scan(&ScanInput { path: "Dockerfile", text: &text, has_dockerignore: false });
    }
}
