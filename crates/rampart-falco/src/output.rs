//! Output templates and Falco's alert formats: the JSON line (`hostname`, `output`,
//! `output_fields`, `priority`, `rule`, `source`, `tags`, `time`, keys sorted as Falco's
//! nlohmann::json prints them) and the text line `HH:MM:SS.nnnnnnnnn: Priority output`.

use crate::event::Event;
use crate::fields::{BoundField, FieldType, V, bind};
use std::fmt::Write as _;

/// One piece of a compiled output template.
#[derive(Debug, Clone)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A field, with the text it was written as (`proc.aname[2]`).
    Field(BoundField, String),
    /// A Falco field rampart does not provide: prints `<NA>`, null in JSON.
    Unsupported(String),
}

/// A compiled output template.
#[derive(Debug, Clone, Default)]
pub struct Template {
    /// Its pieces.
    pub pieces: Vec<Piece>,
}

fn is_tok(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

impl Template {
    /// Compiles `%field`, `%field[arg]` and `%(field)` references; `Err` is Falco's message for
    /// an unknown field (`invalid formatting token X`).
    pub fn compile(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(p) = rest.find('%') {
            lit.push_str(rest.get(..p).unwrap_or(""));
            let after = rest.get(p + 1..).unwrap_or("");
            let (token, consumed) = if let Some(inner) = after.strip_prefix('(') {
                match inner.find(')') {
                    Some(e) => (inner.get(..e).unwrap_or("").trim().to_owned(), e + 2),
                    None => (String::new(), 0),
                }
            } else {
                let end = after.find(|c: char| !is_tok(c)).unwrap_or(after.len());
                let mut tok = after.get(..end).unwrap_or("").to_owned();
                let mut used = end;
                if after.get(end..end + 1) == Some("[") {
                    if let Some(close) = after.get(end..).and_then(|r| r.find(']')) {
                        tok = after.get(..end + close + 1).unwrap_or("").to_owned();
                        used = end + close + 1;
                    }
                }
                (tok, used)
            };
            if token.is_empty() {
                lit.push('%');
                rest = after;
                continue;
            }
            let base = token.split('[').next().unwrap_or(&token);
            if crate::fields::falco_field_not_provided(base) {
                if !lit.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut lit)));
                }
                pieces.push(Piece::Unsupported(token.clone()));
                rest = after.get(consumed..).unwrap_or("");
                continue;
            }
            let (bound, used_tok) =
                resolve(&token).ok_or_else(|| format!("invalid formatting token {token}"))?;
            let used = if used_tok.len() < token.len() && !after.starts_with('(') {
                used_tok.len()
            } else {
                consumed
            };
            if !lit.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Field(bound, used_tok));
            rest = after.get(used..).unwrap_or("");
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            pieces.push(Piece::Text(lit));
        }
        Ok(Template { pieces })
    }

    /// The fields referenced, as written.
    pub fn fields(&self) -> impl Iterator<Item = (&BoundField, &str)> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field(b, t) => Some((b, t.as_str())),
            Piece::Text(_) | Piece::Unsupported(_) => None,
        })
    }

    /// Falco fields in the template rampart does not provide.
    pub fn unsupported(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Unsupported(t) => Some(t.as_str()),
            _ => None,
        })
    }

    /// The text of the template for an event (absent fields print `<NA>`).
    pub fn render(&self, ev: &Event) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(b, _) => render_value(&mut out, b, ev),
                Piece::Unsupported(_) => out.push_str("<NA>"),
            }
        }
        out
    }
}

/// The longest prefix of `token` that is a field (Falco's formatter reads the longest field
/// name and leaves the rest as text).
fn resolve(token: &str) -> Option<(BoundField, String)> {
    let split = |t: &str| -> (String, Option<String>) {
        match t.find('[') {
            Some(b) if t.ends_with(']') => (
                t.get(..b).unwrap_or("").to_owned(),
                t.get(b + 1..t.len() - 1).map(str::to_owned),
            ),
            _ => (t.to_owned(), None),
        }
    };
    let (name, arg) = split(token);
    if let Ok(b) = bind(&name, arg.as_deref()) {
        return Some((b, token.to_owned()));
    }
    let mut cur = name.as_str();
    while let Some(d) = cur.rfind('.') {
        cur = cur.get(..d).unwrap_or("");
        if let Ok(b) = bind(cur, None) {
            return Some((b, cur.to_owned()));
        }
    }
    None
}

fn render_value(out: &mut String, b: &BoundField, ev: &Event) {
    match b.get(ev) {
        None => out.push_str("<NA>"),
        Some(v) => {
            if b.info().ty == FieldType::AbsTime && b.info().name == "evt.time" {
                if let V::I(n) = v {
                    out.push_str(&time_of_day(u64::try_from(n).unwrap_or(0), true));
                    return;
                }
            }
            push_v(out, &v);
        }
    }
}

fn push_v(out: &mut String, v: &V<'_>) {
    match v {
        V::S(s) => out.push_str(s),
        V::I(n) => {
            let _ = write!(out, "{n}");
        }
        V::B(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Ip(ip) => {
            let _ = write!(out, "{ip}");
        }
        V::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
    }
}

/// A field's value as Falco types it in `output_fields`.
pub fn json_value(b: &BoundField, ev: &Event) -> serde_json::Value {
    match b.get(ev) {
        None => serde_json::Value::Null,
        Some(V::I(n)) => serde_json::Value::from(n),
        Some(V::B(x)) => serde_json::Value::Bool(x),
        Some(v) => {
            let mut s = String::new();
            push_v(&mut s, &v);
            serde_json::Value::String(s)
        }
    }
}

fn civil(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn split_ns(ns: u64) -> (i64, u64, u64, u64, u64) {
    let secs = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let sod = secs % 86_400;
    (days, sod / 3600, (sod % 3600) / 60, sod % 60, frac)
}

/// `HH:MM:SS.nnnnnnnnn` (UTC); with `nanos` false, `HH:MM:SS`.
pub fn time_of_day(ns: u64, nanos: bool) -> String {
    let (_, h, m, s, f) = split_ns(ns);
    if nanos {
        format!("{h:02}:{m:02}:{s:02}.{f:09}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// RFC 3339 with nanoseconds, UTC, `Z` (Falco's JSON `time`).
pub fn rfc3339(ns: u64) -> String {
    let (days, h, m, s, f) = split_ns(ns);
    let (y, mo, d) = civil(days);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{f:09}Z")
}

/// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (evt.datetime).
pub fn datetime(ns: u64) -> String {
    let (days, h, m, s, f) = split_ns(ns);
    let (y, mo, d) = civil(days);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}:{s:02}.{f:09}")
}
