//! The configuration a `path` item looks into, and the JSONPath subset kube-bench's files use.
//!
//! kube-bench reads the configuration text as JSON, and when that fails as YAML (go-yaml v2:
//! `yes` is true, `0644` is octal); JSON numbers are floating point, as Go decodes them. Paths
//! are Kubernetes JSONPath templates evaluated with missing keys allowed: `{.a.b}`, `['a']`,
//! `[0]`, `[1:3]`, `[*]`, `.*`, `{range ...}...{end}`, `{@}` or `{}` for the current value, quoted
//! literal text (`{','}`), and text between templates. Filters (`[?()]`), recursive descent
//! (`..`) and unions are not supported: a path using them is an error, so its item fails.
//! Printing follows kubectl's: strings as they are, numbers as Go prints them, lists and maps
//! as compact JSON; a null value prints nothing (the kubelet takes a null field as unset).

use rampart_k8s::yaml::{Node, Pos, Value};
use std::fmt::Write as _;

/// Configuration text larger than this is refused.
pub const MAX_CONFIG_BYTES: usize = 4 * 1024 * 1024;
/// Output of one path larger than this is an error (a `range` over a large list).
const MAX_OUTPUT: usize = 1024 * 1024;

/// Reads configuration text as kube-bench does: JSON, else YAML (the first document); the
/// tree is rampart-k8s's YAML tree (positions are those of the YAML text, none for JSON).
pub fn parse_config(text: &str) -> Result<Node, String> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(format!(
            "configuration of {} bytes, more than {MAX_CONFIG_BYTES}",
            text.len()
        ));
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
        return Ok(from_json(json));
    }
    let loaded = rampart_k8s::yaml::load(text, rampart_k8s::yaml::Limits::default());
    if let Some(e) = loaded.errors.first() {
        return Err(format!(
            "failed to load YAML or JSON from input: {}:{}: {}",
            e.line, e.column, e.message
        ));
    }
    Ok(loaded
        .documents
        .into_iter()
        .next()
        .map_or_else(|| node(Value::Null), |d| d.root))
}

fn node(value: Value) -> Node {
    Node {
        value,
        pos: Pos::default(),
    }
}

fn from_json(v: serde_json::Value) -> Node {
    use serde_json::Value as J;
    node(match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        // Go decodes every JSON number into a float64.
        J::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        J::String(s) => Value::String(s),
        J::Array(items) => Value::Seq(items.into_iter().map(from_json).collect()),
        J::Object(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| (node(Value::String(k)), from_json(v)))
                .collect(),
        ),
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    /// `.*` or `[*]`.
    Wildcard,
    Index(i64),
    Slice(Option<i64>, Option<i64>),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Path(Vec<Step>),
    Range(Vec<Step>, Vec<Part>),
}

/// Evaluates a JSONPath template on a value; the text it prints.
pub fn execute(template: &str, root: &Node) -> Result<String, String> {
    let parts = parse_template(template)?;
    let mut out = String::new();
    render(&parts, root, &mut out)?;
    Ok(out)
}

fn parse_template(template: &str) -> Result<Vec<Part>, String> {
    // Stack of (range path, parts collected); the bottom is the template itself.
    let mut stack: Vec<(Vec<Step>, Vec<Part>)> = vec![(Vec::new(), Vec::new())];
    let mut rest = template;
    while !rest.is_empty() {
        let Some(open) = rest.find('{') else {
            push(&mut stack, Part::Text(rest.to_owned()));
            break;
        };
        let (text, after) = rest.split_at(open);
        if !text.is_empty() {
            push(&mut stack, Part::Text(text.to_owned()));
        }
        let inner = after.get(1..).unwrap_or("");
        let close = closing(inner, '}')
            .ok_or_else(|| format!("unclosed action in template {template:?}"))?;
        let action = inner.get(..close).unwrap_or("").trim();
        rest = inner.get(close + 1..).unwrap_or("");
        if action == "end" {
            if stack.len() < 2 {
                return Err("not in range, nothing to end".to_owned());
            }
            if let Some((path, parts)) = stack.pop() {
                push(&mut stack, Part::Range(path, parts));
            }
        } else if let Some(expr) = action.strip_prefix("range ") {
            if stack.len() > 16 {
                return Err("ranges nested too deep".to_owned());
            }
            stack.push((parse_path(expr.trim())?, Vec::new()));
        } else if let Some(lit) = quoted(action) {
            push(&mut stack, Part::Text(lit));
        } else {
            push(&mut stack, Part::Path(parse_path(action)?));
        }
    }
    if stack.len() != 1 {
        return Err("unclosed range".to_owned());
    }
    Ok(stack.pop().map(|(_, p)| p).unwrap_or_default())
}

