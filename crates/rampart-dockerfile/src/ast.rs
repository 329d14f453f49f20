//! The typed syntax tree [`parse`](crate::parse) produces.
//!
//! Positions are 1-based; columns count Unicode scalar values, not bytes. Values that BuildKit
//! expands (`FROM`, `ENV`, `ARG`, `USER`, `WORKDIR`, `COPY`, `ADD`, `EXPOSE`, `LABEL`, `VOLUME`,
//! `STOPSIGNAL`) are kept both as written ([`Word::raw`]) and expanded ([`Word::value`]) with the
//! `ARG`/`ENV` scope in force at that point of the file.

use crate::ImageRef;
use serde::Serialize;
use std::ops::Range;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// One problem found while parsing. Parsing goes on after it (at the next line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub line: u32,
    pub column: u32,
    /// Lowercase, says what was expected and what was found.
    pub message: String,
}

/// The result of [`parse`](crate::parse): the tree and every problem met on the way.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Parsed {
    pub dockerfile: Dockerfile,
    pub diagnostics: Vec<Diagnostic>,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Dockerfile {
    /// Parser directives from the top of the file (`# syntax=`, `# escape=`, `# check=`).
    pub directives: Vec<Directive>,
    /// `ARG`s declared before the first `FROM` (usable in `FROM` lines only).
    pub global_args: Vec<ArgDecl>,
    /// Build stages, one per `FROM`, in file order.
    pub stages: Vec<Stage>,
    /// Every instruction in file order, `FROM`s included; stages index into it.
    pub instructions: Vec<Instruction>,
    /// Comment lines (not directives), for inline suppressions.
    pub comments: Vec<Comment>,
    /// The escape character in force (`\` unless `# escape=` says otherwise).
    pub escape: char,
}

impl Dockerfile {
    /// The instructions of `stage`, after its `FROM`.
    pub fn stage_instructions(&self, stage: &Stage) -> &[Instruction] {
        self.instructions.get(stage.body.clone()).unwrap_or(&[])
    }

    /// The `FROM` instruction of `stage`.
    pub fn stage_from(&self, stage: &Stage) -> Option<&Instruction> {
        self.instructions.get(stage.from_index)
    }

    /// The last stage: the one the image is built from (unless `--target` says otherwise).
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    /// The value of a parser directive (`syntax`, `escape`, `check`), by lowercase name.
    pub fn directive(&self, name: &str) -> Option<&str> {
        self.directives
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.as_str())
    }
}

/// A parser directive: `# name=value` at the top of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directive {
    /// Lowercased name.
    pub name: String,
    pub value: String,
    pub line: u32,
}

/// A comment line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub line: u32,
    /// The text after `#`, trimmed.
    pub text: String,
}

/// A build stage: a `FROM` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// 0-based position among the stages.
    pub index: usize,
    /// The `AS` name, lowercased as BuildKit does.
    pub name: Option<String>,
    pub from: From,
    /// Index of the `FROM` in [`Dockerfile::instructions`].
    pub from_index: usize,
    /// Indices of the stage's other instructions in [`Dockerfile::instructions`].
    pub body: Range<usize>,
    pub line: u32,
    pub end_line: u32,
}

/// The arguments of `FROM [--platform=..] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct From {
    /// The image as written and as expanded with the global `ARG`s.
    pub image: Word,
    pub base: BaseImage,
    pub platform: Option<Word>,
    pub alias: Option<String>,
}

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum BaseImage {
    /// The empty image.
    Scratch,
    /// An earlier stage, by index.
    Stage(usize),
    /// A registry image.
    Image(ImageRef),
    /// Depends on a build argument with no default, or is not a valid reference.
    Unresolved,
}

/// A word of an instruction, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Word {
    /// As written (quotes and variables kept).
    pub raw: String,
    /// After quote removal and variable substitution (where BuildKit substitutes).
    pub value: String,
    /// A variable in it has no known value (an `ARG` without default, a platform argument):
    /// `value` is a best guess (defaults of `${X:-d}` applied, unknowns empty).
    pub unresolved: bool,
    pub pos: Pos,
}

/// A `--name[=value]` flag of an instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// Without the leading `--`.
    pub name: String,
    pub value: Option<Word>,
    pub pos: Pos,
}

/// One instruction, with its position and typed arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// The keyword as written (`run`, `RUN`, ...).
    pub keyword: String,
    pub line: u32,
    pub column: u32,
    /// Last line of the instruction, continuations and heredoc bodies included.
    pub end_line: u32,
    pub flags: Vec<Flag>,
    /// The arguments after the flags, continuation lines joined, not expanded.
    pub args: String,
    pub kind: Kind,
}

impl Instruction {
    /// Flags named `name`, in order.
    pub fn flags_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Flag> + 'a {
        self.flags
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
    }

    /// The value of the last flag named `name`.
    pub fn flag_value(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rfind(|f| f.name.eq_ignore_ascii_case(name))
            .and_then(|f| f.value.as_ref())
            .map(|w| w.value.as_str())
    }

    /// The start of the instruction.
    pub fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }
}

/// The typed arguments of an instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "instruction", rename_all = "UPPERCASE")]
pub enum Kind {
    From(From),
    Run(Command),
    Cmd(Command),
    Entrypoint(Command),
    /// `SHELL ["executable", "args"...]`.
    Shell {
        argv: Vec<String>,
    },
    Env {
        pairs: Vec<KeyValue>,
    },
    Label {
        pairs: Vec<KeyValue>,
    },
    Arg {
        decls: Vec<ArgDecl>,
    },
    Copy(Copy),
    Add(Copy),
    User(User),
    Workdir {
        path: Word,
    },
    Expose {
        ports: Vec<Word>,
    },
    Volume {
        paths: Vec<Word>,
    },
    Stopsignal {
        signal: Word,
    },
    Healthcheck(Healthcheck),
    Onbuild(Box<Instruction>),
    Maintainer {
        name: String,
    },
    /// An instruction BuildKit does not know, or one too broken to type.
    Unknown,
}

/// `RUN`, `CMD`, `ENTRYPOINT` or `HEALTHCHECK CMD` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Command {
    pub form: CommandForm,
    /// Heredocs (`RUN <<EOF`), in order.
    pub heredocs: Vec<Heredoc>,
}

/// Exec (JSON array) or shell form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "form", content = "value", rename_all = "kebab-case")]
pub enum CommandForm {
    Exec(Vec<String>),
    Shell(String),
}

/// A heredoc body attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    /// The delimiter, unquoted.
    pub name: String,
    /// `false` when the delimiter was quoted (`<<"EOF"`): no expansion of the body.
    pub expand: bool,
    /// `<<-`: leading tabs stripped.
    pub chomp: bool,
    /// The body, each line ending in `\n`.
    pub content: String,
    /// Line of the first body line.
    pub line: u32,
}

/// `key=value` in `ENV` or `LABEL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyValue {
    pub key: String,
    pub key_pos: Pos,
    pub value: Word,
}

/// `name[=default]` in `ARG`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArgDecl {
    pub name: String,
    pub pos: Pos,
    pub default: Option<Word>,
}

/// `COPY` or `ADD` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Copy {
    pub sources: Vec<Word>,
    pub dest: Word,
    pub heredocs: Vec<Heredoc>,
}

/// `USER user[:group]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub word: Word,
    /// The user part of the expanded value.
    pub user: String,
    pub group: Option<String>,
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD ...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "command", rename_all = "kebab-case")]
pub enum Healthcheck {
    None,
    Cmd(Command),
}
