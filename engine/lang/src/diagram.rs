//! A definition drawn as an SVG graph, on the server: steps as boxes in layers from the
//! first step down, parallel steps as a fork and a join around their branches, loops
//! drawn back up the right side, and each way out labelled in words (the outcome, and
//! the transition's `label`, never its CEL guard). For a request, the steps it went
//! through, where it is now and who holds it are marked.
//!
//! The layout is a small layered (Sugiyama-style) one: layers by longest path from the
//! first step over the forward edges (back edges found by a depth-first search), then a
//! few barycenter sweeps to order each layer. Its cost is bounded by the definition's
//! size, which the loader bounds.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::display::Lang;
use crate::flow::{Flow, Target};
use crate::model::{Outcome, ProcessDef, Step, StepKind};

const NODE_W: i32 = 168;
const NODE_H: i32 = 46;
const GAP_X: i32 = 28;
const GAP_Y: i32 = 64;
const MARGIN: i32 = 16;
/// Room on the right for the loops drawn back up.
const LOOP_ROOM: i32 = 56;
/// Barycenter sweeps (a bound on the work, not only a quality knob).
const SWEEPS: usize = 6;

/// What a request adds to the drawing: where it is, where it has been, who holds it.
#[derive(Debug, Default, Clone)]
pub struct Marks {
    pub current: BTreeSet<String>,
    pub passed: BTreeSet<String>,
    /// Who is named under each step: the people holding an open step of a request, or
    /// who acts there in a definition alone.
    pub holders: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Step(StepKind),
    Fork,
    Join,
}

#[derive(Debug, Clone)]
struct Node {
    id: String,
    /// The step it draws (a fork draws its parallel step; a join has its own id).
    step: String,
    name: String,
    shape: Shape,
}

#[derive(Debug, Clone)]
struct Edge {
    from: usize,
    to: usize,
    label: String,
}

/// The graph to draw: nodes and the ways between them.
#[derive(Debug, Default)]
struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

impl Graph {
    fn index(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    fn add(&mut self, id: String, step: &Step, shape: Shape, lang: Lang) -> usize {
        let name = step
            .name
            .as_ref()
            .map_or_else(|| step.id.value.clone(), |n| lang.pick(n).to_string());
        self.nodes.push(Node {
            id,
            step: step.id.value.clone(),
            name,
            shape,
        });
        self.nodes.len() - 1
    }
}

/// The graph of `def`: a node per step (a fork and a join per parallel step) and an edge
/// per route.
fn graph_of(def: &ProcessDef, lang: Lang) -> Graph {
    let mut g = Graph::default();
    for step in def.all_steps() {
        match step.kind.value {
            StepKind::Parallel => {
                g.add(step.id.value.clone(), step, Shape::Fork, lang);
                g.add(join_id(step), step, Shape::Join, lang);
            }
            kind => {
                g.add(step.id.value.clone(), step, Shape::Step(kind), lang);
            }
        }
    }
    let flow = Flow::new(def);
    for step in def.all_steps() {
        edges_of(&mut g, &flow, step, lang);
    }
    g
}

fn join_id(parallel: &Step) -> String {
    format!("{}\u{1}join", parallel.id.value)
}

/// The edges out of `step`: its routes (a parallel step's leave from its join), and a
/// parallel step's fork into the first step of each branch.
fn edges_of(g: &mut Graph, flow: &Flow<'_>, step: &Step, lang: Lang) {
    let from_id = if step.kind.value == StepKind::Parallel {
        for branch in &step.branches {
            if let (Some(from), Some(first)) = (
                g.index(&step.id.value),
                branch.steps.first().and_then(|s| g.index(&s.id.value)),
            ) {
                let label = branch.name.as_ref().map(|n| lang.pick(n).to_string());
                g.edges.push(Edge {
                    from,
                    to: first,
                    label: label.unwrap_or_default(),
                });
            }
        }
        join_id(step)
    } else {
        step.id.value.clone()
    };
    let Some(from) = g.index(&from_id) else {
        return;
    };
    let outcomes = Flow::outcomes(step);
    for outcome in &outcomes {
        for (n, route) in flow.routes(step, *outcome).into_iter().enumerate() {
            let to = match route.target {
                Target::Step(s) if s.kind.value == StepKind::Parallel => g.index(&s.id.value),
                Target::Step(s) => g.index(&s.id.value),
                Target::Join => flow
                    .placement(&step.id.value)
                    .and_then(|p| p.branch)
                    .and_then(|(parallel, _)| g.index(&join_id(parallel))),
                Target::Unknown => None,
            };
            let Some(to) = to else { continue };
            let written = step
                .transitions
                .iter()
                .filter(|t| t.on.value == *outcome)
                .nth(n)
                .and_then(|t| t.label.as_ref())
                .map(|l| lang.pick(l).to_string());
            let said = (outcomes.len() > 1).then(|| outcome_word(*outcome, lang).to_string());
            let label = [said, written]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
            g.edges.push(Edge { from, to, label });
        }
    }
}

/// An outcome in the reader's words.
pub fn outcome_word(outcome: Outcome, lang: Lang) -> &'static str {
    let (zh, en) = match outcome {
        Outcome::Approved => ("同意", "approved"),
        Outcome::Rejected => ("驳回", "rejected"),
        Outcome::Done => ("完成", "done"),
        Outcome::Elapsed => ("到期", "time's up"),
        Outcome::Timeout => ("超时", "timed out"),
    };
    if lang == Lang::En {
        en
    } else {
        zh
    }
}

