//! Dockerfile parsing and build-layer hardening rules.
//!
//! [`parse`] reads a Dockerfile the way BuildKit's frontend does (directives, heredocs,
//! continuations, `ARG`/`ENV` substitution, stages) into a typed [`Dockerfile`], never panicking
//! on hostile input. [`scan`] runs the [`rules`] over it and returns a
//! [`rampart_core::Assessment`]: every control evaluated (pass or fail) and the findings.

#![deny(clippy::indexing_slicing)]

mod ast;
mod image;
mod lex;
mod parser;

pub use ast::{
    ArgDecl, BaseImage, Command, CommandForm, Comment, Copy, Diagnostic, Directive, Dockerfile,
    Flag, From, Healthcheck, Heredoc, Instruction, KeyValue, Kind, Parsed, Pos, Stage, User, Word,
};
pub use image::ImageRef;
pub use parser::{MAX_DIAGNOSTICS, parse};
