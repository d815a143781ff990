//! The languages a task can be written in, and what the builder knows about each guest language
//! it builds itself (Rust tasks are cargo's).

/// The languages a task can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    /// A crate built by cargo for wasm32-wasip2.
    Rust,
    /// A `task.py`, built by componentize-py.
    Python,
    /// A `task.js`, built by componentize-js.
    JavaScript,
}

impl Language {
    /// The language's name, for people.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
        }
    }
}

/// The languages built here rather than by cargo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Guest {
    Python,
    JavaScript,
}

impl Guest {
    pub(crate) const ALL: [Guest; 2] = [Guest::Python, Guest::JavaScript];

    pub(crate) fn language(self) -> Language {
        match self {
            Guest::Python => Language::Python,
            Guest::JavaScript => Language::JavaScript,
        }
    }

    /// The file that makes a folder a task of this language.
    pub(crate) fn source_file(self) -> &'static str {
        match self {
            Guest::Python => "task.py",
            Guest::JavaScript => "task.js",
        }
    }

    pub(crate) fn extension(self) -> &'static str {
        match self {
            Guest::Python => "py",
            Guest::JavaScript => "js",
        }
    }

    /// The language's SDK, below the checkout.
    pub(crate) fn sdk_dir(self) -> &'static str {
        match self {
            Guest::Python => "guest-sdk/python",
            Guest::JavaScript => "guest-sdk/js",
        }
    }
}