/// The edges that go back (a loop), found by a depth-first search from the first node.
fn back_edges(g: &Graph) -> BTreeSet<usize> {
    let mut state = vec![0u8; g.nodes.len()]; // 0 new, 1 on the path, 2 done
    let mut back = BTreeSet::new();
    let starts = std::iter::once(0).chain(1..g.nodes.len());
    for start in starts.take(g.nodes.len()) {
        if state[start] != 0 {
            continue;
        }
        // An explicit stack: (node, next edge to look at).
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some((node, at)) = stack.pop() {
            let out: Vec<usize> = (0..g.edges.len())
                .filter(|e| g.edges[*e].from == node)
                .collect();
            let Some(&edge) = out.get(at) else {
                state[node] = 2;
                continue;
            };
            stack.push((node, at + 1));
            let to = g.edges[edge].to;
            match state[to] {
                0 => {
                    state[to] = 1;
                    stack.push((to, 0));
                }
                1 => {
                    back.insert(edge);
                }
                _ => {}
            }
        }
    }
    back
}

/// Each node's layer: the longest path to it over forward edges.
fn layers(g: &Graph, back: &BTreeSet<usize>) -> Vec<usize> {
    let mut layer = vec![0usize; g.nodes.len()];
    // Relax forward edges; a DAG settles within as many rounds as it has nodes.
    for _ in 0..g.nodes.len() {
        let mut changed = false;
        for (i, e) in g.edges.iter().enumerate() {
            if !back.contains(&i) && layer[e.to] < layer[e.from] + 1 {
                layer[e.to] = layer[e.from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    layer
}

/// The layered drawing before coordinates: each forward edge longer than one layer runs
/// through a dummy slot in every layer it crosses, so it is ordered like a node and
/// never drawn through one. Slots `0..nodes` are the nodes; the rest are dummies.
struct Layout {
    slots: usize,
    rows: Vec<Vec<usize>>,
    /// Per edge, the slots it passes through (empty for a back edge).
    chains: Vec<Vec<usize>>,
}

fn layout(g: &Graph, layer: &[usize], back: &BTreeSet<usize>) -> Layout {
    let depth = layer.iter().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (node, l) in layer.iter().enumerate() {
        rows[*l].push(node);
    }
    let mut slots = g.nodes.len();
    let mut chains = Vec::with_capacity(g.edges.len());
    for (i, e) in g.edges.iter().enumerate() {
        if back.contains(&i) {
            chains.push(Vec::new());
            continue;
        }
        let mut chain = vec![e.from];
        for row in &mut rows[layer[e.from] + 1..layer[e.to]] {
            row.push(slots);
            chain.push(slots);
            slots += 1;
        }
        chain.push(e.to);
        chains.push(chain);
    }
    let mut out = Layout {
        slots,
        rows,
        chains,
    };
    sweep(&mut out);
    out
}

/// A few barycenter sweeps (down, then up) over the segments between layers.
fn sweep(l: &mut Layout) {
    let segments: Vec<(usize, usize)> = l
        .chains
        .iter()
        .flat_map(|c| c.windows(2).map(|w| (w[0], w[1])))
        .collect();
    let depth = l.rows.len();
    for pass in 0..SWEEPS {
        let down = pass % 2 == 0;
        let layers: Vec<usize> = if down {
            (1..depth).collect()
        } else {
            (0..depth.saturating_sub(1)).rev().collect()
        };
        for at in layers {
            let other = if down { at - 1 } else { at + 1 };
            let mut position = vec![None; l.slots];
            for (x, slot) in l.rows[other].iter().enumerate() {
                position[*slot] = Some(x);
            }
            let key = |x: usize, slot: usize| {
                let linked: Vec<usize> = segments
                    .iter()
                    .filter_map(|(a, b)| match down {
                        true if *b == slot => position[*a],
                        false if *a == slot => position[*b],
                        _ => None,
                    })
                    .collect();
                match linked.len() {
                    0 => x as f64,
                    n => linked.iter().sum::<usize>() as f64 / n as f64,
                }
            };
            let mut keyed: Vec<(f64, usize)> = l.rows[at]
                .iter()
                .enumerate()
                .map(|(x, slot)| (key(x, *slot), *slot))
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            l.rows[at] = keyed.into_iter().map(|(_, slot)| slot).collect();
        }
    }
}

/// Where each slot sits (a node's top-left corner; a dummy's is its own width), and the
/// drawing's size.
struct Placed {
    at: Vec<(i32, i32)>,
    width: i32,
    height: i32,
}

/// A dummy slot's width: room for an edge to pass.
const DUMMY_W: i32 = 24;

fn place(g: &Graph, l: &Layout) -> Placed {
    let width_of = |slot: usize| {
        if slot < g.nodes.len() {
            NODE_W
        } else {
            DUMMY_W
        }
    };
    let row_width = |row: &Vec<usize>| {
        row.iter().map(|s| width_of(*s)).sum::<i32>() + (row.len() as i32 - 1).max(0) * GAP_X
    };
    let inner = l.rows.iter().map(row_width).max().unwrap_or(NODE_W);
    let mut at = vec![(0, 0); l.slots];
    for (layer, row) in l.rows.iter().enumerate() {
        let mut x = MARGIN + (inner - row_width(row)) / 2;
        for slot in row {
            at[*slot] = (x, MARGIN + layer as i32 * (NODE_H + GAP_Y));
            x += width_of(*slot) + GAP_X;
        }
    }
    Placed {
        at,
        width: inner + 2 * MARGIN + LOOP_ROOM,
        height: l.rows.len() as i32 * (NODE_H + GAP_Y) - GAP_Y + 2 * MARGIN,
    }
}

/// `def` drawn as SVG, with a request's `marks`; `title` names it for screen readers.
pub fn svg(def: &ProcessDef, marks: &Marks, lang: Lang, title: &str) -> String {
    let g = graph_of(def, lang);
    if g.nodes.is_empty() {
        return String::new();
    }
    let back = back_edges(&g);
    let layout = layout(&g, &layers(&g, &back), &back);
    let placed = place(&g, &layout);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="flow" viewBox="0 0 {w} {h}" width="{w}" style="min-width:{min}px" role="img" aria-label="{t}"><title>{t}</title><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>"#,
        w = placed.width,
        h = placed.height,
        // Scaled down to fit a box, but never below two thirds: a wide one scrolls.
        min = placed.width * 2 / 3,
        t = escape(title),
    );
    let rank = label_rows(&g, &layout, &placed);
    for ((e, chain), row) in g.edges.iter().zip(&layout.chains).zip(rank) {
        draw_edge(&mut out, &g, (&placed, row), e, chain, marks);
    }
    for (i, node) in g.nodes.iter().enumerate() {
        draw_node(&mut out, node, placed.at[i], marks, lang);
    }
    out.push_str("</svg>");
    out
}

/// For each edge, which line of labels under its source it takes: the source's labelled
/// edges in order of where they go (left to right), one line each, so none overlap.
fn label_rows(g: &Graph, layout: &Layout, placed: &Placed) -> Vec<i32> {
    let mut rows = vec![0; g.edges.len()];
    for node in 0..g.nodes.len() {
        let mut out: Vec<(i32, usize)> = g
            .edges
            .iter()
            .enumerate()
            .filter(|(i, e)| e.from == node && !e.label.is_empty() && !layout.chains[*i].is_empty())
            .map(|(i, _)| (placed.at[layout.chains[i][1]].0, i))
            .collect();
        out.sort_unstable();
        for (row, (_, edge)) in out.into_iter().enumerate() {
            rows[edge] = row as i32;
        }
    }
    rows
}

fn draw_edge(
    out: &mut String,
    g: &Graph,
    (placed, row): (&Placed, i32),
    e: &Edge,
    chain: &[usize],
    marks: &Marks,
) {
    let back = chain.is_empty();
    let seen = |n: usize| {
        let step = &g.nodes[n].step;
        marks.passed.contains(step) || marks.current.contains(step)
    };
    let class = match (back, seen(e.from) && seen(e.to)) {
        (true, _) => "edge loop",
        (false, true) => "edge taken",
        _ => "edge",
    };
    let (path, lx, ly) = if back {
        back_path(placed.at[e.from], placed.at[e.to])
    } else {
        let (path, lx, _) = forward_path(g, placed, chain);
        let ly = placed.at[e.from].1 + NODE_H + 14 + row * 13;
        (path, lx, ly)
    };
    let _ = write!(
        out,
        r#"<path class="{class}" d="{path}" marker-end="url(#arrow)"/>"#
    );
    if !e.label.is_empty() {
        let anchor = if back { "end" } else { "start" };
        let _ = write!(
            out,
            r#"<text class="edge-label" x="{lx}" y="{ly}" text-anchor="{anchor}">{}</text>"#,
            escape(&e.label)
        );
    }
}

/// A loop: out of the source's right side, round on the right, into the target's.
fn back_path((fx, fy): (i32, i32), (tx, ty): (i32, i32)) -> (String, i32, i32) {
    let (x1, x2) = (fx + NODE_W, tx + NODE_W);
    let bulge = x1.max(x2) + LOOP_ROOM - 8;
    let (y1, y2) = (fy + NODE_H / 2, ty + NODE_H / 2);
    let path = format!("M{x1},{y1} C{bulge},{y1} {bulge},{y2} {x2},{y2}");
    (path, bulge - 4, (y1 + y2) / 2)
}

/// Down through the chain's slots: from the bottom of the source to the top of the
/// target, a curve per layer (straight through a dummy); the label beside the first.
fn forward_path(g: &Graph, placed: &Placed, chain: &[usize]) -> (String, i32, i32) {
    let centre = |slot: usize| {
        let (x, y) = placed.at[slot];
        let w = if slot < g.nodes.len() {
            NODE_W
        } else {
            DUMMY_W
        };
        (x + w / 2, y)
    };
    let (x0, y0) = centre(chain[0]);
    let mut path = format!("M{x0},{}", y0 + NODE_H);
    let mut from = (x0, y0 + NODE_H);
    for (i, slot) in chain.iter().enumerate().skip(1) {
        let (x, y) = centre(*slot);
        let mid = (from.1 + y) / 2;
        let _ = write!(path, " C{},{mid} {x},{mid} {x},{y}", from.0);
        if i < chain.len() - 1 {
            let _ = write!(path, " L{x},{}", y + NODE_H);
        }
        from = (x, y + NODE_H);
    }
    let (x1, y1) = centre(chain[1]);
    (path, (x0 + x1) / 2 + 4, (y0 + NODE_H + y1) / 2 + 4)
}

fn draw_node(out: &mut String, node: &Node, (x, y): (i32, i32), marks: &Marks, lang: Lang) {
    let state = if marks.current.contains(&node.step) && node.shape != Shape::Join {
        " current"
    } else if marks.passed.contains(&node.step) {
        " passed"
    } else {
        ""
    };
    let (kind, rx) = match &node.shape {
        Shape::Step(StepKind::End) => ("end", NODE_H / 2),
        Shape::Step(k) => (k.as_str(), 6),
        Shape::Fork => ("fork", 14),
        Shape::Join => ("join", 14),
    };
    let label = match node.shape {
        Shape::Join => if lang == Lang::En { "join" } else { "汇合" }.to_string(),
        _ => node.name.clone(),
    };
    let _ = write!(
        out,
        r#"<g class="node {kind}{state}" data-step="{id}"><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="{rx}"/><text x="{cx}" y="{ty}" text-anchor="middle">{label}</text>"#,
        id = escape(&node.id.replace('\u{1}', ".")),
        cx = x + NODE_W / 2,
        ty = y + if marks.holders.contains_key(&node.step) && node.shape != Shape::Join {
            19
        } else {
            28
        },
        label = escape(&fit(&label, 12)),
    );
    if let Some(holders) = marks
        .holders
        .get(&node.step)
        .filter(|_| node.shape != Shape::Join)
    {
        let _ = write!(
            out,
            r#"<text class="holders" x="{cx}" y="{hy}" text-anchor="middle">{who}</text>"#,
            cx = x + NODE_W / 2,
            hy = y + 37,
            who = escape(&fit(&holders.join("、"), 14)),
        );
    }
    out.push_str("</g>");
}

/// At most `max` characters, with an ellipsis when cut (the box has a fixed width).
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// Text safe inside SVG (XML) text and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
