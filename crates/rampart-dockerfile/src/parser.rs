//! A Dockerfile parser that follows BuildKit's frontend (`frontend/dockerfile/parser` and
//! `instructions`): parser directives, comments, continuations (comment and blank lines inside a
//! continuation are skipped), heredocs, exec vs shell form, flags, `ARG`/`ENV` scoping and
//! variable substitution, stages.
//!
//! Hand-written on purpose: no maintained Rust crate parses BuildKit heredocs and parser
//! directives while keeping line and column positions, and the input is untrusted, so every
//! step here is bounded and panic-free (no indexing, no unwrap) and recovers at the next line.

use crate::ImageRef;
use crate::ast::{
    ArgDecl, BaseImage, Command, CommandForm, Comment, Copy, Diagnostic, Directive, Dockerfile,
    Flag, From, Healthcheck, Heredoc, Instruction, KeyValue, Kind, Parsed, Pos, Stage, User, Word,
};
use crate::lex::{self, Lookup};
use std::cell::Cell;
use std::collections::HashMap;

/// At most this many diagnostics are kept; one more says the rest were dropped.
pub const MAX_DIAGNOSTICS: usize = 500;

/// The instructions BuildKit knows, for the unknown-instruction message.
const KEYWORDS: &str = "ADD, ARG, CMD, COPY, ENTRYPOINT, ENV, EXPOSE, FROM, HEALTHCHECK, LABEL, \
                        MAINTAINER, ONBUILD, RUN, SHELL, STOPSIGNAL, USER, VOLUME, WORKDIR";

/// Build arguments BuildKit defines automatically in the global scope.
const AUTOMATIC_ARGS: [&str; 8] = [
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

/// Parses a Dockerfile. Never panics; every problem becomes a [`Diagnostic`] and parsing goes on.
pub fn parse(text: &str) -> Parsed {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut p = Parser {
        lines,
        next: 0,
        escape: '\\',
        diagnostics: Vec::new(),
        df: Dockerfile {
            escape: '\\',
            ..Dockerfile::default()
        },
        global: HashMap::new(),
        scope: None,
        stage_envs: Vec::new(),
        stage_names: HashMap::new(),
    };
    if let Some(at) = text.find('\0') {
        let line = text.get(..at).map_or(0, |b| b.matches('\n').count());
        p.diag_at(
            Pos {
                line: to_u32(line + 1),
                column: 1,
            },
            "expected text, found a nul byte (is this a binary file?)".to_owned(),
        );
    }
    p.directives();
    p.body();
    p.finish()
}

type Vars = HashMap<String, Option<String>>;

/// The variables visible inside a stage.
struct Scope {
    args: Vars,
    env: Vars,
    /// The base image may define variables we cannot see (its `ENV`).
    base_unknown: bool,
}

/// A logical line: physical lines joined at continuations, with a map back to positions.
struct Logical {
    text: String,
    segments: Vec<Segment>,
    /// (segment, byte in physical line, column) of the last position asked, to count columns
    /// incrementally on huge lines.
    cache: Cell<(usize, usize, u32)>,
}

struct Segment {
    /// Byte offset in `Logical::text`.
    start: usize,
    /// 0-based physical line.
    line: usize,
    /// Byte offset of the segment in the physical line.
    column_byte: usize,
}

impl Logical {
    fn push(&mut self, content: &str, line: usize, column_byte: usize) {
        self.segments.push(Segment {
            start: self.text.len(),
            line,
            column_byte,
        });
        self.text.push_str(content);
    }
}

struct Parser<'a> {
    lines: Vec<&'a str>,
    next: usize,
    escape: char,
    diagnostics: Vec<Diagnostic>,
    df: Dockerfile,
    global: Vars,
    scope: Option<Scope>,
    /// `ENV` (and whether the base may add more) at the end of each finished stage, for stages
    /// built `FROM` it.
    stage_envs: Vec<(Vars, bool)>,
    stage_names: HashMap<String, usize>,
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `Some(content)` when `line` ends with the escape character (trailing blanks allowed).
fn continuation(line: &str, escape: char) -> Option<&str> {
    line.trim_end_matches([' ', '\t']).strip_suffix(escape)
}

fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", s.get(..i).unwrap_or("")),
        None => s.to_owned(),
    }
}

