//! The languages `fusion add` writes a task in.

/// A language a task template exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// A crate, built by cargo.
    Rust,
    /// A `task.py`, built by componentize-py.
    Python,
    /// A `task.js`, built by componentize-js.
    Js,
}

impl Lang {
    /// Every language with its name on the command line.
    pub const NAMED: [(&'static str, Lang); 3] = [("rust", Lang::Rust), ("python", Lang::Python), ("js", Lang::Js)];
}

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(name: &str) -> Result<Lang, String> {
        Lang::NAMED.iter().find(|(n, _)| *n == name).map(|(_, l)| *l).ok_or_else(|| format!("unknown language '{name}' (rust, python, js)"))
    }
}
