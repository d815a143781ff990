//! The languages a task can be written in, and what the builder knows about the guest languages
//! it builds with a toolchain of its own (Rust tasks are cargo's, other ones their command's).

/// The languages a task can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    /// A crate built by cargo for wasm32-wasip2.
    Rust,
    /// A `task.py`, built by componentize-py.
    Python,
    /// A `task.js`, built by componentize-js.
    JavaScript,
    /// Built by a command of the project's (C with wit-bindgen, TinyGo, a component handed over).
    Other,
}

impl Language {
    /// The language's name, for people.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
            Language::Other => "its own build",
        }
    }
}

/// The languages built with a toolchain Fusion installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Guest {
    Python,
    JavaScript,
}

impl Guest {
    pub(crate) fn language(self) -> Language {
        match self {
            Guest::Python => Language::Python,
            Guest::JavaScript => Language::JavaScript,
        }
    }

    /// The extension of the language's source files.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Guest::Python => "py",
            Guest::JavaScript => "js",
        }
    }
}
