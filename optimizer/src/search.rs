//! The search over setups: groupings of the tasks (every block connected in the call graph; all
//! of them for small apps, a hill climb from one-function-per-task beyond 12 tasks or 1,000
//! groupings) with a memory size per group chosen by coordinate descent, each predicted by the
//! model; then the Pareto front of latency and cost, and the pick for the user's objective.

use std::collections::{BTreeMap, BTreeSet};

use fusion_host::{FusionSetup, setup::FunctionConfig};

use crate::model::{Model, Prediction};
use crate::objective::{Goal, Objective};
use crate::resources::MEMORY_SIZES_MB;

/// Apps with at most this many tasks are searched exhaustively…
const EXHAUSTIVE_UP_TO: usize = 12;

/// …when they have at most this many connected groupings (IoT has 768); beyond, each grouping's
/// three memory searches would take seconds, which an autopilot deciding after every window
/// cannot spend.
const EXHAUSTIVE_GROUPINGS: usize = 1_000;

/// A grouping of the tasks with a memory size per group.
pub type Grouping = Vec<(BTreeSet<String>, u32)>;

/// One evaluated setup: its grouping, the setup that runs it, the model's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The tasks fused together, group by group, each group with its memory size (MB).
    pub grouping: Grouping,
    /// The setup that runs `grouping` (version 0: not applied).
    pub setup: FusionSetup,
    /// What the model predicts for `setup`.
    pub prediction: Prediction,
}

/// What a search found: how much it tried, the Pareto front and the pick.
pub struct Plan {
    /// Every setup evaluated (per grouping: its best memory sizes for the goal, and for cost and
    /// latency alone).
    pub evaluated: usize,
    /// Per grouping tried, its best memory sizes for the goal.
    pub per_grouping: Vec<Point>,
    /// The evaluated points no other beats on both latency and cost, fastest first.
    pub pareto: Vec<Point>,
    /// The best point for the goal, its memory sizes then refined in 32 MB steps.
    pub pick: Point,
}

/// Searches setups of the model's app for `goal`.
pub fn search(model: &Model<'_>, goal: Goal) -> Plan {
    let profile = model.profile;
    let tasks: Vec<String> = profile.tasks.keys().cloned().collect();
    let neighbours = neighbours(model);
    let reference = model.predict(&profile.setup);
    let score = |p: &Prediction| score(goal, p, &reference);
    let (mut points, mut per_grouping) = (Vec::new(), Vec::new());
    let consider = |blocks: &[BTreeSet<String>], points: &mut Vec<Point>, per_grouping: &mut Vec<Point>| {
        let for_goal = best_memory(model, blocks, &|p| self::score(goal, p, &reference));
        per_grouping.push(for_goal.clone());
        points.push(for_goal);
        for aim in [Goal { objective: Objective::Cost, ..goal }, Goal::of(Objective::Latency)] {
            points.push(best_memory(model, blocks, &|p| self::score(aim, p, &reference)));
        }
    };
    let groupings = if tasks.len() <= EXHAUSTIVE_UP_TO { connected_partitions(&tasks, &neighbours) } else { Vec::new() };
    if !groupings.is_empty() && groupings.len() <= EXHAUSTIVE_GROUPINGS {
        for blocks in groupings {
            consider(&blocks, &mut points, &mut per_grouping);
        }
    } else {
        let blocks = hill_climb(model, tasks.iter().map(|t| BTreeSet::from([t.clone()])).collect(), &neighbours, &score);
        consider(&blocks, &mut points, &mut per_grouping);
    }
    let evaluated = points.len();
    let pick = points.iter().min_by(|a, b| score(&a.prediction).total_cmp(&score(&b.prediction))).cloned().expect("at least one grouping");
    let pick = refine_memory(model, pick, &score);
    Plan { evaluated, per_grouping, pareto: pareto(points), pick }
}

fn score(goal: Goal, p: &Prediction, reference: &Prediction) -> f64 {
    goal.rank(p.outcome(), reference.outcome())
}

