//! kube-bench's own unit tests (`check/test_test.go`, `check/check_test.go`, transcribed as
//! facts in the corpus's `check-cases.json`) run on rampart's evaluator, over kube-bench's own
//! test controls file `check/data`; and every controls file of cis-1.12 and cis-1.20 loads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_cis::{
    BinOp, Check, CheckType, Controls, Input, Op, State, TestItem, Tests, compare, evaluate,
};
use rampart_testkit::paths::corpus;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

fn cases() -> Value {
    let text = std::fs::read_to_string(corpus("kube-bench/check-cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn data() -> Controls {
    rampart_cis::load(corpus("kube-bench/check/data")).unwrap()
}

fn check_at<'c>(controls: &'c Controls, case: &Value) -> &'c Check {
    let g = case["group_index"].as_u64().unwrap() as usize;
    let c = case["check_index"].as_u64().unwrap() as usize;
    let group = &controls.groups[g];
    assert_eq!(group.id, case["group_id"].as_str().unwrap());
    let check = &group.checks[c];
    assert_eq!(check.id, case["check_id"].as_str().unwrap());
    assert_eq!(check.text, case["check_text"].as_str().unwrap());
    check
}

fn s<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key].as_str().unwrap_or("")
}

/// kube-bench's `TestTestExecute`: the outputs are given, the check must pass with exactly
/// this sentence.
#[test]
fn test_execute() {
    let controls = data();
    let all = cases();
    let cases = all["test_execute"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 37);
    for case in cases {
        let check = check_at(&controls, case);
        let input = Input {
            command: s(case, "audit_output"),
            config: (!check.audit_config.is_empty()).then(|| s(case, "audit_config_output")),
            env: s(case, "audit_env_output"),
            error: None,
        };
        let outcome = evaluate(check, &input);
        let expected = &case["expected"];
        assert_eq!(
            outcome.state == State::Pass,
            expected["test_result"].as_bool().unwrap(),
            "{}: {outcome:?}",
            check.text
        );
        assert_eq!(
            outcome.expected,
            expected["expected_result_text"].as_str().unwrap(),
            "{}",
            check.text
        );
    }
}

/// `TestTestExecuteExceptions`: malformed configurations and unmatched paths never pass.
#[test]
fn test_execute_exceptions() {
    let controls = data();
    let all = cases();
    let cases = all["test_execute_exceptions"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let check = check_at(&controls, case);
        let input = Input {
            command: "",
            config: (!check.audit_config.is_empty()).then(|| s(case, "audit_config_output")),
            env: "",
            error: None,
        };
        let outcome = evaluate(check, &input);
        assert_ne!(outcome.state, State::Pass, "{}: {outcome:?}", check.text);
        assert!(!case["expected"]["test_result"].as_bool().unwrap());
    }
}

/// `TestCompareOp`: one comparison, its result and its sentence.
#[test]
fn compare_op() {
    let all = cases();
    let cases = all["compare_op"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 70);
    for case in cases {
        let (text, result) = compare(
            &Op::parse(s(case, "op")),
            s(case, "flag_value"),
            s(case, "compare_value"),
            s(case, "flag_name"),
        );
        let expected = &case["expected"];
        assert_eq!(
            result,
            expected["test_result"].as_bool().unwrap(),
            "{}",
            case["label"]
        );
        assert_eq!(
            text,
            expected["expected_result_text"].as_str().unwrap(),
            "{}",
            case["label"]
        );
    }
}

/// What kube-bench's audits print: each snippet fed to `/bin/sh` on its standard input,
/// standard output and error together; a failure says its exit status.
fn run_audit(audit: &str) -> Result<String, String> {
    let audit = audit.trim();
    if audit.is_empty() {
        return Ok(String::new());
    }
    let mut child = Command::new("/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let script = format!("exec 2>&1\n{audit}\n");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let output = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "failed to run: {audit:?}, output: {output:?}, error: exit status {}",
            out.status.code().unwrap_or(-1)
        ))
    }
}

/// kube-bench's `runAuditCommands`: the environment audit, the audit, then the configuration
/// audit, whose "file not found" is forgiven when another audit printed something.
fn judge(check: &Check) -> State {
    let mut env = String::new();
    let mut error = None;
    if !check.audit_env.is_empty() {
        match run_audit(&check.audit_env) {
            Ok(o) => env = o,
            Err(e) => error = Some(e),
        }
    }
    let mut command = String::new();
    let mut config = String::new();
    if error.is_none() {
        match run_audit(&check.audit) {
            Ok(o) => command = o,
            Err(e) => error = Some(e),
        }
    }
    if error.is_none() {
        match run_audit(&check.audit_config) {
            Ok(o) => config = o,
            Err(e)
                if (e.contains("exit status 127") || e.contains("No such file or directory"))
                    && (!env.is_empty() || !command.is_empty()) => {}
            Err(e) => error = Some(e),
        }
    }
    let input = Input {
        command: &command,
        config: (!check.audit_config.is_empty()).then_some(config.as_str()),
        env: &env,
        error: error.as_deref(),
    };
    evaluate(check, &input).state
}

