//! How the page names and colours setups, the same in every chart: a measured setup by its
//! version (and preset, when it is one), a group by a colour of its own.

use std::collections::BTreeSet;

use fusion_optimizer::search::Grouping;
use fusion_tune::Step;

use super::svg::{GREY, PALETTE};

/// `v3`, or `v1 all-remote` / `v2 all-local` when the step's setup is a preset's grouping.
pub(crate) fn label(step: &Step) -> String {
    let preset = match step.grouping.as_slice() {
        [_] => " all-local",
        groups if groups.iter().all(|(g, _)| g.len() == 1) => " all-remote",
        _ => "",
    };
    format!("v{}{preset}", step.version)
}

/// The grouping's groups of several tasks, as sets, memory sizes aside.
fn fused(grouping: &Grouping) -> BTreeSet<&BTreeSet<String>> {
    grouping.iter().map(|(g, _)| g).filter(|g| g.len() > 1).collect()
}

/// Whether two groupings fuse the same tasks together, whatever their memory sizes.
pub(crate) fn same_groups(a: &Grouping, b: &Grouping) -> bool {
    fused(a) == fused(b)
}

/// The colour of `task`'s group: grey for a task with a function to itself, else one palette
/// colour per group of several tasks (in the grouping's order).
pub(crate) fn colour_of(grouping: &Grouping, task: &str) -> &'static str {
    let mut shared = grouping.iter().filter(|(g, _)| g.len() > 1);
    match shared.position(|(g, _)| g.contains(task)) {
        Some(i) => PALETTE[i % PALETTE.len()],
        None => GREY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grouping(groups: &[&[&str]]) -> Grouping {
        groups.iter().map(|g| (g.iter().map(|t| t.to_string()).collect(), 128)).collect()
    }

    #[test]
    fn groups_compare_without_memory_and_colour_alike_only_when_fused() {
        let published = grouping(&[&["A", "B"], &["C"]]);
        let mut sized = grouping(&[&["C"], &["A", "B"]]);
        sized[1].1 = 1024;
        assert!(same_groups(&published, &sized));
        assert!(!same_groups(&published, &grouping(&[&["A"], &["B"], &["C"]])));
        assert_eq!((colour_of(&sized, "A"), colour_of(&sized, "B"), colour_of(&sized, "C")), (PALETTE[0], PALETTE[0], GREY));
    }
}