impl<'a> Parser<'a> {
    fn diag_at(&mut self, pos: Pos, message: String) {
        if self.diagnostics.len() < MAX_DIAGNOSTICS {
            self.diagnostics.push(Diagnostic {
                line: pos.line,
                column: pos.column,
                message,
            });
        } else if self.diagnostics.len() == MAX_DIAGNOSTICS {
            self.diagnostics.push(Diagnostic {
                line: pos.line,
                column: pos.column,
                message: format!("too many problems: stopped reporting after {MAX_DIAGNOSTICS}"),
            });
        }
    }

    fn line(&self, idx: usize) -> &'a str {
        self.lines.get(idx).copied().unwrap_or("")
    }

    /// Parser directives: `# key=value` lines at the very top, until anything else.
    fn directives(&mut self) {
        let mut seen: Vec<String> = Vec::new();
        while self.next < self.lines.len() {
            let idx = self.next;
            let raw = self.line(idx);
            let Some((name, value)) = directive(raw) else {
                break;
            };
            let name = name.to_ascii_lowercase();
            if !matches!(name.as_str(), "syntax" | "escape" | "check") {
                break;
            }
            self.next += 1;
            let pos = Pos {
                line: to_u32(idx + 1),
                column: 1,
            };
            if seen.contains(&name) {
                self.diag_at(
                    pos,
                    format!("expected each parser directive once, found `{name}` again"),
                );
                continue;
            }
            if name == "escape" {
                match value {
                    "\\" => self.escape = '\\',
                    "`" => self.escape = '`',
                    other => self.diag_at(
                        pos,
                        format!(
                            "expected `\\` or `` ` `` as the escape character, found `{}`",
                            shorten(other)
                        ),
                    ),
                }
            }
            self.df.directives.push(Directive {
                name: name.clone(),
                value: value.to_owned(),
                line: to_u32(idx + 1),
            });
            seen.push(name);
        }
        self.df.escape = self.escape;
    }

    fn body(&mut self) {
        while self.next < self.lines.len() {
            let idx = self.next;
            self.next += 1;
            let raw = self.line(idx);
            let trimmed = raw.trim_start();
            if trimmed.is_empty() {
                continue;
            }
            if let Some(c) = trimmed.strip_prefix('#') {
                let text = c.trim().to_owned();
                self.df.comments.push(Comment {
                    line: to_u32(idx + 1),
                    text,
                });
                continue;
            }
            let lead = raw.len() - trimmed.len();
            let (logical, mut end) = self.read_logical(idx, lead, trimmed);
            let keyword = first_word(&logical.text).to_ascii_uppercase();
            let mut heredocs = Vec::new();
            if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") && logical.text.contains("<<") {
                for (name, expand, chomp) in heredoc_markers(&logical.text) {
                    let (doc, last) = self.read_heredoc(idx, lead, name, expand, chomp);
                    end = end.max(last);
                    heredocs.push(doc);
                }
            }
            let inst = self.build(&logical, 0, heredocs, to_u32(end + 1), false);
            self.apply(inst);
        }
    }

    /// Joins continuation lines. Returns the logical line and its last physical line.
    fn read_logical(&mut self, idx: usize, lead: usize, first: &str) -> (Logical, usize) {
        let mut lg = Logical {
            text: String::new(),
            segments: Vec::new(),
            cache: Cell::new((usize::MAX, 0, 0)),
        };
        let mut end = idx;
        let escape = self.escape;
        let mut more = match continuation(first, escape) {
            Some(c) => {
                lg.push(c, idx, lead);
                true
            }
            None => {
                lg.push(first, idx, lead);
                false
            }
        };
        while more && self.next < self.lines.len() {
            let j = self.next;
            self.next += 1;
            let raw = self.line(j);
            let t = raw.trim_start();
            if let Some(c) = t.strip_prefix('#') {
                let text = c.trim().to_owned();
                self.df.comments.push(Comment {
                    line: to_u32(j + 1),
                    text,
                });
                continue;
            }
            if t.is_empty() {
                continue;
            }
            end = j;
            match continuation(raw, escape) {
                Some(c) => lg.push(c, j, 0),
                None => {
                    lg.push(raw, j, 0);
                    more = false;
                }
            }
        }
        (lg, end)
    }

    fn read_heredoc(
        &mut self,
        idx: usize,
        lead: usize,
        name: String,
        expand: bool,
        chomp: bool,
    ) -> (Heredoc, usize) {
        let first = self.next;
        let mut content = String::new();
        let mut last = first.saturating_sub(1);
        let mut terminated = false;
        while self.next < self.lines.len() {
            let j = self.next;
            self.next += 1;
            last = j;
            let raw = self.line(j);
            let body = if chomp {
                raw.trim_start_matches('\t')
            } else {
                raw
            };
            if body == name {
                terminated = true;
                break;
            }
            content.push_str(body);
            content.push('\n');
        }
        if !terminated {
            self.diag_at(
                Pos {
                    line: to_u32(idx + 1),
                    column: to_u32(lead + 1),
                },
                format!(
                    "expected a line `{}` closing the heredoc, found end of file (unterminated heredoc)",
                    shorten(&name)
                ),
            );
        }
        (
            Heredoc {
                name,
                expand,
                chomp,
                content,
                line: to_u32(first + 1),
            },
            last,
        )
    }

    fn pos(&self, lg: &Logical, off: usize) -> Pos {
        let si = lg
            .segments
            .partition_point(|s| s.start <= off)
            .saturating_sub(1);
        let Some(seg) = lg.segments.get(si) else {
            return Pos { line: 1, column: 1 };
        };
        let text = self.line(seg.line);
        let byte = seg.column_byte + off.saturating_sub(seg.start);
        let (cs, cb, cc) = lg.cache.get();
        let (from_byte, from_col) = if cs == si && cb <= byte {
            (cb, cc)
        } else {
            (0, 1)
        };
        let column = from_col.saturating_add(
            text.get(from_byte..byte)
                .map_or(0, |p| to_u32(p.chars().count())),
        );
        lg.cache.set((si, byte, column));
        Pos {
            line: to_u32(seg.line + 1),
            column,
        }
    }

    fn lookup(&self, global: bool, name: &str) -> Lookup<'_> {
        let from_global = |name: &str| match self.global.get(name) {
            Some(Some(v)) => Lookup::Set(v),
            Some(None) => Lookup::Unknown,
            None if AUTOMATIC_ARGS.contains(&name) => Lookup::Unknown,
            None => Lookup::Unset,
        };
        match (&self.scope, global) {
            (Some(scope), false) => match scope.env.get(name).or_else(|| scope.args.get(name)) {
                Some(Some(v)) => Lookup::Set(v),
                Some(None) => Lookup::Unknown,
                None if scope.base_unknown => Lookup::Unknown,
                None => Lookup::Unset,
            },
            _ => from_global(name),
        }
    }

    /// A word at byte `off` of the logical line, expanded when `expand`.
    fn word(&mut self, lg: &Logical, off: usize, raw: &str, expand: bool, global: bool) -> Word {
        let pos = self.pos(lg, off);
        if !expand || !(raw.contains(['$', '\'', '"']) || raw.contains(self.escape)) {
            return Word {
                raw: raw.to_owned(),
                value: raw.to_owned(),
                unresolved: false,
                pos,
            };
        }
        let e = lex::expand(raw, self.escape, &|n| self.lookup(global, n));
        for err in e.errors {
            self.diag_at(pos, err);
        }
        Word {
            raw: raw.to_owned(),
            value: e.value,
            unresolved: e.unresolved,
            pos,
        }
    }

    /// Parses the instruction starting at byte `start` of `lg`.
    fn build(
        &mut self,
        lg: &Logical,
        start: usize,
        heredocs: Vec<Heredoc>,
        end_line: u32,
        nested: bool,
    ) -> Instruction {
        let text = lg.text.get(start..).unwrap_or("");
        let keyword = first_word(text);
        let at = self.pos(lg, start);
        let upper = keyword.to_ascii_uppercase();
        let global = upper == "FROM" || (self.scope.is_none() && upper == "ARG");
        // Flags: leading `--name[=value]` words.
        let mut off = start + keyword.len();
        let mut flags = Vec::new();
        loop {
            let rest = lg.text.get(off..).unwrap_or("");
            let trimmed = rest.trim_start();
            off += rest.len() - trimmed.len();
            if !trimmed.starts_with("--") {
                break;
            }
            let end = lex::first_shell_word_len(trimmed, self.escape);
            let word = trimmed.get(..end).unwrap_or("");
            let flag_pos = self.pos(lg, off);
            if word == "--" {
                off += end;
                break;
            }
            let body = word.get(2..).unwrap_or("");
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => {
                    let w = self.word(lg, off + 3 + n.len(), v, true, global);
                    (n, Some(w))
                }
                None => (body, None),
            };
            flags.push(Flag {
                name: name.to_ascii_lowercase(),
                value,
                pos: flag_pos,
            });
            off += end;
        }
        let rest = lg.text.get(off..).unwrap_or("");
        let trimmed = rest.trim_start();
        let args_off = off + (rest.len() - trimmed.len());
        let args = trimmed.trim_end();
        let mut inst = Instruction {
            keyword: keyword.to_owned(),
            line: at.line,
            column: at.column,
            end_line: end_line.max(at.line),
            flags,
            args: args.to_owned(),
            kind: Kind::Unknown,
        };
        let missing = |p: &mut Self, what: &str| {
            p.diag_at(at, format!("expected {what} after {upper}, found nothing"));
        };
        inst.kind = match upper.as_str() {
            "FROM" => self.build_from(lg, args_off, args, &inst, at),
            "RUN" | "CMD" | "ENTRYPOINT" => {
                if args.is_empty() && heredocs.is_empty() {
                    missing(self, "a command");
                }
                let command = Command {
                    form: self.command_form(args, at, &upper),
                    heredocs,
                };
                match upper.as_str() {
                    "RUN" => Kind::Run(command),
                    "CMD" => Kind::Cmd(command),
                    _ => Kind::Entrypoint(command),
                }
            }
            "SHELL" => match serde_json::from_str::<Vec<String>>(args) {
                Ok(argv) if !argv.is_empty() => Kind::Shell { argv },
                _ => {
                    self.diag_at(
                        at,
                        format!(
                            "expected a JSON array of strings after SHELL, found `{}`",
                            shorten(args)
                        ),
                    );
                    Kind::Unknown
                }
            },
            "ENV" | "LABEL" => {
                let pairs = self.name_values(lg, args_off, args, &upper, at);
                if upper == "ENV" {
                    Kind::Env { pairs }
                } else {
                    Kind::Label { pairs }
                }
            }
            "ARG" => Kind::Arg {
                decls: self.arg_decls(lg, args_off, args, at, global),
            },
            "COPY" | "ADD" => {
                let words = self.list(lg, args_off, args, at, &upper);
                if words.len() < 2 {
                    self.diag_at(
                        at,
                        format!(
                            "expected at least a source and a destination after {upper}, found {} argument{}",
                            words.len(),
                            if words.len() == 1 { "" } else { "s" }
                        ),
                    );
                }
                let mut sources = words;
                let dest = if sources.len() >= 2 {
                    sources.pop().unwrap_or_default()
                } else {
                    Word::default()
                };
                let copy = Copy {
                    sources,
                    dest,
                    heredocs,
                };
                if upper == "COPY" {
                    Kind::Copy(copy)
                } else {
                    Kind::Add(copy)
                }
            }
            "USER" => {
                if args.is_empty() {
                    missing(self, "a user");
                    Kind::Unknown
                } else {
                    if lex::split_whitespace_words(args).len() > 1 {
                        self.diag_at(
                            at,
                            format!("expected one user after USER, found `{}`", shorten(args)),
                        );
                    }
                    let word = self.word(lg, args_off, args, true, false);
                    let (user, group) = match word.value.split_once(':') {
                        Some((u, g)) => (u.to_owned(), Some(g.to_owned())),
                        None => (word.value.clone(), None),
                    };
                    Kind::User(User { word, user, group })
                }
            }
            "WORKDIR" => {
                if args.is_empty() {
                    missing(self, "a path");
                    Kind::Unknown
                } else {
                    Kind::Workdir {
                        path: self.word(lg, args_off, args, true, false),
                    }
                }
            }
            "EXPOSE" => {
                let mut ports = Vec::new();
                for (o, w) in lex::split_whitespace_words(args) {
                    let word = self.word(lg, args_off + o, w, true, false);
                    if !word.unresolved && !valid_port(&word.value) {
                        self.diag_at(
                            word.pos,
                            format!(
                                "expected a port like 80, 80/tcp or 8000-8010/udp, found `{}`",
                                shorten(&word.value)
                            ),
                        );
                    }
                    ports.push(word);
                }
                if ports.is_empty() {
                    missing(self, "a port");
                }
                Kind::Expose { ports }
            }
            "VOLUME" => {
                let paths = self.list(lg, args_off, args, at, &upper);
                if paths.is_empty() {
                    missing(self, "a path");
                }
                Kind::Volume { paths }
            }
            "STOPSIGNAL" => {
                if args.is_empty() {
                    missing(self, "a signal");
                }
                Kind::Stopsignal {
                    signal: self.word(lg, args_off, args, true, false),
                }
            }
            "HEALTHCHECK" => {
                let first = first_word(args);
                if first.eq_ignore_ascii_case("NONE") {
                    if args.len() > first.len() {
                        self.diag_at(
                            at,
                            "expected nothing after HEALTHCHECK NONE, found more arguments"
                                .to_owned(),
                        );
                    }
                    Kind::Healthcheck(Healthcheck::None)
                } else if first.eq_ignore_ascii_case("CMD") {
                    let cmd = args.get(first.len()..).unwrap_or("").trim();
                    if cmd.is_empty() {
                        missing(self, "a command after CMD");
                    }
                    Kind::Healthcheck(Healthcheck::Cmd(Command {
                        form: self.command_form(cmd, at, "HEALTHCHECK"),
                        heredocs: Vec::new(),
                    }))
                } else {
                    self.diag_at(
                        at,
                        format!(
                            "expected NONE or CMD after HEALTHCHECK, found `{}`",
                            shorten(first)
                        ),
                    );
                    Kind::Unknown
                }
            }
            "ONBUILD" => {
                let inner = first_word(args).to_ascii_uppercase();
                if args.is_empty() {
                    missing(self, "an instruction");
                    Kind::Unknown
                } else if nested || matches!(inner.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
                    self.diag_at(
                        at,
                        format!("expected a trigger instruction after ONBUILD, found {inner}"),
                    );
                    Kind::Unknown
                } else {
                    Kind::Onbuild(Box::new(self.build(
                        lg,
                        args_off,
                        Vec::new(),
                        end_line,
                        true,
                    )))
                }
            }
            "MAINTAINER" => {
                if args.is_empty() {
                    missing(self, "a name");
                }
                Kind::Maintainer {
                    name: args.to_owned(),
                }
            }
            _ => {
                self.diag_at(
                    at,
                    format!(
                        "unknown instruction `{}`: expected one of {KEYWORDS}",
                        shorten(keyword)
                    ),
                );
                Kind::Unknown
            }
        };
        inst
    }

    fn build_from(
        &mut self,
        lg: &Logical,
        args_off: usize,
        args: &str,
        inst: &Instruction,
        at: Pos,
    ) -> Kind {
        let words = lex::split_whitespace_words(args);
        let (image_word, alias) = match words.as_slice() {
            [(o, img)] => ((*o, *img), None),
            [(o, img), (_, kw), (ao, name)] if kw.eq_ignore_ascii_case("as") => {
                ((*o, *img), Some((*ao, *name)))
            }
            [] => {
                self.diag_at(at, "expected an image after FROM, found nothing".to_owned());
                return Kind::Unknown;
            }
            [(o, img), ..] => {
                self.diag_at(
                    at,
                    format!(
                        "expected `FROM image [AS name]`, found `FROM {}`",
                        shorten(args)
                    ),
                );
                ((*o, *img), None)
            }
        };
        let image = self.word(lg, args_off + image_word.0, image_word.1, true, true);
        let base = if image.value.eq_ignore_ascii_case("scratch") {
            BaseImage::Scratch
        } else if let Some(&i) = self.stage_names.get(&image.value.to_ascii_lowercase()) {
            BaseImage::Stage(i)
        } else {
            match ImageRef::parse(&image.value) {
                Some(r) => BaseImage::Image(r),
                None => {
                    if !image.unresolved {
                        self.diag_at(
                            image.pos,
                            format!(
                                "expected an image reference after FROM, found `{}`",
                                shorten(&image.value)
                            ),
                        );
                    }
                    BaseImage::Unresolved
                }
            }
        };
        let alias = alias.map(|(o, name)| {
            let lower = name.to_ascii_lowercase();
            let valid = lower.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && lower
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            if !valid {
                let p = self.pos(lg, args_off + o);
                self.diag_at(
                    p,
                    format!(
                        "expected a stage name of letters, digits, `-`, `_` or `.`, found `{}`",
                        shorten(name)
                    ),
                );
            }
            lower
        });
        let platform = inst
            .flags
            .iter()
            .find(|f| f.name == "platform")
            .and_then(|f| f.value.clone());
        Kind::From(From {
            image,
            base,
            platform,
            alias,
        })
    }

    /// Exec form when the arguments are a JSON array of strings, shell form otherwise (as
    /// BuildKit does; a `[` that is not valid JSON is worth a diagnostic).
    fn command_form(&mut self, args: &str, at: Pos, keyword: &str) -> CommandForm {
        if args.starts_with('[') {
            match serde_json::from_str::<Vec<String>>(args) {
                Ok(argv) => return CommandForm::Exec(argv),
                Err(_) => self.diag_at(
                    at,
                    format!(
                        "expected a JSON array of strings after {keyword}, found invalid JSON `{}`: it runs in shell form",
                        shorten(args)
                    ),
                ),
            }
        }
        CommandForm::Shell(args.to_owned())
    }

    /// A JSON array or whitespace-separated words (COPY, ADD, VOLUME), expanded.
    fn list(
        &mut self,
        lg: &Logical,
        args_off: usize,
        args: &str,
        at: Pos,
        keyword: &str,
    ) -> Vec<Word> {
        if args.starts_with('[') {
            match serde_json::from_str::<Vec<String>>(args) {
                Ok(items) => {
                    return items
                        .iter()
                        .map(|item| {
                            let mut w = self.word(lg, args_off, item, true, false);
                            w.raw.clone_from(item);
                            w
                        })
                        .collect();
                }
                Err(_) => self.diag_at(
                    at,
                    format!(
                        "expected a JSON array of strings after {keyword}, found invalid JSON `{}`",
                        shorten(args)
                    ),
                ),
            }
        }
        lex::split_whitespace_words(args)
            .into_iter()
            .map(|(o, w)| self.word(lg, args_off + o, w, true, false))
            .collect()
    }

    fn name_values(
        &mut self,
        lg: &Logical,
        args_off: usize,
        args: &str,
        keyword: &str,
        at: Pos,
    ) -> Vec<KeyValue> {
        let words = lex::split_shell_words(args, self.escape);
        let Some(&(_, first)) = words.first() else {
            self.diag_at(
                at,
                format!("expected key=value after {keyword}, found nothing"),
            );
            return Vec::new();
        };
        if !first.contains('=') {
            // Legacy `ENV key value`: the rest of the line is the value.
            let rest = args.get(first.len()..).unwrap_or("");
            let value_raw = rest.trim_start();
            let value_off = args_off + first.len() + (rest.len() - value_raw.len());
            if value_raw.is_empty() {
                self.diag_at(
                    at,
                    format!(
                        "expected a value for {keyword} {}, found nothing",
                        shorten(first)
                    ),
                );
            }
            let key_pos = self.pos(lg, args_off);
            let value = self.word(lg, value_off, value_raw, true, false);
            return vec![KeyValue {
                key: first.to_owned(),
                key_pos,
                value,
            }];
        }
        let mut pairs = Vec::new();
        for (o, w) in words {
            let Some((k, v)) = w.split_once('=') else {
                let p = self.pos(lg, args_off + o);
                self.diag_at(
                    p,
                    format!("expected key=value in {keyword}, found `{}`", shorten(w)),
                );
                continue;
            };
            let key_pos = self.pos(lg, args_off + o);
            let key = self.word(lg, args_off + o, k, true, false).value;
            if key.is_empty() {
                self.diag_at(
                    key_pos,
                    format!("expected a name before `=` in {keyword}, found nothing"),
                );
            }
            let value = self.word(lg, args_off + o + k.len() + 1, v, true, false);
            pairs.push(KeyValue {
                key,
                key_pos,
                value,
            });
        }
        pairs
    }

    fn arg_decls(
        &mut self,
        lg: &Logical,
        args_off: usize,
        args: &str,
        at: Pos,
        global: bool,
    ) -> Vec<ArgDecl> {
        let words = lex::split_shell_words(args, self.escape);
        if words.is_empty() {
            self.diag_at(at, "expected a name after ARG, found nothing".to_owned());
        }
        let mut decls = Vec::new();
        for (o, w) in words {
            let pos = self.pos(lg, args_off + o);
            let (name, default) = match w.split_once('=') {
                Some((n, v)) => (
                    n,
                    Some(self.word(lg, args_off + o + n.len() + 1, v, true, global)),
                ),
                None => (w, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                self.diag_at(
                    pos,
                    format!(
                        "expected an ARG name of letters, digits and `_`, found `{}`",
                        shorten(name)
                    ),
                );
                continue;
            }
            decls.push(ArgDecl {
                name: name.to_owned(),
                pos,
                default,
            });
        }
        decls
    }

    /// Records the instruction and updates stages and scopes.
    fn apply(&mut self, inst: Instruction) {
        let index = self.df.instructions.len();
        match &inst.kind {
            Kind::From(from) => {
                self.finish_stage();
                let (env, base_unknown) = match &from.base {
                    BaseImage::Stage(i) => self
                        .stage_envs
                        .get(*i)
                        .cloned()
                        .unwrap_or((Vars::new(), true)),
                    BaseImage::Scratch => (Vars::new(), false),
                    _ => (Vars::new(), true),
                };
                self.scope = Some(Scope {
                    args: Vars::new(),
                    env,
                    base_unknown,
                });
                let stage_index = self.df.stages.len();
                if let Some(alias) = &from.alias {
                    if self.stage_names.contains_key(alias) {
                        self.diag_at(
                            inst.pos(),
                            format!("expected a unique stage name, found `{alias}` again"),
                        );
                    } else {
                        self.stage_names.insert(alias.clone(), stage_index);
                    }
                }
                self.df.stages.push(Stage {
                    index: stage_index,
                    name: from.alias.clone(),
                    from: from.clone(),
                    from_index: index,
                    body: index + 1..index + 1,
                    line: inst.line,
                    end_line: inst.end_line,
                });
            }
            Kind::Arg { decls } => match &mut self.scope {
                None => {
                    for d in decls {
                        let v = d
                            .default
                            .as_ref()
                            .and_then(|w| (!w.unresolved).then(|| w.value.clone()));
                        self.global.insert(d.name.clone(), v);
                        self.df.global_args.push(d.clone());
                    }
                }
                Some(scope) => {
                    for d in decls {
                        let v = match &d.default {
                            Some(w) => (!w.unresolved).then(|| w.value.clone()),
                            None => self.global.get(&d.name).cloned().flatten(),
                        };
                        scope.args.insert(d.name.clone(), v);
                    }
                }
            },
            Kind::Env { pairs } => {
                if let Some(scope) = &mut self.scope {
                    for kv in pairs {
                        let v = (!kv.value.unresolved).then(|| kv.value.value.clone());
                        scope.env.insert(kv.key.clone(), v);
                    }
                }
            }
            _ => {}
        }
        let keyword = inst.keyword.to_ascii_uppercase();
        let known = KEYWORDS.split(", ").any(|k| k.trim() == keyword);
        if self.scope.is_none() && known && keyword != "ARG" && keyword != "FROM" {
            self.diag_at(
                inst.pos(),
                format!(
                    "expected FROM or ARG before the first stage, found {}",
                    shorten(&keyword)
                ),
            );
        }
        if let Some(stage) = self.df.stages.last_mut() {
            stage.body.end = index + 1;
            stage.end_line = stage.end_line.max(inst.end_line);
        }
        self.df.instructions.push(inst);
    }

    /// Saves the scope of the stage being left.
    fn finish_stage(&mut self) {
        if let Some(scope) = self.scope.take() {
            self.stage_envs.push((scope.env, scope.base_unknown));
        }
    }

    fn finish(mut self) -> Parsed {
        self.finish_stage();
        if self.df.stages.is_empty() {
            let line = self.df.instructions.first().map_or(1, |i| i.line);
            self.diag_at(
                Pos { line, column: 1 },
                "expected at least one FROM instruction, found none".to_owned(),
            );
        }
        self.diagnostics.sort_by_key(|d| (d.line, d.column));
        Parsed {
            dockerfile: self.df,
            diagnostics: self.diagnostics,
        }
    }
}