/// `TestCheckAuditConfig` and `TestCheckAuditEnv`: whole checks, their audits run for real.
#[test]
fn check_run_state() {
    let controls = data();
    let all = cases();
    let cases = all["check_run_state"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 24);
    for case in cases {
        let check = check_at(&controls, case);
        assert_eq!(check.audit, s(case, "audit"));
        assert_eq!(check.audit_config, s(case, "audit_config"));
        assert_eq!(check.audit_env, s(case, "audit_env"));
        let want = match s(&case["expected"], "state") {
            "PASS" => State::Pass,
            "FAIL" => State::Fail,
            other => panic!("{other}"),
        };
        // check/data's checks are unscored; kube-bench's test marks them scored.
        let scored = Check {
            scored: true,
            ..check.clone()
        };
        assert_eq!(judge(&scored), want, "{}", check.text);
    }
}

/// `TestCheck_Run`: how the state follows from type, scored and tests (the ten checks built
/// in Go, written here as the corpus describes them).
#[test]
fn check_state_rules() {
    let all = cases();
    let described: Vec<&str> = all["check_state_rules"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    let hello = |set: bool| Tests {
        bin_op: BinOp::And,
        test_items: vec![TestItem {
            flag: "hello".into(),
            set,
            ..TestItem::default()
        }],
    };
    let rules: Vec<(&str, Check, State)> = vec![
        (
            "type: manual",
            Check {
                kind: CheckType::Manual,
                ..Check::default()
            },
            State::Warn,
        ),
        (
            "type: skip",
            Check {
                kind: CheckType::Skip,
                ..Check::default()
            },
            State::Info,
        ),
        (
            "scored: false, no type, no audit/tests (fails)",
            Check::default(),
            State::Warn,
        ),
        (
            "scored: false, audit 'echo hello', test_items [{flag: hello, set: true}]",
            Check {
                audit: "echo hello".into(),
                tests: Some(hello(true)),
                ..Check::default()
            },
            State::Pass,
        ),
        (
            "scored: true, no tests",
            Check {
                scored: true,
                ..Check::default()
            },
            State::Warn,
        ),
        (
            "scored: true, tests present but empty (no test_items)",
            Check {
                scored: true,
                tests: Some(Tests::default()),
                ..Check::default()
            },
            State::Fail,
        ),
        (
            "scored: true, audit 'echo hello', test_items [{flag: hello, set: false}]",
            Check {
                scored: true,
                audit: "echo hello".into(),
                tests: Some(hello(false)),
                ..Check::default()
            },
            State::Fail,
        ),
        (
            "scored: true, audit 'echo hello', test_items [{flag: hello, set: true}]",
            Check {
                scored: true,
                audit: "echo hello".into(),
                tests: Some(hello(true)),
                ..Check::default()
            },
            State::Pass,
        ),
        (
            "scored: true, audit 'echo hello', audit_config '/test/config.yaml' (file absent), test_items [{flag: hello, set: true}]",
            Check {
                scored: true,
                audit: "echo hello".into(),
                audit_config: "/test/config.yaml".into(),
                tests: Some(hello(true)),
                ..Check::default()
            },
            State::Pass,
        ),
        (
            "scored: true, no audit, audit_config '/test/config.yaml' (file absent), test_items [{flag: hello, set: true}]",
            Check {
                scored: true,
                audit_config: "/test/config.yaml".into(),
                tests: Some(hello(true)),
                ..Check::default()
            },
            State::Fail,
        ),
    ];
    assert_eq!(
        described,
        rules.iter().map(|r| r.0).collect::<Vec<_>>(),
        "the corpus's rules, in order"
    );
    let expected: Vec<&str> = all["check_state_rules"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["expected"]["state"].as_str().unwrap())
        .collect();
    for ((what, check, state), want) in rules.iter().zip(expected) {
        assert_eq!(state.as_str(), want, "{what}");
        assert_eq!(judge(check), *state, "{what}");
    }
}

/// Every controls file of both benchmarks loads, with the number of checks kube-bench runs.
#[test]
fn benchmarks_load() {
    let mut total_120 = 0;
    for (file, checks) in [
        ("master", 64),
        ("etcd", 7),
        ("controlplane", 3),
        ("node", 23),
        ("policies", 26),
    ] {
        let c = rampart_cis::load(corpus(&format!("kube-bench/cfg/cis-1.20/{file}.yaml")))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.version, "cis-1.20");
        assert_eq!(c.node_type, file);
        assert_eq!(c.checks().count(), checks, "{file}");
        total_120 += checks;
    }
    // The expected output of kube-bench's kind run lists 123 results.
    assert_eq!(total_120, 123);
    let node = rampart_cis::load(corpus("kube-bench/cfg/cis-1.12/node.yaml")).unwrap();
    assert_eq!(node.checks().count(), 25);
    assert_eq!(node.checks().filter(|c| c.scored).count(), 12);
    let c421 = node.check("4.2.1").unwrap();
    let item = &c421.tests.as_ref().unwrap().test_items[0];
    assert_eq!(item.flag, "--anonymous-auth");
    assert_eq!(item.path, "{.authentication.anonymous.enabled}");
    assert!(item.set, "set is true unless written");
    assert_eq!(item.compare.as_ref().unwrap().value, "false");
    // 2.4's text is a plain scalar folded over two lines.
    let etcd = rampart_cis::load(corpus("kube-bench/cfg/cis-1.20/etcd.yaml")).unwrap();
    assert!(
        etcd.check("2.4")
            .unwrap()
            .text
            .contains("are set as appropriate")
    );
}