fn push(stack: &mut [(Vec<Step>, Vec<Part>)], part: Part) {
    if let Some((_, parts)) = stack.last_mut() {
        parts.push(part);
    }
}

/// The index of the first `close` outside quoted text.
fn closing(s: &str, close: char) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c == close => return Some(i),
            _ => {}
        }
    }
    None
}

fn quoted(action: &str) -> Option<String> {
    for q in ['\'', '"'] {
        if let Some(inner) = action
            .strip_prefix(q)
            .and_then(|a| a.strip_suffix(q))
            .filter(|_| action.len() >= 2)
        {
            return Some(unescape(inner));
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

fn parse_path(expr: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut rest = expr
        .strip_prefix('$')
        .or_else(|| expr.strip_prefix('@'))
        .unwrap_or(expr);
    while !rest.is_empty() {
        if rest.starts_with("..") {
            return Err(format!("recursive descent is not supported: {expr:?}"));
        }
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = r.get(..end).unwrap_or("");
            if name.is_empty() {
                return Err(format!("empty field name in {expr:?}"));
            }
            if name.contains([' ', '?', '(', ')', ',', '\'', '"', '{', '}']) {
                return Err(format!("unsupported field {name:?} in {expr:?}"));
            }
            steps.push(if name == "*" {
                Step::Wildcard
            } else {
                Step::Field(name.to_owned())
            });
            rest = r.get(end..).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = closing(r, ']').ok_or_else(|| format!("unclosed [ in {expr:?}"))?;
            let inner = r.get(..end).unwrap_or("").trim();
            steps.push(parse_bracket(inner, expr)?);
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            return Err(format!("unrecognized character in action: {expr:?}"));
        }
    }
    Ok(steps)
}

fn parse_bracket(inner: &str, expr: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(name) = quoted(inner) {
        return Ok(Step::Field(name));
    }
    let num = |s: &str| -> Result<Option<i64>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<i64>()
            .map(Some)
            .map_err(|_| format!("unsupported subscript [{inner}] in {expr:?}"))
    };
    let parts: Vec<&str> = inner.split(':').collect();
    match parts.as_slice() {
        [one] => num(one)?
            .map(Step::Index)
            .ok_or_else(|| format!("empty subscript in {expr:?}")),
        [a, b] => Ok(Step::Slice(num(a)?, num(b)?)),
        [a, b, step] if matches!(num(step)?, None | Some(1)) => Ok(Step::Slice(num(a)?, num(b)?)),
        _ => Err(format!("unsupported subscript [{inner}] in {expr:?}")),
    }
}

fn select<'v>(steps: &[Step], root: &'v Node) -> Result<Vec<&'v Node>, String> {
    let mut current = vec![root];
    for step in steps {
        let mut next = Vec::new();
        for v in current {
            match (step, &v.value) {
                (Step::Field(name), Value::Map(entries)) => {
                    // A repeated key: the last one, as when the text is decoded into a map.
                    if let Some((_, found)) =
                        entries.iter().rev().find(|(k, _)| k.as_str() == Some(name))
                    {
                        next.push(found);
                    }
                }
                (Step::Wildcard, Value::Map(entries)) => next.extend(entries.iter().map(|e| &e.1)),
                (Step::Wildcard, Value::Seq(items)) => next.extend(items.iter()),
                (Step::Index(i), Value::Seq(items)) => {
                    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                    let at = if *i < 0 { len + i } else { *i };
                    let item = usize::try_from(at)
                        .ok()
                        .and_then(|at| items.get(at))
                        .ok_or_else(|| {
                            format!("array index out of bounds: index {i}, length {len}")
                        })?;
                    next.push(item);
                }
                (Step::Slice(a, b), Value::Seq(items)) => {
                    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                    let clamp = |x: i64| (if x < 0 { len + x } else { x }).clamp(0, len);
                    let from = clamp(a.unwrap_or(0));
                    let to = clamp(b.unwrap_or(len));
                    let from = usize::try_from(from).unwrap_or(0);
                    let to = usize::try_from(to).unwrap_or(0);
                    if from < to {
                        next.extend(items.get(from..to).unwrap_or(&[]).iter());
                    }
                }
                // Missing keys are allowed: nothing is selected.
                _ => {}
            }
        }
        current = next;
    }
    Ok(current)
}

