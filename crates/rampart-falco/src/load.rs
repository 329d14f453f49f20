//! The rules-file loader, following Falco's (falcosecurity/libs `userspace/engine`
//! rule_loader_reader / rule_loader_compiler): each file is read into a collector (lists,
//! macros, rules, with `append` and `override` applied in order), then everything collected so
//! far is compiled. Like Falco, reading a file stops at its first error, compiling stops at the
//! first error, and warnings about unused macros and lists come only from a successful compile.

use crate::compile::{CompileErrorKind, Defs, Node, TypeSet, compile};
use crate::output::Template;
use crate::parser::{self, Expr, Op, quote_value};
use crate::ruleset::{CompiledRule, RuleSet};
use crate::yaml::{Pos, Y, YNode, parse_documents};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The Falco engine version rampart implements: the version the stable ruleset
/// (falcosecurity/rules, `required_engine_version: 0.57.0`) requires.
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 57, 0);
/// Size of one rules file.
pub const MAX_RULES_FILE_BYTES: usize = 16 << 20;
/// Items (rules, macros, lists...) over all files.
pub const MAX_ITEMS: usize = 100_000;
/// Items one list may hold as written.
pub const MAX_LIST_LITERAL_ITEMS: usize = 100_000;

/// Falco's result codes (`falco::load_result::error_code` and `warning_code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[allow(missing_docs)]
pub enum Code {
    LoadErrFileRead,
    LoadErrYamlParse,
    LoadErrYamlValidate,
    LoadErrCompileCondition,
    LoadErrCompileOutput,
    LoadErrValidate,
    LoadUnknownSource,
    LoadUnsafeNaCheck,
    LoadNoEvttype,
    LoadUnknownFilter,
    LoadUnusedMacro,
    LoadUnusedList,
    LoadUnknownItem,
    LoadDeprecatedItem,
    LoadAppendNoValues,
    LoadExceptionNameNotUnique,
    LoadInvalidMacroName,
    LoadInvalidListName,
    LoadCompileCondition,
    /// rampart's own: the rule needs a field rampart does not provide.
    LoadUnsupportedField,
}

impl Code {
    /// Falco's name (`LOAD_ERR_YAML_PARSE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::LoadErrFileRead => "LOAD_ERR_FILE_READ",
            Code::LoadErrYamlParse => "LOAD_ERR_YAML_PARSE",
            Code::LoadErrYamlValidate => "LOAD_ERR_YAML_VALIDATE",
            Code::LoadErrCompileCondition => "LOAD_ERR_COMPILE_CONDITION",
            Code::LoadErrCompileOutput => "LOAD_ERR_COMPILE_OUTPUT",
            Code::LoadErrValidate => "LOAD_ERR_VALIDATE",
            Code::LoadUnknownSource => "LOAD_UNKNOWN_SOURCE",
            Code::LoadUnsafeNaCheck => "LOAD_UNSAFE_NA_CHECK",
            Code::LoadNoEvttype => "LOAD_NO_EVTTYPE",
            Code::LoadUnknownFilter => "LOAD_UNKNOWN_FILTER",
            Code::LoadUnusedMacro => "LOAD_UNUSED_MACRO",
            Code::LoadUnusedList => "LOAD_UNUSED_LIST",
            Code::LoadUnknownItem => "LOAD_UNKNOWN_ITEM",
            Code::LoadDeprecatedItem => "LOAD_DEPRECATED_ITEM",
            Code::LoadAppendNoValues => "LOAD_APPEND_NO_VALUES",
            Code::LoadExceptionNameNotUnique => "LOAD_EXCEPTION_NAME_NOT_UNIQUE",
            Code::LoadInvalidMacroName => "LOAD_INVALID_MACRO_NAME",
            Code::LoadInvalidListName => "LOAD_INVALID_LIST_NAME",
            Code::LoadCompileCondition => "LOAD_COMPILE_CONDITION",
            Code::LoadUnsupportedField => "LOAD_UNSUPPORTED_FIELD",
        }
    }
    /// Falco's description of the code (`codedesc`).
    pub fn desc(self) -> &'static str {
        match self {
            Code::LoadErrFileRead => "File read error",
            Code::LoadErrYamlParse => "YAML parse error",
            Code::LoadErrYamlValidate => "Error validating internal structure of YAML file",
            Code::LoadErrCompileCondition => "Error compiling condition",
            Code::LoadErrCompileOutput => "Error compiling output",
            Code::LoadErrValidate => "Error validating rule/macro/list/exception objects",
            Code::LoadUnknownSource => "Unknown event source",
            Code::LoadUnsafeNaCheck => "Unsafe <NA> comparison in condition",
            Code::LoadNoEvttype => "No event types in condition",
            Code::LoadUnknownFilter => "Unknown field or event-type in condition or output",
            Code::LoadUnusedMacro => "Unused macro",
            Code::LoadUnusedList => "Unused list",
            Code::LoadUnknownItem => "Unknown rules file item",
            Code::LoadDeprecatedItem => "Used deprecated item",
            Code::LoadAppendNoValues => "Overriding/appending list with no values",
            Code::LoadExceptionNameNotUnique => "Multiple exceptions defined with the same name",
            Code::LoadInvalidMacroName => "Invalid macro name",
            Code::LoadInvalidListName => "Invalid list name",
            Code::LoadCompileCondition => "Condition has been compiled with a warning",
            Code::LoadUnsupportedField => "Field not supported by rampart",
        }
    }
}