/// `count` different connected groupings drawn at random (each from one function per task by a
/// random number of merges of neighbouring blocks), each at its best memory sizes for `goal`: a
/// sample of the setups the search chose among, to measure its pick against. Deterministic for a
/// `seed`; fewer when the app has fewer groupings.
pub fn sample(model: &Model<'_>, goal: Goal, count: usize, seed: u64) -> Vec<Point> {
    let tasks: Vec<String> = model.profile.tasks.keys().cloned().collect();
    let neighbours = neighbours(model);
    let reference = model.predict(&model.profile.setup);
    let mut state = seed | 1;
    let mut below = move |n: usize| {
        // xorshift64: reproducible without a dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut seen = BTreeSet::new();
    let mut points = Vec::new();
    for _ in 0..count * 20 {
        if points.len() == count {
            break;
        }
        let mut blocks: Vec<BTreeSet<String>> = tasks.iter().map(|t| BTreeSet::from([t.clone()])).collect();
        for _ in 0..below(tasks.len()) {
            let pairs: Vec<(usize, usize)> = (0..blocks.len())
                .flat_map(|i| (i + 1..blocks.len()).map(move |j| (i, j)))
                .filter(|&(i, j)| blocks[i].iter().any(|t| neighbours[t].iter().any(|n| blocks[j].contains(n))))
                .collect();
            if pairs.is_empty() {
                break;
            }
            let (i, j) = pairs[below(pairs.len())];
            let other = blocks.remove(j);
            blocks[i].extend(other);
        }
        blocks.sort();
        if seen.insert(blocks.clone()) {
            points.push(best_memory(model, &blocks, &|p| score(goal, p, &reference)));
        }
    }
    points
}

/// `{A,B} 1024 MB · {C} 128 MB`: the groups with more than one task or more than 128 MB.
pub fn describe(grouping: &Grouping) -> String {
    let shown: Vec<String> = grouping
        .iter()
        .filter(|(group, memory_mb)| group.len() > 1 || *memory_mb != MEMORY_SIZES_MB[0])
        .map(|(group, memory_mb)| format!("{{{}}} {memory_mb} MB", group.iter().map(String::as_str).collect::<Vec<_>>().join(",")))
        .collect();
    if shown.is_empty() { "one function per task, 128 MB".into() } else { shown.join(" · ") }
}

/// The setup that runs `grouping`: every task's function runs its whole group in-process.
pub fn setup_of(app: &str, grouping: &Grouping) -> FusionSetup {
    let mut functions = BTreeMap::new();
    for (group, memory_mb) in grouping {
        for task in group {
            let inline = group.iter().filter(|t| *t != task).cloned().collect();
            functions.insert(task.clone(), FunctionConfig { inline, memory_mb: *memory_mb });
        }
    }
    FusionSetup { app: app.to_string(), version: 0, parent: None, created_by: String::new(), components: BTreeMap::new(), functions, policy: Default::default() }
}

/// The memory size each block needs at least ([`Model::memory_needed_mb`] of every function of
/// its group), capped at the largest size Lambda has.
fn memory_needed(model: &Model<'_>, blocks: &[BTreeSet<String>]) -> Vec<u32> {
    let setup = setup_of(&model.profile.app, &blocks.iter().map(|b| (b.clone(), MEMORY_SIZES_MB[0])).collect::<Grouping>());
    let largest = MEMORY_SIZES_MB[MEMORY_SIZES_MB.len() - 1];
    blocks.iter().map(|block| block.iter().map(|task| model.memory_needed_mb(&setup, task)).max().unwrap_or(0).clamp(MEMORY_SIZES_MB[0], largest)).collect()
}

/// Memory per block by coordinate descent from the smallest size that holds it, two passes over
/// the blocks; no size smaller than a block needs is tried.
fn best_memory(model: &Model<'_>, blocks: &[BTreeSet<String>], score: &dyn Fn(&Prediction) -> f64) -> Point {
    let app = &model.profile.app;
    let needed = memory_needed(model, blocks);
    // Per block: the smallest size that holds it (Lambda takes any whole MB), then the listed
    // sizes above it.
    let fitting: Vec<Vec<u32>> = needed.iter().map(|&need| std::iter::once(need).chain(MEMORY_SIZES_MB.into_iter().filter(|&m| m > need)).collect()).collect();
    let mut grouping: Grouping = blocks.iter().zip(&fitting).map(|(b, sizes)| (b.clone(), sizes[0])).collect();
    for _ in 0..2 {
        for i in 0..grouping.len() {
            let mut best = (f64::INFINITY, grouping[i].1);
            for &memory_mb in &fitting[i] {
                grouping[i].1 = memory_mb;
                let s = score(&model.predict(&setup_of(app, &grouping)));
                if s < best.0 {
                    best = (s, memory_mb);
                }
            }
            grouping[i].1 = best.1;
        }
    }
    let setup = setup_of(app, &grouping);
    Point { prediction: model.predict(&setup), grouping, setup }
}

/// Lambda takes any size from 128 MB to 10,240 MB in 1 MB steps: between the listed sizes around
/// each group's choice, try every 32 MB step and keep what scores better.
fn refine_memory(model: &Model<'_>, mut point: Point, score: &dyn Fn(&Prediction) -> f64) -> Point {
    let app = &model.profile.app;
    let blocks: Vec<BTreeSet<String>> = point.grouping.iter().map(|(block, _)| block.clone()).collect();
    let needed = memory_needed(model, &blocks);
    for (i, &need) in needed.iter().enumerate() {
        let chosen = point.grouping[i].1;
        let at = MEMORY_SIZES_MB.iter().position(|&m| m == chosen).unwrap_or(0);
        let low = MEMORY_SIZES_MB[at.saturating_sub(1)];
        let high = MEMORY_SIZES_MB[(at + 1).min(MEMORY_SIZES_MB.len() - 1)];
        let mut best = (score(&point.prediction), chosen);
        for memory_mb in (low..=high).step_by(32).chain(std::iter::once(need)).filter(|&m| m >= need && (low..=high).contains(&m)) {
            point.grouping[i].1 = memory_mb;
            let s = score(&model.predict(&setup_of(app, &point.grouping)));
            if s < best.0 {
                best = (s, memory_mb);
            }
        }
        point.grouping[i].1 = best.1;
    }
    point.setup = setup_of(app, &point.grouping);
    point.prediction = model.predict(&point.setup);
    point
}

/// From singletons: apply the best merge of two neighbouring blocks while it improves the score.
fn hill_climb(model: &Model<'_>, mut blocks: Vec<BTreeSet<String>>, neighbours: &BTreeMap<String, BTreeSet<String>>, score: &dyn Fn(&Prediction) -> f64) -> Vec<BTreeSet<String>> {
    let mut current = score(&best_memory(model, &blocks, score).prediction);
    loop {
        let mut best: Option<(f64, Vec<BTreeSet<String>>)> = None;
        for i in 0..blocks.len() {
            for j in i + 1..blocks.len() {
                if !blocks[i].iter().any(|t| neighbours[t].iter().any(|n| blocks[j].contains(n))) {
                    continue;
                }
                let mut merged = blocks.clone();
                let other = merged.remove(j);
                merged[i].extend(other);
                let s = score(&best_memory(model, &merged, score).prediction);
                if s < best.as_ref().map_or(current, |b| b.0) {
                    best = Some((s, merged));
                }
            }
        }
        match best {
            Some((s, merged)) => (current, blocks) = (s, merged),
            None => return blocks,
        }
    }
}

/// Tasks that call each other, either way.
fn neighbours(model: &Model<'_>) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = model.profile.tasks.keys().map(|t| (t.clone(), BTreeSet::new())).collect();
    for edge in &model.profile.edges {
        map.entry(edge.caller.clone()).or_default().insert(edge.callee.clone());
        map.entry(edge.callee.clone()).or_default().insert(edge.caller.clone());
    }
    map
}

/// Every partition of `tasks` into blocks that are connected in the call graph.
pub fn connected_partitions(tasks: &[String], neighbours: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<BTreeSet<String>>> {
    fn connected(block: &BTreeSet<String>, neighbours: &BTreeMap<String, BTreeSet<String>>) -> bool {
        let Some(first) = block.iter().next() else { return false };
        let mut seen = BTreeSet::from([first.clone()]);
        let mut frontier = vec![first.clone()];
        while let Some(t) = frontier.pop() {
            for n in neighbours.get(&t).into_iter().flatten() {
                if block.contains(n) && seen.insert(n.clone()) {
                    frontier.push(n.clone());
                }
            }
        }
        seen.len() == block.len()
    }
    fn extend(rest: &[String], neighbours: &BTreeMap<String, BTreeSet<String>>, prefix: &mut Vec<BTreeSet<String>>, out: &mut Vec<Vec<BTreeSet<String>>>) {
        let Some((first, others)) = rest.split_first() else {
            out.push(prefix.clone());
            return;
        };
        for mask in 0u32..(1 << others.len()) {
            let mut block = BTreeSet::from([first.clone()]);
            block.extend(others.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, t)| t.clone()));
            if !connected(&block, neighbours) {
                continue;
            }
            let remaining: Vec<String> = others.iter().filter(|t| !block.contains(*t)).cloned().collect();
            prefix.push(block);
            extend(&remaining, neighbours, prefix, out);
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    extend(tasks, neighbours, &mut Vec::new(), &mut out);
    out
}

/// The points no other point beats on both latency and cost, by latency.
fn pareto(mut points: Vec<Point>) -> Vec<Point> {
    points.sort_by(|a, b| a.prediction.latency_ms.total_cmp(&b.prediction.latency_ms).then(a.prediction.cost.total_cmp(&b.prediction.cost)));
    let mut front: Vec<Point> = Vec::new();
    for point in points {
        if front.last().is_none_or(|last| point.prediction.cost < last.prediction.cost) {
            front.push(point);
        }
    }
    front
}