/// `# name = value` → `(name, value)`.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let name_len = rest
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
        .map_or(rest.len(), |(i, _)| i);
    let name = rest.get(..name_len)?;
    if !name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = rest.get(name_len..)?.trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((name, value))
}

fn first_word(s: &str) -> &str {
    let s = s.trim_start();
    s.split(char::is_whitespace).next().unwrap_or("")
}

/// Heredoc openers in a line, as BuildKit finds them: shell words matching `^\d*<<-?[^<]+$`.
/// Returns (name, expand, chomp).
fn heredoc_markers(line: &str) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    for (_, w) in lex::split_shell_words(line, '\\') {
        let Some(r) = w
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .strip_prefix("<<")
        else {
            continue;
        };
        let (chomp, rest) = match r.strip_prefix('-') {
            Some(x) => (true, x),
            None => (false, r),
        };
        if rest.is_empty() || rest.contains('<') {
            continue;
        }
        let name: String = rest.chars().filter(|c| *c != '\'' && *c != '"').collect();
        if name.is_empty() {
            continue;
        }
        let expand = name.len() == rest.len();
        out.push((name, expand, chomp));
    }
    out
}

fn valid_port(p: &str) -> bool {
    let (range, proto) = match p.split_once('/') {
        Some((r, proto)) => (r, Some(proto)),
        None => (p, None),
    };
    let num = |s: &str| !s.is_empty() && s.len() <= 5 && s.chars().all(|c| c.is_ascii_digit());
    let range_ok = match range.split_once('-') {
        Some((a, b)) => num(a) && num(b),
        None => num(range),
    };
    range_ok
        && proto.is_none_or(|x| matches!(x.to_ascii_lowercase().as_str(), "tcp" | "udp" | "sctp"))
}
