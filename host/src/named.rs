//! Enums chosen by name on a command line or in a document: one table of names per enum, and the
//! parse and the error message that lists the choices, written once.

/// The value `name` stands for in `table`; the error names `what` was wanted and every choice.
pub fn parse<T: Copy>(table: &[(&str, T)], what: &str, name: &str) -> Result<T, String> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).ok_or_else(|| {
        let choices: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        format!("unknown {what} '{name}' ({})", choices.join(", "))
    })
}

/// The name `value` has in `table` (empty when it has none).
pub fn name_of<T: PartialEq>(table: &[(&'static str, T)], value: &T) -> &'static str {
    table.iter().find(|(_, v)| v == value).map_or("", |(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_parses_and_an_unknown_one_lists_the_choices() {
        let table = [("one", 1), ("two", 2)];
        assert_eq!(parse(&table, "number", "two"), Ok(2));
        assert_eq!(parse(&table, "number", "three"), Err("unknown number 'three' (one, two)".to_string()));
        assert_eq!(name_of(&table, &1), "one");
    }
}
