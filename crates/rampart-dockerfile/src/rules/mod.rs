//! The build-layer rules. Each rule is a `pub static RULE: Rule` in its own file with a
//! `check` function; [`CHECKS`] is the one registry, and [`rules`] lists it.
//!
//! Scope policy, shared by all rules: a stage *ships* when the final image is built on its
//! filesystem (the final stage, and the stages it is built `FROM`, transitively). Size and
//! hygiene rules only look at shipping stages; security rules look at every stage and lower the
//! severity one step where the weakness stays in a stage that does not ship.

use crate::ast::{Dockerfile, Instruction, Kind, Pos, Stage};
use crate::shell::{self, SimpleCommand};
use crate::{BaseImage, CommandForm, ImageRef};
use rampart_core::{Finding, Location, Rule};
use std::sync::LazyLock;

pub mod add;
pub mod apt;
pub(crate) mod bases;
pub mod build_tools;
pub mod cmd;
pub mod copy_context;
pub mod healthcheck;
pub mod passwords;
pub mod permissions;
pub mod pinning;
pub mod pipe_to_shell;
pub mod root_user;
pub mod secrets;
pub mod shell_in_image;
pub mod ssh;
pub mod style;
pub mod sudo;
pub mod verification;

/// A rule's check: reads the context, appends findings.
pub(crate) type Check = fn(&Cx<'_>, &mut Vec<Finding>);

/// Every rule with its check, in id order. The single registry.
pub(crate) static CHECKS: &[(&Rule, Check)] = &[
    (&root_user::RULE, root_user::check),
    (&pinning::NOT_PINNED, pinning::check_digest),
    (&pinning::LATEST, pinning::check_latest),
    (&build_tools::RULE, build_tools::check),
    (&shell_in_image::RULE, shell_in_image::check),
    (&secrets::SECRET_NAME, secrets::check_names),
    (&secrets::CREDENTIAL, secrets::check_values),
    (&add::REMOTE, add::check_remote),
    (&add::LOCAL, add::check_local),
    (&copy_context::RULE, copy_context::check),
    (&sudo::RULE, sudo::check),
    (&apt::RECOMMENDS, apt::check_recommends),
    (&apt::LISTS, apt::check_lists),
    (&apt::APK_CACHE, apt::check_apk_cache),
    (&apt::PIP_CACHE, apt::check_pip_cache),
    (&permissions::RULE, permissions::check),
    (&ssh::RULE, ssh::check),
    (&healthcheck::RULE, healthcheck::check),
    (&pipe_to_shell::RULE, pipe_to_shell::check),
    (&apt::UPGRADE, apt::check_upgrade),
    (&apt::UPDATE_ALONE, apt::check_update_alone),
    (&style::MAINTAINER, style::check_maintainer),
    (&style::RELATIVE_WORKDIR, style::check_workdir),
    (&cmd::DUPLICATE, cmd::check_duplicate),
    (&cmd::SHELL_FORM, cmd::check_shell_form),
    (&style::RUN_CD, style::check_run_cd),
    (&secrets::SENSITIVE_COPY, secrets::check_copies),
    (&verification::RULE, verification::check),
    (&passwords::RULE, passwords::check),
    (&apt::APT_CLI, apt::check_apt_cli),
];

static RULES: LazyLock<Vec<&'static Rule>> =
    LazyLock::new(|| CHECKS.iter().map(|(rule, _)| *rule).collect());

/// Every Dockerfile rule, in id order.
pub fn rules() -> &'static [&'static Rule] {
    RULES.as_slice()
}

/// What the rules read: the parsed file and per-stage views.
pub(crate) struct Cx<'a> {
    pub path: &'a str,
    pub subject: &'a str,
    pub df: &'a Dockerfile,
    pub has_dockerignore: bool,
    pub stages: Vec<StageView<'a>>,
    /// Lower-cased `AS` names, for `COPY --from` lookups in constant time.
    pub stage_names: std::collections::HashSet<String>,
}

/// One stage, prepared for the rules.
pub(crate) struct StageView<'a> {
    pub stage: &'a Stage,
    pub from: Option<&'a Instruction>,
    pub instructions: &'a [Instruction],
    pub is_final: bool,
    /// The final image is built on this stage's filesystem.
    pub ships: bool,
    /// `RUN` instructions with their scripts split into commands.
    pub runs: Vec<Run<'a>>,
}

/// A `RUN` instruction, analysed.
pub(crate) struct Run<'a> {
    pub inst: &'a Instruction,
    pub commands: Vec<SimpleCommand>,
    /// The script text (shell form, heredoc bodies run as scripts, `sh -c` of exec form).
    pub script: String,
}