/// Where a diagnostic points: the item (type and name) and the position in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// `rule`, `macro`, `list`, `exception`, `required_engine_version`, `rules content`,
    /// `rules content item`, `condition expression`...
    pub item_type: String,
    /// The item's name (empty when it has none).
    pub item_name: String,
    /// File name.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// An error or a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Falco's code.
    pub code: Code,
    /// Falco's message.
    pub message: String,
    /// Outermost first: the item, then (for conditions) the position inside the condition.
    pub locations: Vec<Location>,
}

impl Diagnostic {
    fn item(&self) -> Option<&Location> {
        self.locations
            .iter()
            .rev()
            .find(|l| l.item_type != "condition expression")
    }
    /// The type of the innermost item (`rule`, `exception`...; what Falco's tests match on).
    pub fn item_type(&self) -> &str {
        self.item().map_or("", |l| l.item_type.as_str())
    }
    /// The innermost item's name.
    pub fn item_name(&self) -> &str {
        self.item().map_or("", |l| l.item_name.as_str())
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.locations.last() {
            Some(l) => write!(
                f,
                "{}:{}:{}: {} {} '{}': {}",
                l.file,
                l.line,
                l.column,
                self.code.as_str(),
                self.item_type(),
                self.item_name(),
                self.message
            ),
            None => write!(f, "{}: {}", self.code.as_str(), self.message),
        }
    }
}

/// The result of loading one file (Falco's `falco_load_results` entry).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileResult {
    /// File name.
    pub name: String,
    /// No errors.
    pub successful: bool,
    /// Errors.
    pub errors: Vec<Diagnostic>,
    /// Warnings.
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, Clone)]
struct ListDef {
    name: String,
    items: Vec<String>,
    loc: Location,
}

#[derive(Debug, Clone)]
struct MacroDef {
    name: String,
    cond: String,
    loc: Location,
    cond_pos: Pos,
}

#[derive(Debug, Clone)]
struct ExceptionDef {
    name: String,
    /// `None` when given as a single field (not a list).
    fields: Option<Vec<String>>,
    single_field: Option<String>,
    comps: Vec<String>,
    single_comp: Option<String>,
    values: Vec<YNode>,
    loc: Location,
}

#[derive(Debug, Clone)]
struct RuleDef {
    name: String,
    cond: String,
    cond_pos: Pos,
    output: String,
    desc: String,
    priority: crate::Priority,
    tags: Vec<String>,
    source: String,
    enabled: bool,
    skip_unknown: bool,
    warn_evttypes: bool,
    exceptions: Vec<ExceptionDef>,
    loc: Location,
}

/// Loads Falco rules files in order.
#[derive(Debug, Default)]
pub struct Loader {
    lists: Vec<ListDef>,
    macros: Vec<MacroDef>,
    rules: Vec<RuleDef>,
    required_engine: Option<String>,
    items: usize,
    results: Vec<FileResult>,
    ruleset: Option<RuleSet>,
    sources: Vec<String>,
}

struct Fail(Code, String, Location);

fn loc(file: &str, item_type: &str, name: &str, pos: Pos) -> Location {
    Location {
        item_type: item_type.to_owned(),
        item_name: name.to_owned(),
        file: file.to_owned(),
        line: pos.line,
        column: pos.column,
    }
}

/// Parses `x.y.z` (or an integer `N`, read as `0.N.0` as Falco does).
pub fn parse_engine_version(s: &str) -> Option<(u64, u64, u64)> {
    let t = s.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Some((0, n, 0));
    }
    let mut it = t.split('.');
    let a = it.next()?.parse().ok()?;
    let b = it.next()?.parse().ok()?;
    let c = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Some((a, b, c))
}

fn valid_macro_name(n: &str) -> bool {
    let mut c = n.bytes();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == b'_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == b'_')
}

fn valid_list_name(n: &str) -> bool {
    let mut c = n.bytes();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == b'_')
        && c.all(|x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'-' | b'.'))
}

impl Loader {
    /// A loader accepting the `syscall` source.
    pub fn new() -> Loader {
        Loader {
            sources: vec!["syscall".to_owned()],
            ..Loader::default()
        }
    }

    /// Reads one file and compiles everything read so far. Returns this file's result.
    pub fn load(&mut self, name: &str, content: &str) -> &FileResult {
        let mut res = FileResult {
            name: name.to_owned(),
            ..FileResult::default()
        };
        if let Err(Fail(code, message, l)) = self.read(name, content, &mut res.warnings) {
            res.errors.push(Diagnostic {
                code,
                message,
                locations: vec![l],
            });
        } else {
            match self.compile(&mut res.warnings) {
                Ok(rs) => self.ruleset = Some(rs),
                Err(d) => res.errors.push(d),
            }
        }
        res.successful = res.errors.is_empty();
        self.results.push(res);
        // `results` is never empty here.
        self.results.last().unwrap_or(&EMPTY_RESULT)
    }

    /// Every file's result, in load order.
    pub fn results(&self) -> &[FileResult] {
        &self.results
    }

    /// The rule set compiled from every file, if the last load succeeded (Falco refuses to run
    /// when any file failed).
    pub fn finish(self) -> Result<RuleSet, Vec<FileResult>> {
        let failed = self.results.iter().any(|r| !r.successful);
        match self.ruleset {
            Some(rs) if !failed => Ok(rs),
            _ => Err(self.results),
        }
    }

