//! Fusionize++'s optimizer as published, the baseline to beat. Each iteration inlines one
//! synchronous edge that still crosses a function boundary (merging the callee's group into the
//! caller's); async edges stay remote. Once no sync edge is left, it sweeps memory sizes with all
//! functions together, and each function then gets the size at which it measured cheapest.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use fusion_host::{CallMode, FusionSetup};

use crate::profile::Profile;
use crate::search::{Grouping, setup_of};

/// The sizes Fusionize++ sweeps, all functions at once.
pub const SWEEP_MB: [u32; 6] = [128, 768, 1024, 1536, 1650, 2048];

/// The groups of a setup: the tasks each reachable function runs, and its memory size.
pub fn grouping_of(setup: &FusionSetup, tasks: &BTreeSet<String>) -> Grouping {
    let mut grouped = BTreeSet::new();
    let mut grouping = Vec::new();
    // Largest groups first, so a task inlined somewhere is not also listed on its own.
    let mut functions: Vec<(BTreeSet<String>, u32)> = tasks
        .iter()
        .map(|t| {
            let config = setup.function(t);
            let mut group = config.inline.clone();
            group.insert(t.clone());
            (group, config.memory_mb)
        })
        .collect();
    functions.sort_by_key(|(group, _)| std::cmp::Reverse(group.len()));
    for (group, memory_mb) in functions {
        if group.iter().any(|t| !grouped.contains(t)) {
            grouped.extend(group.iter().cloned());
            grouping.push((group, memory_mb));
        }
    }
    grouping
}

/// The next setup of the fusion phase: one remote sync edge inlined, the first found walking the
/// call graph breadth-first from the entry. None once every sync edge is in-process.
pub fn inline_next(profile: &Profile, current: &FusionSetup) -> Option<FusionSetup> {
    let tasks: BTreeSet<String> = profile.tasks.keys().cloned().collect();
    let mut grouping = grouping_of(current, &tasks);
    let group_of = |grouping: &Grouping, task: &str| grouping.iter().position(|(g, _)| g.contains(task));
    let mut queue = VecDeque::from([profile.entry.clone()]);
    let mut seen = BTreeSet::from([profile.entry.clone()]);
    while let Some(task) = queue.pop_front() {
        for edge in profile.calls_of(&task) {
            let (Some(caller), Some(callee)) = (group_of(&grouping, &edge.caller), group_of(&grouping, &edge.callee)) else { continue };
            if edge.mode == CallMode::Sync && caller != callee {
                let (merged, _) = grouping.remove(callee);
                let caller = group_of(&grouping, &edge.caller).expect("the caller's group is still there");
                grouping[caller].0.extend(merged);
                let mut setup = setup_of(&profile.app, &grouping);
                setup.created_by = format!("heuristic: inline {} into F({})", edge.callee, edge.caller);
                return Some(setup);
            }
            if seen.insert(edge.callee.clone()) {
                queue.push_back(edge.callee.clone());
            }
        }
    }
    None
}

/// The memory phase's setups: `grouped` with every function at each size of [`SWEEP_MB`].
pub fn sweep(profile: &Profile, grouped: &FusionSetup) -> Vec<FusionSetup> {
    let tasks: BTreeSet<String> = profile.tasks.keys().cloned().collect();
    let grouping = grouping_of(grouped, &tasks);
    SWEEP_MB
        .iter()
        .map(|&memory_mb| {
            let sized: Grouping = grouping.iter().map(|(g, _)| (g.clone(), memory_mb)).collect();
            let mut setup = setup_of(&profile.app, &sized);
            setup.created_by = format!("heuristic: all functions at {memory_mb} MB");
            setup
        })
        .collect()
}

/// The final step: each group at the size where its functions' measured cost per request was
/// lowest. `measured` holds, per swept size, the cost per request of each function invoked.
pub fn cheapest_per_function(profile: &Profile, grouped: &FusionSetup, measured: &BTreeMap<u32, BTreeMap<String, f64>>) -> FusionSetup {
    let tasks: BTreeSet<String> = profile.tasks.keys().cloned().collect();
    let grouping: Grouping = grouping_of(grouped, &tasks)
        .into_iter()
        .map(|(group, memory_mb)| {
            let cheapest = measured
                .iter()
                .map(|(size, costs)| (*size, group.iter().filter_map(|f| costs.get(f)).sum::<f64>()))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(memory_mb, |(size, _)| size);
            (group, cheapest)
        })
        .collect();
    let mut setup = setup_of(&profile.app, &grouping);
    setup.created_by = "heuristic: each function at its cheapest measured size".into();
    setup
}

/// Fusionize++'s whole procedure, one measured setup at a time: fuse sync edges one by one,
/// sweep the memory sizes, then size each function at its cheapest. The caller measures each
/// setup it proposes and keeps the one with the best median latency as the answer.
#[derive(Default)]
pub struct Procedure {
    /// The setup with every sync edge fused, once reached.
    fused: Option<FusionSetup>,
    /// Sizes still to sweep, and the one being measured.
    to_sweep: Vec<u32>,
    sweeping: Option<u32>,
    /// Per swept size, each function's measured cost per request.
    swept: BTreeMap<u32, BTreeMap<String, f64>>,
    done: bool,
}

impl Procedure {
    /// The next setup to measure, given the profile of the one just measured; None when done.
    pub fn next(&mut self, profile: &Profile) -> Option<FusionSetup> {
        if self.done {
            return None;
        }
        if let Some(size) = self.sweeping.take() {
            self.swept.insert(size, profile.measured.cost_by_function.clone());
        }
        let fused = match &self.fused {
            Some(fused) => fused.clone(),
            None => match inline_next(profile, &profile.setup) {
                Some(next) => return Some(next),
                None => {
                    self.to_sweep = SWEEP_MB.iter().rev().copied().collect();
                    self.fused.insert(profile.setup.clone()).clone()
                }
            },
        };
        if let Some(size) = self.to_sweep.pop() {
            self.sweeping = Some(size);
            return sweep(profile, &fused).into_iter().find(|s| s.functions.values().all(|f| f.memory_mb == size));
        }
        self.done = true;
        Some(cheapest_per_function(profile, &fused, &self.swept))
    }
}
