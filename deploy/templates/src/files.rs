//! The files of a task, per language and role, and of the SDK copies a project builds with.

use std::path::Path;

use anyhow::Result;
use fusion_build::sdk;

use crate::language::Lang;

/// What a task does in the template: the entry calls `check` and then `archive`.
enum Role {
    Main,
    Check,
    Archive,
    /// A task added later: answers with what it was given.
    Added,
}

fn role(task: &str) -> Role {
    match task {
        "main" => Role::Main,
        "check" => Role::Check,
        "archive" => Role::Archive,
        _ => Role::Added,
    }
}

/// The files of `task` in `lang`, relative to its folder.
pub(crate) fn task(app: &str, task: &str, lang: Lang) -> Vec<(&'static str, String)> {
    match lang {
        Lang::Rust => vec![("Cargo.toml", crate_manifest(app, task)), ("src/lib.rs", rust(role(task)).to_string())],
        Lang::Python => vec![("task.py", python(role(task)).to_string())],
        Lang::Js => vec![("task.js", js(role(task)).to_string())],
    }
}

/// Writes the SDK copy a task in `lang` builds with into the project's `sdk/`, or brings it up
/// to the SDK this binary carries.
pub(crate) fn vendor_sdk(root: &Path, lang: Lang) -> Result<()> {
    match lang {
        Lang::Rust => sdk::materialize(&root.join("sdk/rust"), &sdk::RUST),
        Lang::Js => sdk::materialize(&root.join("sdk/js"), &[sdk::JAVASCRIPT]),
        Lang::Python => Ok(()),
    }
}

/// The project's cargo workspace with `members`.
pub(crate) fn workspace(members: &[String]) -> String {
    let members: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
    format!(
        "# The project's Rust tasks, each a crate built into a component by `fusion build`.\n[workspace]\nresolver = \"3\"\nmembers = [{}]\n\n[profile.release]\nopt-level = \"s\"\nlto = true\ncodegen-units = 1\nstrip = true\n",
        members.join(", ")
    )
}

fn crate_manifest(app: &str, task: &str) -> String {
    let name = format!("{app}-{task}").to_lowercase().replace('_', "-");
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n# The Rust SDK, copied into the project by `fusion new`.\nfusion-guest = {{ path = \"../../sdk/rust\" }}\nserde_json = \"1\"\n"
    )
}

fn rust(role: Role) -> &'static str {
    match role {
        Role::Main => r#"//! The entry task: checks the order synchronously, archives it asynchronously, answers.

use fusion_guest::{Error, call, spawn};
use serde_json::{Value, json};

fn handle(order: Value) -> Result<Value, Error> {
    let verdict: Value = call("check", &order)?; // sync: waits for the answer
    spawn("archive", &json!({ "order": order, "verdict": verdict }))?; // async: goes on at once
    Ok(json!({ "order": order, "verdict": verdict }))
}

fusion_guest::export_task!(handle);
"#,
        Role::Check => r#"//! Says whether an order is fine: at most 100 of anything.

use fusion_guest::Error;
use serde_json::{Value, json};

fn handle(order: Value) -> Result<Value, Error> {
    let quantity = order["quantity"].as_u64().unwrap_or(1);
    Ok(json!({ "ok": quantity <= 100, "quantity": quantity }))
}

fusion_guest::export_task!(handle);
"#,
        Role::Archive => r#"//! Keeps a record of the order (here: says it did).

use fusion_guest::Error;
use serde_json::{Value, json};

fn handle(record: Value) -> Result<Value, Error> {
    Ok(json!({ "archived": record }))
}

fusion_guest::export_task!(handle);
"#,
        Role::Added => r#"//! A new task: answers with what it was given.

use fusion_guest::Error;
use serde_json::{Value, json};

fn handle(input: Value) -> Result<Value, Error> {
    Ok(json!({ "got": input }))
}

fusion_guest::export_task!(handle);
"#,
    }
}

fn python(role: Role) -> &'static str {
    match role {
        Role::Main => r#""""The entry task: checks the order synchronously, archives it asynchronously, answers."""
import fusion


def handle(order):
    verdict = fusion.call("check", order)  # sync: waits for the answer
    fusion.spawn("archive", {"order": order, "verdict": verdict})  # async: goes on at once
    return {"order": order, "verdict": verdict}
"#,
        Role::Check => r#""""Says whether an order is fine: at most 100 of anything."""


def handle(order):
    quantity = (order or {}).get("quantity", 1)
    return {"ok": quantity <= 100, "quantity": quantity}
"#,
        Role::Archive => r#""""Keeps a record of the order (here: says it did)."""


def handle(record):
    return {"archived": record}
"#,
        Role::Added => r#""""A new task: answers with what it was given."""


def handle(request):
    return {"got": request}
"#,
    }
}

fn js(role: Role) -> &'static str {
    match role {
        Role::Main => r#"// The entry task: checks the order synchronously, archives it asynchronously, answers.
import { call, spawn, task } from '../../sdk/js/fusion.js';

export const handle = task((order) => {
  const verdict = call('check', order); // sync: waits for the answer
  spawn('archive', { order, verdict }); // async: goes on at once
  return { order, verdict };
});
"#,
        Role::Check => r#"// Says whether an order is fine: at most 100 of anything.
import { task } from '../../sdk/js/fusion.js';

export const handle = task((order) => {
  const quantity = order?.quantity ?? 1;
  return { ok: quantity <= 100, quantity };
});
"#,
        Role::Archive => r#"// Keeps a record of the order (here: says it did).
import { task } from '../../sdk/js/fusion.js';

export const handle = task((record) => ({ archived: record }));
"#,
        Role::Added => r#"// A new task: answers with what it was given.
import { task } from '../../sdk/js/fusion.js';

export const handle = task((request) => ({ got: request }));
"#,
    }
}