impl<'a> Cx<'a> {
    pub fn new(
        path: &'a str,
        subject: &'a str,
        df: &'a Dockerfile,
        has_dockerignore: bool,
    ) -> Self {
        let last = df.stages.len().checked_sub(1);
        let mut ships = vec![false; df.stages.len()];
        let mut cur = last;
        let mut guard = 0;
        while let Some(i) = cur {
            if let Some(s) = ships.get_mut(i) {
                if *s {
                    break;
                }
                *s = true;
            }
            guard += 1;
            if guard > df.stages.len() {
                break;
            }
            cur = match df.stages.get(i).map(|s| &s.from.base) {
                Some(BaseImage::Stage(p)) if *p < i => Some(*p),
                _ => None,
            };
        }
        let stages = df
            .stages
            .iter()
            .map(|stage| {
                let instructions = df.stage_instructions(stage);
                let runs = instructions
                    .iter()
                    .filter_map(|inst| match &inst.kind {
                        Kind::Run(cmd) => {
                            let script = run_script(cmd);
                            Some(Run {
                                inst,
                                commands: shell::commands(&script),
                                script,
                            })
                        }
                        _ => None,
                    })
                    .collect();
                StageView {
                    stage,
                    from: df.stage_from(stage),
                    instructions,
                    is_final: Some(stage.index) == last,
                    ships: ships.get(stage.index).copied().unwrap_or(false),
                    runs,
                }
            })
            .collect();
        let stage_names = df
            .stages
            .iter()
            .filter_map(|s| s.name.as_deref().map(str::to_ascii_lowercase))
            .collect();
        Cx {
            path,
            subject,
            df,
            has_dockerignore,
            stages,
            stage_names,
        }
    }

    /// The final stage's chain: the final stage first, then the stages it is built on.
    pub fn final_chain(&self) -> Vec<&StageView<'a>> {
        let mut chain: Vec<&StageView<'a>> = self.stages.iter().filter(|s| s.ships).collect();
        chain.reverse();
        chain
    }

    /// The registry image at the root of the final chain, if it is one.
    pub fn final_base(&self) -> Option<(&StageView<'a>, &'a ImageRef)> {
        let root = self.final_chain().into_iter().last()?;
        match &root.stage.from.base {
            BaseImage::Image(r) => Some((root, r)),
            _ => None,
        }
    }

    /// A finding located in `stage` at `pos`.
    pub fn finding(
        &self,
        rule: &'static Rule,
        stage: &StageView<'_>,
        pos: Pos,
        message: String,
    ) -> Finding {
        Finding::new(
            rule,
            self.subject,
            Location {
                file: self.path.to_owned(),
                line: pos.line,
                column: pos.column,
                object: None,
                stage: Some(rampart_core::Stage {
                    index: stage.stage.index,
                    name: stage.stage.name.clone(),
                    is_final: stage.is_final,
                }),
            },
            message,
        )
    }

    /// A finding whose severity is lowered when the stage does not ship.
    pub fn staged_finding(
        &self,
        rule: &'static Rule,
        stage: &StageView<'_>,
        pos: Pos,
        message: String,
    ) -> Finding {
        let f = self.finding(rule, stage, pos, message);
        if stage.ships {
            f
        } else {
            let lowered = f.severity.lowered();
            f.with_severity(lowered)
        }
    }
}

impl StageView<'_> {
    /// How the stage is named in messages: `stage "build"` or `stage 2`.
    pub fn label(&self) -> String {
        match &self.stage.name {
            Some(n) => format!("stage `{n}`"),
            None => format!("stage {}", self.stage.index),
        }
    }

    /// Where the stage starts.
    pub fn start(&self) -> Pos {
        self.from.map_or(
            Pos {
                line: self.stage.line,
                column: 1,
            },
            Instruction::pos,
        )
    }
}

const SHELLS: [&str; 7] = ["sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"];

/// The text a `RUN` executes, for analysis.
fn run_script(cmd: &crate::Command) -> String {
    let mut script = match &cmd.form {
        CommandForm::Shell(s) => s.clone(),
        CommandForm::Exec(argv) => {
            let is_shell = argv
                .first()
                .is_some_and(|a| SHELLS.contains(&shell::basename(a)));
            match argv.iter().position(|a| a == "-c") {
                Some(i) if is_shell => argv.get(i + 1).cloned().unwrap_or_default(),
                _ => argv.join(" "),
            }
        }
    };
    if !cmd.heredocs.is_empty() {
        // The body runs as a script when the heredoc is the command or is fed to a shell.
        let first = match &cmd.form {
            CommandForm::Shell(s) => s.split_whitespace().next().unwrap_or(""),
            CommandForm::Exec(_) => "",
        };
        let runs_body = first.starts_with("<<")
            || SHELLS.contains(&shell::basename(first))
            || script.contains("| sh")
            || script.contains("| bash");
        if runs_body {
            for h in &cmd.heredocs {
                script.push('\n');
                script.push_str(&h.content);
            }
        }
    }
    script
}

/// `--mount=type=cache,target=/x` flags of a `RUN`: the targets of cache and tmpfs mounts.
pub(crate) fn cache_targets(inst: &Instruction) -> Vec<String> {
    inst.flags_named("mount")
        .filter_map(|f| f.value.as_ref())
        .filter_map(|v| {
            let mut kind = "bind";
            let mut target = None;
            for part in v.value.split(',') {
                match part.split_once('=') {
                    Some(("type", t)) => kind = t,
                    Some(("target" | "dst" | "destination", t)) => target = Some(t),
                    _ => {}
                }
            }
            (kind == "cache" || kind == "tmpfs")
                .then(|| target.map(str::to_owned))
                .flatten()
        })
        .collect()
}

/// A shortened command line for messages.
pub(crate) fn short(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let max = 80;
    match one_line.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", one_line.get(..i).unwrap_or("")),
        None => one_line,
    }
}