    fn read(
        &mut self,
        file: &str,
        content: &str,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(), Fail> {
        let top = |t: &str| loc(file, t, "", Pos { line: 1, column: 1 });
        if content.len() > MAX_RULES_FILE_BYTES {
            return Err(Fail(
                Code::LoadErrFileRead,
                format!("rules file larger than {MAX_RULES_FILE_BYTES} bytes"),
                top("rules content"),
            ));
        }
        let docs = parse_documents(content).map_err(|e| {
            Fail(
                Code::LoadErrYamlParse,
                format!(
                    "yaml-cpp: error at line {}, column {}: {}",
                    e.pos.line, e.pos.column, e.message
                ),
                loc(file, "rules content", "", e.pos),
            )
        })?;
        for doc in &docs {
            let items = match &doc.v {
                Y::Null => continue,
                Y::Seq(items) => items,
                Y::Str(_) => {
                    return Err(Fail(
                        Code::LoadErrYamlValidate,
                        "Rules content is not yaml".into(),
                        loc(file, "rules content", "", doc.pos),
                    ));
                }
                Y::Map(_) => {
                    return Err(Fail(
                        Code::LoadErrYamlValidate,
                        "Rules content is not yaml array of objects".into(),
                        loc(file, "rules content", "", doc.pos),
                    ));
                }
            };
            for item in items {
                self.items += 1;
                if self.items > MAX_ITEMS {
                    return Err(Fail(
                        Code::LoadErrYamlValidate,
                        format!("more than {MAX_ITEMS} items"),
                        loc(file, "rules content item", "", item.pos),
                    ));
                }
                if !item.is_map() {
                    return Err(Fail(
                        Code::LoadErrYamlValidate,
                        "Unexpected element type. Each element should be a yaml associative array."
                            .into(),
                        loc(file, "rules content item", "", item.pos),
                    ));
                }
                self.read_item(file, item, warnings)?;
            }
        }
        Ok(())
    }

    fn read_item(
        &mut self,
        file: &str,
        item: &YNode,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(), Fail> {
        if let Some(v) = item.get("required_engine_version") {
            let l = loc(file, "required_engine_version", "", item.pos);
            let text = v.as_str().unwrap_or("");
            let Some(ver) = parse_engine_version(text) else {
                return Err(Fail(
                    Code::LoadErrYamlValidate,
                    format!(
                        "Unable to parse engine version '{text}' as a semver string. Expected \"x.y.z\" semver format."
                    ),
                    l,
                ));
            };
            if ver > ENGINE_VERSION {
                let (a, b, c) = ENGINE_VERSION;
                return Err(Fail(
                    Code::LoadErrValidate,
                    format!(
                        "Rules require engine version {}.{}.{}, but engine version is {a}.{b}.{c}",
                        ver.0, ver.1, ver.2
                    ),
                    l,
                ));
            }
            self.required_engine = Some(text.to_owned());
            return Ok(());
        }
        if let Some(v) = item.get("required_plugin_versions") {
            let l = loc(file, "required_plugin_versions", "", item.pos);
            let Y::Seq(plugins) = &v.v else {
                return Err(Fail(
                    Code::LoadErrYamlValidate,
                    "Value is not a sequence".into(),
                    l,
                ));
            };
            for p in plugins {
                let name = p.get("name").and_then(YNode::as_str).unwrap_or("");
                if name.is_empty() {
                    return Err(Fail(
                        Code::LoadErrYamlValidate,
                        "Item has no mapping for key 'name'".into(),
                        l,
                    ));
                }
                if p.get("version")
                    .and_then(YNode::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Err(Fail(
                        Code::LoadErrYamlValidate,
                        "Item has no mapping for key 'version'".into(),
                        l,
                    ));
                }
            }
            return Ok(());
        }
        if let Some(v) = item.get("list") {
            return self.read_list(file, item, v, warnings);
        }
        if let Some(v) = item.get("macro") {
            return self.read_macro(file, item, v, warnings);
        }
        if let Some(v) = item.get("rule") {
            return self.read_rule(file, item, v, warnings);
        }
        warnings.push(Diagnostic {
            code: Code::LoadUnknownItem,
            message: "Unknown top level item".into(),
            locations: vec![loc(file, "rules content item", "", item.pos)],
        });
        Ok(())
    }

    fn overrides(
        file: &str,
        item: &YNode,
        l: &Location,
        allowed_append: &[&str],
        allowed_replace: &[&str],
    ) -> Result<Option<Vec<(String, bool)>>, Fail> {
        let Some(o) = item.get("override") else {
            return Ok(None);
        };
        let Y::Map(entries) = &o.v else {
            return Err(Fail(
                Code::LoadErrYamlValidate,
                "Value is not a map".into(),
                l.clone(),
            ));
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let key = k.as_str().unwrap_or("");
            let mode = v.as_str().unwrap_or("");
            let append = match mode {
                "append" if allowed_append.contains(&key) => true,
                "replace" if allowed_replace.contains(&key) => false,
                "append" | "replace" => {
                    return Err(Fail(
                        Code::LoadErrValidate,
                        format!("Key '{key}' cannot be overridden with '{mode}'"),
                        loc(file, &l.item_type, &l.item_name, k.pos),
                    ));
                }
                _ => {
                    return Err(Fail(
                        Code::LoadErrValidate,
                        format!("Invalid override mode '{mode}' for key '{key}'"),
                        loc(file, &l.item_type, &l.item_name, v.pos),
                    ));
                }
            };
            if item.get(key).is_none() {
                return Err(Fail(
                    Code::LoadErrValidate,
                    format!("An override is defined for '{key}' but no value is present"),
                    l.clone(),
                ));
            }
            out.push((key.to_owned(), append));
        }
        if item.get("append").and_then(YNode::as_bool) == Some(true) {
            return Err(Fail(
                Code::LoadErrValidate,
                "Keys 'override' and 'append: true' cannot be used together.".into(),
                l.clone(),
            ));
        }
        Ok(Some(out))
    }

    fn name_of(file: &str, item_type: &str, item: &YNode, v: &YNode) -> Result<String, Fail> {
        match v.as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => Err(Fail(
                Code::LoadErrYamlValidate,
                format!("Mapping for key '{item_type}' is empty"),
                loc(file, item_type, "", item.pos),
            )),
        }
    }

    fn str_list(v: &YNode, l: &Location) -> Result<Vec<String>, Fail> {
        match &v.v {
            Y::Seq(items) => {
                if items.len() > MAX_LIST_LITERAL_ITEMS {
                    return Err(Fail(
                        Code::LoadErrYamlValidate,
                        format!("more than {MAX_LIST_LITERAL_ITEMS} items"),
                        l.clone(),
                    ));
                }
                items
                    .iter()
                    .map(|i| match &i.v {
                        Y::Str(s) => Ok(s.clone()),
                        Y::Null => Ok(String::new()),
                        _ => Err(Fail(
                            Code::LoadErrYamlValidate,
                            "Expected a sequence of scalars".into(),
                            l.clone(),
                        )),
                    })
                    .collect()
            }
            Y::Null => Ok(Vec::new()),
            _ => Err(Fail(
                Code::LoadErrYamlValidate,
                "Value is not a sequence".into(),
                l.clone(),
            )),
        }
    }

    fn read_list(
        &mut self,
        file: &str,
        item: &YNode,
        v: &YNode,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(), Fail> {
        let name = Self::name_of(file, "list", item, v)?;
        let l = loc(file, "list", &name, item.pos);
        if !valid_list_name(&name) {
            warnings.push(Diagnostic { code: Code::LoadInvalidListName, message: "List has an invalid name. List names should match a regular expression: ^[a-zA-Z_][a-zA-Z0-9_\\-.]*$".into(), locations: vec![l.clone()] });
        }
        let Some(items_node) = item.get("items") else {
            return Err(Fail(
                Code::LoadErrYamlValidate,
                "Item has no mapping for key 'items'".into(),
                l,
            ));
        };
        let items = Self::str_list(items_node, &l)?;
        let ov = Self::overrides(file, item, &l, &["items"], &["items"])?;
        let append = match &ov {
            Some(o) => o.iter().any(|(k, a)| k == "items" && *a),
            None => item.get("append").and_then(YNode::as_bool).unwrap_or(false),
        };
        let replace_only = matches!(&ov, Some(o) if o.iter().any(|(k, a)| k == "items" && !*a));
        let existing = self.lists.iter_mut().find(|x| x.name == name);
        if append || replace_only {
            let Some(ex) = existing else {
                let what = if ov.is_some() { "override" } else { "append" };
                return Err(Fail(
                    Code::LoadErrValidate,
                    format!("List has '{what}' key but no list by that name already exists"),
                    l,
                ));
            };
            if items.is_empty() {
                warnings.push(Diagnostic {
                    code: Code::LoadAppendNoValues,
                    message: "Overriding/appending list with no values".into(),
                    locations: vec![l.clone()],
                });
            }
            if append {
                ex.items.extend(items)
            } else {
                ex.items = items
            }
        } else if let Some(ex) = existing {
            ex.items = items;
            ex.loc = l;
        } else {
            self.lists.push(ListDef {
                name,
                items,
                loc: l,
            });
        }
        Ok(())
    }

    fn read_macro(
        &mut self,
        file: &str,
        item: &YNode,
        v: &YNode,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(), Fail> {
        let name = Self::name_of(file, "macro", item, v)?;
        let l = loc(file, "macro", &name, item.pos);
        if !valid_macro_name(&name) {
            warnings.push(Diagnostic { code: Code::LoadInvalidMacroName, message: "Macro has an invalid name. Macro names should match a regular expression: ^[a-zA-Z_][a-zA-Z0-9_]*$".into(), locations: vec![l.clone()] });
        }
        let Some(c) = item.get("condition") else {
            return Err(Fail(
                Code::LoadErrYamlValidate,
                "Item has no mapping for key 'condition'".into(),
                l,
            ));
        };
        let cond = c.as_str().unwrap_or("").to_owned();
        let ov = Self::overrides(file, item, &l, &["condition"], &["condition"])?;
        let append = match &ov {
            Some(o) => o.iter().any(|(k, a)| k == "condition" && *a),
            None => item.get("append").and_then(YNode::as_bool).unwrap_or(false),
        };
        let modify = append || ov.is_some();
        let existing = self.macros.iter_mut().find(|x| x.name == name);
        if modify {
            let Some(ex) = existing else {
                let what = if ov.is_some() { "override" } else { "append" };
                return Err(Fail(
                    Code::LoadErrValidate,
                    format!("Macro has '{what}' key but no macro by that name already exists"),
                    l,
                ));
            };
            if append {
                ex.cond.push(' ');
                ex.cond.push_str(&cond);
            } else {
                ex.cond = cond;
                ex.cond_pos = text_pos(c);
            }
        } else if let Some(ex) = existing {
            ex.cond = cond;
            ex.cond_pos = text_pos(c);
            ex.loc = l;
        } else {
            self.macros.push(MacroDef {
                name,
                cond,
                loc: l,
                cond_pos: text_pos(c),
            });
        }
        Ok(())
    }

    fn read_exceptions(
        file: &str,
        node: &YNode,
        rule: &str,
        require_fields: bool,
    ) -> Result<Vec<ExceptionDef>, Fail> {
        let Y::Seq(items) = &node.v else {
            return Err(Fail(
                Code::LoadErrYamlValidate,
                "Rule exceptions must be a sequence".into(),
                loc(file, "rule", rule, node.pos),
            ));
        };
        let mut out = Vec::new();
        for ex in items {
            let name = match ex.get("name").and_then(YNode::as_str) {
                Some(n) if !n.is_empty() => n.to_owned(),
                _ => {
                    return Err(Fail(
                        Code::LoadErrYamlValidate,
                        "Item has no mapping for key 'name'".into(),
                        loc(file, "exception", "", ex.pos),
                    ));
                }
            };
            let l = loc(file, "exception", &name, ex.pos);
            let (mut fields, mut single_field) = (None, None);
            match ex.get("fields") {
                Some(YNode { v: Y::Str(s), .. }) => single_field = Some(s.clone()),
                Some(f @ YNode { v: Y::Seq(_), .. }) => fields = Some(Self::str_list(f, &l)?),
                Some(_) => {
                    return Err(Fail(
                        Code::LoadErrValidate,
                        "Rule exception fields must be a sequence or a string".into(),
                        l,
                    ));
                }
                None if require_fields => {
                    return Err(Fail(
                        Code::LoadErrYamlValidate,
                        "Item has no mapping for key 'fields'".into(),
                        l,
                    ));
                }
                None => {}
            }
            let (mut comps, mut single_comp) = (Vec::new(), None);
            match ex.get("comps") {
                Some(YNode { v: Y::Str(s), .. }) => single_comp = Some(s.clone()),
                Some(c @ YNode { v: Y::Seq(_), .. }) => comps = Self::str_list(c, &l)?,
                _ => {}
            }
            let values = match ex.get("values") {
                Some(YNode { v: Y::Seq(v), .. }) => v.clone(),
                _ => Vec::new(),
            };
            out.push(ExceptionDef {
                name,
                fields,
                single_field,
                comps,
                single_comp,
                values,
                loc: l,
            });
        }
        Ok(out)
    }

    fn read_rule(
        &mut self,
        file: &str,
        item: &YNode,
        v: &YNode,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(), Fail> {
        let name = Self::name_of(file, "rule", item, v)?;
        let l = loc(file, "rule", &name, item.pos);
        let ov = Self::overrides(
            file,
            item,
            &l,
            &["condition", "output", "desc", "tags", "exceptions"],
            &[
                "condition",
                "output",
                "desc",
                "priority",
                "tags",
                "exceptions",
                "enabled",
                "warn_evttypes",
                "skip-if-unknown-filter",
            ],
        )?;
        let append = ov.is_none() && item.get("append").and_then(YNode::as_bool).unwrap_or(false);
        let s = |k: &str| item.get(k).and_then(YNode::as_str).map(str::to_owned);
        if let Some(o) = ov {
            let Some(idx) = self.rules.iter().position(|r| r.name == name) else {
                return Err(Fail(
                    Code::LoadErrValidate,
                    "Rule has 'override' key but no rule by that name already exists".into(),
                    l,
                ));
            };
            for (key, app) in o {
                let ex = if key == "exceptions" {
                    let node = item.get("exceptions").unwrap_or(item);
                    Some(Self::read_exceptions(file, node, &name, !app)?)
                } else {
                    None
                };
                let r = self
                    .rules
                    .get_mut(idx)
                    .ok_or_else(|| Fail(Code::LoadErrValidate, "internal".into(), l.clone()))?;
                Self::apply(r, item, &key, app, ex, &l)?;
            }
            return Ok(());
        }
        if append {
            let Some(r) = self.rules.iter_mut().find(|r| r.name == name) else {
                return Err(Fail(
                    Code::LoadErrValidate,
                    "Rule has 'append' key but no rule by that name already exists".into(),
                    l,
                ));
            };
            let has_cond = item.get("condition").is_some();
            let has_ex = item.get("exceptions").is_some();
            if !has_cond && !has_ex {
                return Err(Fail(
                    Code::LoadErrValidate,
                    "Appended rule must have exceptions or condition property".into(),
                    l,
                ));
            }
            if let Some(c) = s("condition") {
                r.cond.push(' ');
                r.cond.push_str(&c);
            }
            if let Some(node) = item.get("exceptions") {
                let ex = Self::read_exceptions(file, node, &name, false)?;
                Self::append_exceptions(r, ex)?;
            }
            if let Some(o) = s("output") {
                r.output.push(' ');
                r.output.push_str(&o);
            }
            return Ok(());
        }
        // Only `enabled` given: switch an existing rule on or off (Falco's legacy form).
        let only_enabled = item.get("enabled").is_some()
            && ["condition", "output", "desc", "priority"]
                .iter()
                .all(|k| item.get(k).is_none());
        if only_enabled {
            if let Some(r) = self.rules.iter_mut().find(|r| r.name == name) {
                r.enabled = item.get("enabled").and_then(YNode::as_bool).unwrap_or(true);
                return Ok(());
            }
        }
        let req = |k: &str| -> Result<&YNode, Fail> {
            item.get(k).ok_or_else(|| {
                Fail(
                    Code::LoadErrYamlValidate,
                    format!("Item has no mapping for key '{k}'"),
                    l.clone(),
                )
            })
        };
        let cond_node = req("condition")?;
        let output = req("output")?.as_str().unwrap_or("").to_owned();
        let desc = req("desc")?.as_str().unwrap_or("").to_owned();
        let prio_text = req("priority")?.as_str().unwrap_or("").to_owned();
        let priority = crate::Priority::parse(&prio_text)
            .ok_or_else(|| Fail(Code::LoadErrValidate, "Invalid priority".into(), l.clone()))?;
        let tags = match item.get("tags") {
            Some(t) => Self::str_list(t, &l)?,
            None => Vec::new(),
        };
        let exceptions = match item.get("exceptions") {
            Some(node) => Self::read_exceptions(file, node, &name, true)?,
            None => Vec::new(),
        };
        let mut seen = HashSet::new();
        for e in &exceptions {
            if !seen.insert(e.name.clone()) {
                warnings.push(Diagnostic {
                    code: Code::LoadExceptionNameNotUnique,
                    message: format!(
                        "Multiple definitions of exception '{}' in the same rule",
                        e.name
                    ),
                    locations: vec![e.loc.clone()],
                });
            }
        }
        let def = RuleDef {
            name: name.clone(),
            cond: cond_node.as_str().unwrap_or("").to_owned(),
            cond_pos: text_pos(cond_node),
            output,
            desc,
            priority,
            tags,
            source: s("source").unwrap_or_else(|| "syscall".to_owned()),
            enabled: item.get("enabled").and_then(YNode::as_bool).unwrap_or(true),
            skip_unknown: item
                .get("skip-if-unknown-filter")
                .and_then(YNode::as_bool)
                .unwrap_or(false),
            warn_evttypes: item
                .get("warn_evttypes")
                .and_then(YNode::as_bool)
                .unwrap_or(true),
            exceptions,
            loc: l,
        };
        match self.rules.iter_mut().find(|r| r.name == name) {
            Some(r) => *r = def,
            None => self.rules.push(def),
        }
        Ok(())
    }

    fn append_exceptions(r: &mut RuleDef, ex: Vec<ExceptionDef>) -> Result<(), Fail> {
        for e in ex {
            match r.exceptions.iter_mut().find(|x| x.name == e.name) {
                Some(x) => x.values.extend(e.values),
                None => {
                    if e.fields.is_none() && e.single_field.is_none() {
                        return Err(Fail(
                            Code::LoadErrValidate,
                            "Rule exception must have fields property with a list of fields".into(),
                            e.loc,
                        ));
                    }
                    r.exceptions.push(e);
                }
            }
        }
        Ok(())
    }

    fn apply(
        r: &mut RuleDef,
        item: &YNode,
        key: &str,
        append: bool,
        ex: Option<Vec<ExceptionDef>>,
        l: &Location,
    ) -> Result<(), Fail> {
        let s = |k: &str| item.get(k).and_then(YNode::as_str).unwrap_or("").to_owned();
        let join = |a: &mut String, b: String| {
            if append {
                a.push(' ');
                a.push_str(&b);
            } else {
                *a = b;
            }
        };
        match key {
            "condition" => join(&mut r.cond, s("condition")),
            "output" => join(&mut r.output, s("output")),
            "desc" => join(&mut r.desc, s("desc")),
            "priority" => {
                r.priority = crate::Priority::parse(&s("priority")).ok_or_else(|| {
                    Fail(Code::LoadErrValidate, "Invalid priority".into(), l.clone())
                })?;
            }
            "tags" => {
                let t = item
                    .get("tags")
                    .map(|t| Self::str_list(t, l))
                    .transpose()?
                    .unwrap_or_default();
                if append { r.tags.extend(t) } else { r.tags = t }
            }
            "enabled" => r.enabled = item.get("enabled").and_then(YNode::as_bool).unwrap_or(true),
            "warn_evttypes" => {
                r.warn_evttypes = item
                    .get("warn_evttypes")
                    .and_then(YNode::as_bool)
                    .unwrap_or(true)
            }
            "skip-if-unknown-filter" => {
                r.skip_unknown = item
                    .get("skip-if-unknown-filter")
                    .and_then(YNode::as_bool)
                    .unwrap_or(false)
            }
            "exceptions" => {
                let ex = ex.unwrap_or_default();
                if append {
                    Self::append_exceptions(r, ex)?
                } else {
                    r.exceptions = ex
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Expands a rule's exceptions into condition text, as Falco does.
    fn exceptions_cond(r: &RuleDef) -> Result<String, Diagnostic> {
        let fail = |code: Code, msg: String, e: &ExceptionDef| Diagnostic {
            code,
            message: msg,
            locations: vec![r.loc.clone(), e.loc.clone()],
        };
        let mut out = String::new();
        for e in &r.exceptions {
            let check_field = |f: &str| -> Result<(), Diagnostic> {
                let (n, a) = match f.find('[') {
                    Some(b) if f.ends_with(']') => {
                        (f.get(..b).unwrap_or(f), f.get(b + 1..f.len() - 1))
                    }
                    _ => (f, None),
                };
                crate::fields::bind(n, a).map(|_| ()).map_err(|_| {
                    fail(
                        Code::LoadErrValidate,
                        format!("'{f}' is not a supported filter field"),
                        e,
                    )
                })
            };
            let check_comp = |c: &str| -> Result<(), Diagnostic> {
                match Op::from_comp(c) {
                    Some(_) => Ok(()),
                    None => Err(fail(
                        Code::LoadErrValidate,
                        format!("'{c}' is not a supported comparison operator"),
                        e,
                    )),
                }
            };
            let value_text = |v: &YNode| -> String {
                match &v.v {
                    Y::Seq(items) => {
                        let parts: Vec<String> = items
                            .iter()
                            .map(|i| quote_value(i.as_str().unwrap_or("")))
                            .collect();
                        format!("({})", parts.join(", "))
                    }
                    _ => quote_value(v.as_str().unwrap_or("")),
                }
            };
            let mut alts: Vec<String> = Vec::new();
            if let Some(field) = &e.single_field {
                check_field(field)?;
                let comp = e.single_comp.clone().unwrap_or_else(|| "in".to_owned());
                check_comp(&comp)?;
                if e.values.is_empty() {
                    continue;
                }
                let parts: Vec<String> = e.values.iter().map(value_text).collect();
                alts.push(format!("{field} {comp} ({})", parts.join(", ")));
            } else if let Some(fields) = &e.fields {
                for f in fields {
                    check_field(f)?;
                }
                let comps: Vec<String> = if e.comps.is_empty() && e.single_comp.is_none() {
                    vec!["=".to_owned(); fields.len()]
                } else if let Some(c) = &e.single_comp {
                    vec![c.clone(); fields.len()]
                } else {
                    e.comps.clone()
                };
                if comps.len() != fields.len() {
                    return Err(fail(
                        Code::LoadErrValidate,
                        "Fields and comps lists must have equal length".into(),
                        e,
                    ));
                }
                for c in &comps {
                    check_comp(c)?;
                }
                for v in &e.values {
                    let Y::Seq(tuple) = &v.v else {
                        return Err(fail(
                            Code::LoadErrValidate,
                            "Expected values array for item to contain a list of objects".into(),
                            e,
                        ));
                    };
                    if tuple.len() != fields.len() {
                        return Err(fail(
                            Code::LoadErrValidate,
                            "Fields and values lists must have equal length".into(),
                            e,
                        ));
                    }
                    let parts: Vec<String> = fields
                        .iter()
                        .zip(&comps)
                        .zip(tuple)
                        .map(|((f, c), val)| {
                            let op = Op::from_comp(c);
                            let vt = if op.is_some_and(Op::is_list) && !matches!(val.v, Y::Seq(_)) {
                                format!("({})", quote_value(val.as_str().unwrap_or("")))
                            } else {
                                value_text(val)
                            };
                            format!("{f} {c} {vt}")
                        })
                        .collect();
                    alts.push(format!("({})", parts.join(" and ")));
                }
            }
            if !alts.is_empty() {
                out.push_str(" and not (");
                out.push_str(&alts.join(" or "));
                out.push(')');
            }
        }
        Ok(out)
    }

    fn compile(&self, warnings: &mut Vec<Diagnostic>) -> Result<RuleSet, Diagnostic> {
        // Lists, nested lists resolved against lists defined before.
        let mut lists: HashMap<String, Vec<String>> = HashMap::new();
        let mut used_lists: HashSet<String> = HashSet::new();
        for l in &self.lists {
            let mut items = Vec::new();
            for it in &l.items {
                match lists.get(it) {
                    Some(inner) => {
                        used_lists.insert(it.clone());
                        items.extend(inner.iter().cloned());
                    }
                    None => items.push(unquote(it)),
                }
                if items.len() > crate::compile::MAX_LIST_ITEMS {
                    return Err(Diagnostic {
                        code: Code::LoadErrValidate,
                        message: format!(
                            "list expands to more than {} items",
                            crate::compile::MAX_LIST_ITEMS
                        ),
                        locations: vec![l.loc.clone()],
                    });
                }
            }
            lists.insert(l.name.clone(), items);
        }
        // Macros: parse, then check references.
        let mut macros: HashMap<String, Expr> = HashMap::new();
        for m in &self.macros {
            let e = parser::parse(&m.cond).map_err(|pe| Diagnostic {
                code: Code::LoadErrCompileCondition,
                message: pe.message.clone(),
                locations: vec![
                    m.loc.clone(),
                    cond_loc(&m.loc, m.cond_pos, &m.cond, pe.offset),
                ],
            })?;
            macros.insert(m.name.clone(), e);
        }
        // As in Falco, a macro or list referred to by any macro counts as used.
        let mut used_macros: HashSet<String> = HashSet::new();
        for m in &self.macros {
            if let Some(e) = macros.get(&m.name) {
                let mut refs = Vec::new();
                macro_refs(e, &mut refs);
                list_refs(e, &lists, &mut used_lists);
                for (r, off) in refs {
                    used_macros.insert(r.clone());
                    if !macros.contains_key(&r) {
                        return Err(Diagnostic {
                            code: Code::LoadErrValidate,
                            message: format!("Undefined macro '{r}' used in filter."),
                            locations: vec![
                                m.loc.clone(),
                                cond_loc(&m.loc, m.cond_pos, &m.cond, off),
                            ],
                        });
                    }
                }
            }
        }
        let defs = Defs {
            macros: &macros,
            lists: &lists,
        };
        let mut rules = Vec::new();
        for r in &self.rules {
            if !self.sources.contains(&r.source) {
                warnings.push(Diagnostic {
                    code: Code::LoadUnknownSource,
                    message: format!("Unknown source {}, skipping", r.source),
                    locations: vec![r.loc.clone()],
                });
                continue;
            }
            let exc = Self::exceptions_cond(r)?;
            // Offsets into `text` are one past the rule's own text when exceptions wrap it.
            let shift = usize::from(!exc.is_empty());
            let text = if exc.is_empty() {
                r.cond.clone()
            } else {
                format!("({}){exc}", r.cond)
            };
            let ast = parser::parse(&text).map_err(|pe| Diagnostic {
                code: Code::LoadErrCompileCondition,
                message: pe.message.clone(),
                locations: vec![
                    r.loc.clone(),
                    cond_loc(&r.loc, r.cond_pos, &r.cond, pe.offset.saturating_sub(shift)),
                ],
            })?;
            let mut unsupported_fields = Vec::new();
            let node: Node = match compile(&ast, &defs, &mut used_macros, &mut used_lists) {
                Ok(n) => n,
                Err(ce) if ce.kind == CompileErrorKind::Unsupported => {
                    let field = ce.field.clone().unwrap_or_default();
                    warnings.push(Diagnostic {
                        code: Code::LoadUnsupportedField,
                        message: format!("rule needs field {field}, which rampart does not provide: the rule is not evaluated"),
                        locations: vec![r.loc.clone()],
                    });
                    unsupported_fields.push(field);
                    Node::Or(Box::new([]))
                }
                Err(ce) => {
                    let mut locations = vec![r.loc.clone()];
                    match (
                        ce.offset,
                        ce.in_macro
                            .as_ref()
                            .and_then(|n| self.macros.iter().find(|m| &m.name == n)),
                    ) {
                        // The error is the rule's; its position is in the macro's text.
                        (Some(off), Some(m)) => {
                            locations.push(cond_loc(&m.loc, m.cond_pos, &m.cond, off));
                        }
                        (Some(off), None) => {
                            locations.push(cond_loc(
                                &r.loc,
                                r.cond_pos,
                                &r.cond,
                                off.saturating_sub(shift),
                            ));
                        }
                        _ => {}
                    }
                    let code = match ce.kind {
                        CompileErrorKind::UndefinedMacro => Code::LoadErrValidate,
                        CompileErrorKind::UnknownFilter if r.skip_unknown => {
                            warnings.push(Diagnostic {
                                code: Code::LoadUnknownFilter,
                                message: ce.message,
                                locations,
                            });
                            continue;
                        }
                        _ => Code::LoadErrCompileCondition,
                    };
                    return Err(Diagnostic {
                        code,
                        message: ce.message,
                        locations,
                    });
                }
            };
            let output = match Template::compile(&r.output) {
                Ok(t) => t,
                Err(msg) => {
                    let d = Diagnostic {
                        code: Code::LoadErrCompileOutput,
                        message: msg,
                        locations: vec![r.loc.clone()],
                    };
                    if r.skip_unknown {
                        warnings.push(Diagnostic {
                            code: Code::LoadUnknownFilter,
                            ..d
                        });
                        continue;
                    }
                    return Err(d);
                }
            };
            for f in output.unsupported() {
                warnings.push(Diagnostic {
                    code: Code::LoadUnsupportedField,
                    message: format!("output field {f} is not provided by rampart: it prints <NA>"),
                    locations: vec![r.loc.clone()],
                });
            }
            let types = node.evt_types();
            if matches!(types, TypeSet::AllBut(_))
                && r.warn_evttypes
                && unsupported_fields.is_empty()
            {
                warnings.push(Diagnostic { code: Code::LoadNoEvttype, message: "Rule matches too many evt.type values. This has a significant performance penalty.".into(), locations: vec![r.loc.clone()] });
            }
            let mut fields = BTreeSet::new();
            node.fields(&mut fields);
            rules.push(CompiledRule {
                name: r.name.clone(),
                desc: r.desc.clone(),
                priority: r.priority,
                tags: r.tags.clone(),
                source: r.source.clone(),
                enabled: r.enabled,
                condition: r.cond.clone(),
                node,
                output,
                output_text: r.output.clone(),
                types,
                fields,
                unsupported_fields,
            });
        }
        for m in &self.macros {
            if !used_macros.contains(&m.name) {
                warnings.push(Diagnostic {
                    code: Code::LoadUnusedMacro,
                    message: "Macro not referred to by any other rule/macro".into(),
                    locations: vec![m.loc.clone()],
                });
            }
        }
        for l in &self.lists {
            if !used_lists.contains(&l.name) {
                warnings.push(Diagnostic {
                    code: Code::LoadUnusedList,
                    message: "List not referred to by any other rule/macro".into(),
                    locations: vec![l.loc.clone()],
                });
            }
        }
        Ok(RuleSet::new(rules, self.required_engine.clone()))
    }
}

static EMPTY_RESULT: FileResult = FileResult {
    name: String::new(),
    successful: false,
    errors: Vec::new(),
    warnings: Vec::new(),
};

/// Where a scalar's text starts (after its opening quote).
fn text_pos(n: &YNode) -> Pos {
    if n.quoted {
        Pos {
            line: n.pos.line,
            column: n.pos.column.saturating_add(1),
        }
    } else {
        n.pos
    }
}

/// A list item written with its own quotes (`'"10.0.0.0/8"'`, from the days lists were pasted
/// into condition text) stands for the unquoted value, as in Falco.
fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(b'"'), Some(b'"')) | (Some(b'\''), Some(b'\'')) if b.len() >= 2 => {
            s.get(1..s.len() - 1).unwrap_or(s).to_owned()
        }
        _ => s.to_owned(),
    }
}

fn list_refs(e: &Expr, lists: &HashMap<String, Vec<String>>, used: &mut HashSet<String>) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|x| list_refs(x, lists, used)),
        Expr::Not(x) => list_refs(x, lists, used),
        Expr::Macro { .. } => {}
        Expr::Check { rhs, .. } => {
            if let parser::Rhs::List(items) = rhs {
                for i in items {
                    if lists.contains_key(i) {
                        used.insert(i.clone());
                    }
                }
            }
        }
    }
}

fn macro_refs(e: &Expr, out: &mut Vec<(String, usize)>) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|x| macro_refs(x, out)),
        Expr::Not(x) => macro_refs(x, out),
        Expr::Macro { name, pos } => out.push((name.clone(), *pos)),
        Expr::Check { .. } => {}
    }
}

/// The file position of byte `offset` of a condition that starts at `start` (exact for plain
/// one-line scalars, the start of the condition otherwise).
fn cond_loc(item: &Location, start: Pos, text: &str, offset: usize) -> Location {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let (line, column) = if before.contains('\n') {
        (start.line, start.column)
    } else {
        (
            start.line,
            start
                .column
                .saturating_add(u32::try_from(before.chars().count()).unwrap_or(0)),
        )
    };
    Location {
        item_type: "condition expression".into(),
        item_name: String::new(),
        file: item.file.clone(),
        line,
        column,
    }
}
