//! Diagrams of a definition: Mermaid state diagrams (for the README, the web and editors)
//! and Graphviz DOT. Parallel steps become composite states with one region per branch.

use std::fmt::Write as _;

use crate::flow::{Flow, Route, Target};
use crate::model::{ProcessDef, Step, StepKind};

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Mermaid keeps everything after the first `:` as the label, but `;`, `#` and braces
/// still confuse some renderers.
fn mermaid_text(text: &str) -> String {
    one_line(text)
        .replace(';', ",")
        .replace('#', "＃")
        .replace(['{', '}'], "")
}

fn route_label(route: &Route) -> String {
    match route.guard {
        Some(g) => format!("{} [{}]", route.outcome.as_str(), g.value),
        None => route.outcome.as_str().to_string(),
    }
}

/// A Mermaid `stateDiagram-v2`; `current` marks the steps a running request is in.
pub fn mermaid(def: &ProcessDef, current: &[&str]) -> String {
    let flow = Flow::new(def);
    let mut out = String::from("stateDiagram-v2\n");
    if let Some(start) = def.start_step() {
        let _ = writeln!(out, "    [*] --> {}", start.id);
    }
    write_mermaid_steps(&flow, &def.steps, 1, &mut out);
    if !current.is_empty() {
        out.push_str("    classDef current fill:#fde68a,stroke:#b45309,stroke-width:2px\n");
        for id in current {
            let _ = writeln!(out, "    class {id} current");
        }
    }
    out
}

fn write_mermaid_steps(flow: &Flow, steps: &[Step], depth: usize, out: &mut String) {
    let pad = "    ".repeat(depth);
    for step in steps {
        let _ = writeln!(
            out,
            "{pad}{}: {}",
            step.id,
            mermaid_text(&step.display_name())
        );
        if step.kind.value == StepKind::Parallel {
            let _ = writeln!(out, "{pad}state {} {{", step.id);
            for (i, branch) in step.branches.iter().enumerate() {
                if i > 0 {
                    let _ = writeln!(out, "{pad}    --");
                }
                if let Some(first) = branch.steps.first() {
                    let _ = writeln!(out, "{pad}    [*] --> {}", first.id);
                }
                write_mermaid_steps(flow, &branch.steps, depth + 1, out);
            }
            let _ = writeln!(out, "{pad}}}");
        }
    }
    for step in steps {
        if step.kind.value == StepKind::End {
            let _ = writeln!(out, "{pad}{} --> [*]", step.id);
        }
        for outcome in Flow::outcomes(step) {
            for route in flow.routes(step, outcome) {
                let to = match route.target {
                    Target::Step(s) => s.id.value.clone(),
                    Target::Join => "[*]".to_string(),
                    Target::Unknown => continue,
                };
                let _ = writeln!(
                    out,
                    "{pad}{} --> {to}: {}",
                    step.id,
                    mermaid_text(&route_label(&route))
                );
            }
        }
        for back in &step.return_to {
            if let Target::Step(s) = flow.resolve(step, back) {
                let _ = writeln!(out, "{pad}{} --> {}: return", step.id, s.id);
            }
        }
    }
}

fn dot_escape(text: &str) -> String {
    one_line(text).replace('\\', "\\\\").replace('"', "\\\"")
}

/// A Graphviz digraph; parallel branches are clusters.
pub fn dot(def: &ProcessDef) -> String {
    let flow = Flow::new(def);
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Noto Sans CJK SC,sans-serif\"];\n  __start [shape=circle, label=\"\", width=0.2, style=filled, fillcolor=black];\n",
        dot_escape(&def.id)
    );
    if let Some(start) = def.start_step() {
        let _ = writeln!(out, "  __start -> \"{}\";", start.id);
    }
    write_dot_steps(&def.steps, 1, &mut out);
    for (step, route) in flow.all_routes() {
        let to = match route.target {
            Target::Step(s) => s.id.value.clone(),
            Target::Join => match flow.placement(&step.id).and_then(|p| p.branch) {
                Some((parallel, _)) => format!("{}__join", parallel.id),
                None => continue,
            },
            Target::Unknown => continue,
        };
        let from = if step.kind.value == StepKind::Parallel {
            format!("{}__join", step.id)
        } else {
            step.id.value.clone()
        };
        let _ = writeln!(
            out,
            "  \"{from}\" -> \"{to}\" [label=\"{}\"];",
            dot_escape(&route_label(&route))
        );
    }
    for step in def.all_steps() {
        for back in &step.return_to {
            if let Target::Step(s) = flow.resolve(step, back) {
                let _ = writeln!(
                    out,
                    "  \"{}\" -> \"{}\" [label=\"return\", style=dashed];",
                    step.id, s.id
                );
            }
        }
    }
    out.push_str("}\n");
    out
}

fn write_dot_steps(steps: &[Step], depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    for step in steps {
        let label = dot_escape(&step.display_name());
        match step.kind.value {
            StepKind::End => {
                let _ = writeln!(
                    out,
                    "{pad}\"{}\" [label=\"{label}\", shape=doublecircle];",
                    step.id
                );
            }
            StepKind::Parallel => {
                let _ = writeln!(out, "{pad}\"{}\" [label=\"{label}\", shape=box, style=filled, fillcolor=\"#e5e7eb\"];", step.id);
                let _ = writeln!(
                    out,
                    "{pad}\"{}__join\" [label=\"join\", shape=diamond];",
                    step.id
                );
                for branch in &step.branches {
                    let _ = writeln!(out, "{pad}subgraph \"cluster_{}\" {{", branch.id);
                    let name = branch
                        .name
                        .as_ref()
                        .map_or(branch.id.value.clone(), |n| n.to_string());
                    let _ = writeln!(out, "{pad}  label=\"{}\";", dot_escape(&name));
                    write_dot_steps(&branch.steps, depth + 1, out);
                    let _ = writeln!(out, "{pad}}}");
                    if let Some(first) = branch.steps.first() {
                        let _ = writeln!(out, "{pad}\"{}\" -> \"{}\";", step.id, first.id);
                    }
                }
            }
            _ => {
                let _ = writeln!(out, "{pad}\"{}\" [label=\"{label}\"];", step.id);
            }
        }
    }
}
