//! `fusion new` and `fusion add`: a project from a template, a task added to one.

use std::path::PathBuf;

use anyhow::Result;
use fusion_project::Project;
use fusion_templates::{Lang, Template};

/// `fusion new`'s options.
#[derive(clap::Args)]
pub struct NewArgs {
    /// The project's folder; its last part names the app.
    path: PathBuf,
    /// rust, python, js, or mixed (the entry in Rust, the others in Python and JavaScript).
    #[arg(long, default_value = "rust")]
    template: Template,
}

/// `fusion add`'s options.
#[derive(clap::Args)]
pub struct AddArgs {
    /// The new task's name.
    task: String,
    /// The language of its template: rust, python or js.
    #[arg(long, default_value = "rust")]
    lang: Lang,
}

/// Writes the project and says what to do next.
pub async fn new(args: NewArgs) -> Result<()> {
    let project = fusion_templates::new_project(&args.path, args.template)?;
    println!("created {} in {}: main calls check (sync) and archive (async)", project.name(), project.root.display());
    for (task, source) in &project.manifest.tasks {
        println!("  {task:<10} {}", source.kind());
    }
    println!("next: cd {} && fusion run", args.path.display());
    Ok(())
}

/// Adds the task, says where it is and how another task calls it.
pub async fn add(project: &Project, args: AddArgs) -> Result<()> {
    let folder = fusion_templates::add_task(project, &args.task, args.lang)?;
    let task = &args.task;
    println!("added task {task} to {}: {}", project.manifest_file().display(), folder.display());
    println!("next: call it from another task (`spawn` for fire and forget), then fusion run");
    println!("  Rust        fusion_guest::call(\"{task}\", &input)");
    println!("  Python      fusion.call(\"{task}\", input)");
    println!("  JavaScript  call(\"{task}\", input)");
    Ok(())
}