fn render(parts: &[Part], current: &Node, out: &mut String) -> Result<(), String> {
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Path(steps) => {
                for v in select(steps, current)? {
                    print(v, out);
                }
            }
            Part::Range(steps, inner) => {
                for v in select(steps, current)? {
                    let items: Vec<&Node> = match &v.value {
                        Value::Seq(items) => items.iter().collect(),
                        Value::Map(entries) => entries.iter().map(|e| &e.1).collect(),
                        _ => vec![v],
                    };
                    for item in items {
                        render(inner, item, out)?;
                        if out.len() > MAX_OUTPUT {
                            return Err(format!("output larger than {MAX_OUTPUT} bytes"));
                        }
                    }
                }
            }
        }
        if out.len() > MAX_OUTPUT {
            return Err(format!("output larger than {MAX_OUTPUT} bytes"));
        }
    }
    Ok(())
}

fn print(v: &Node, out: &mut String) {
    match &v.value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&go_float(*f)),
        Value::String(s) => out.push_str(s),
        Value::Seq(_) | Value::Map(_) => out.push_str(&v.to_json().to_string()),
    }
}

/// A float64 as Go's `fmt.Print` writes it: `strconv.FormatFloat(f, 'g', -1, 64)`, the
/// shortest digits that read back as the same float, in exponent form when the exponent is
/// below -4 or at least 6 (`1e+06`, `1.234567e+06`, `15000`, `1e-05`).
pub(crate) fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest digits that read back as the same float, as Go does.
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if mantissa.starts_with('-') { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        return exp_form(sign, &digits, exp);
    }
    let mut out = String::from(sign);
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = usize::try_from(exp + 1).unwrap_or(0);
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(digits.get(..point).unwrap_or(""));
            out.push('.');
            out.push_str(digits.get(point..).unwrap_or(""));
        }
    }
    out
}

fn exp_form(sign: &str, digits: &str, exp: i32) -> String {
    let mut out = String::from(sign);
    let mut chars = digits.chars();
    if let Some(first) = chars.next() {
        out.push(first);
    }
    let rest: String = chars.collect();
    if !rest.is_empty() {
        out.push('.');
        out.push_str(&rest);
    }
    let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_matches_go_fmt() {
        // Values and what Go's fmt.Print writes for them.
        for (f, go) in [
            (15000.0, "15000"),
            (0.5, "0.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (123456.7, "123456.7"),
        ] {
            assert_eq!(go_float(f), go, "{f}");
        }
    }

    #[test]
    fn paths_of_the_benchmarks() {
        let v = parse_config(
            "authentication:\n  anonymous:\n    enabled: false\ntlsCipherSuites: [A, B]\nreadOnlyPort: 0\n",
        )
        .unwrap();
        assert_eq!(
            execute("{.authentication.anonymous.enabled}", &v).unwrap(),
            "false"
        );
        assert_eq!(
            execute("{range .tlsCipherSuites[:]}{}{','}{end}", &v).unwrap(),
            "A,B,"
        );
        assert_eq!(execute("{.readOnlyPort}", &v).unwrap(), "0");
        assert_eq!(execute("{.missing.deeper}", &v).unwrap(), "");
        assert_eq!(execute("{.tlsCipherSuites[1]}", &v).unwrap(), "B");
        assert_eq!(execute("{.tlsCipherSuites}", &v).unwrap(), r#"["A","B"]"#);
        assert!(execute("{.a", &v).is_err());
        assert!(execute("{..a}", &v).is_err());
        assert!(execute("{range .a}", &v).is_err());
    }
}
