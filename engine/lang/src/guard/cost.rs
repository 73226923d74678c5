//! What an expression may cost the server, decided before it runs.
//!
//! Expressions come from definitions that owners publish while the server runs, and they
//! are evaluated inside the single writer. Three bounds keep one expression from taking
//! the server down or stalling everybody's actions:
//! - **size**, checked on the text before the CEL parser sees it: characters, tokens and
//!   bracket nesting. The parser and every walk over the tree recurse, so a long flat
//!   chain (`1+1+…+1`) or deep brackets would otherwise overflow a thread's stack;
//! - **shape**, checked on the parsed tree: nodes, depth, and how deeply comprehensions
//!   (`all`, `exists`, `exists_one`, `map`, `filter`) nest;
//! - **steps**: an estimate of how many nodes evaluation visits, where a comprehension
//!   multiplies its body by the length of its list (a literal's own length, or
//!   [`MAX_LIST_ITEMS`] for data). At run time [`check_inputs`] makes sure no list the
//!   expression can see is longer than that, so the estimate holds.

use cel::common::ast::{EntryExpr, Expr, IdedExpr};

use super::GuardError;

/// The longest expression, in characters.
pub const MAX_CHARS: usize = 2_000;
/// The most tokens (names, numbers, strings, operators) in one expression.
pub const MAX_TOKENS: usize = 400;
/// The deepest nesting of `(`, `[` and `{`.
pub const MAX_BRACKETS: usize = 16;
/// The most nodes in the parsed tree.
pub const MAX_NODES: usize = 600;
/// The deepest parsed tree.
pub const MAX_DEPTH: usize = 48;
/// How deeply comprehensions may nest: `a.all(x, b.all(y, …))` is two.
pub const MAX_COMPREHENSION_NESTING: usize = 2;
/// The longest list an expression may iterate over: form tables, ballots, literals.
pub const MAX_LIST_ITEMS: usize = 500;
/// The most steps one evaluation may take by the estimate above (a few milliseconds).
pub const MAX_STEPS: u64 = 300_000;

/// Refuses a text whose size alone could exhaust the parser.
pub(super) fn check_text(source: &str) -> Result<(), GuardError> {
    let too_costly = |offset: usize, message: String| GuardError::TooCostly { message, offset };
    let chars = source.chars().count();
    if chars > MAX_CHARS {
        return Err(too_costly(
            MAX_CHARS,
            format!("the expression has {chars} characters; at most {MAX_CHARS} are allowed"),
        ));
    }
    let mut tokens = 0usize;
    let mut depth = 0usize;
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (offset, c) in source.chars().enumerate() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        let word = c.is_alphanumeric() || c == '_';
        if word && !in_word || !word && !c.is_whitespace() {
            tokens += 1;
        }
        in_word = word;
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if tokens > MAX_TOKENS {
            return Err(too_costly(
                offset,
                format!("the expression has more than {MAX_TOKENS} names, numbers and operators; split it into computed fields"),
            ));
        }
        if depth > MAX_BRACKETS {
            return Err(too_costly(
                offset,
                format!("brackets nest more than {MAX_BRACKETS} deep here"),
            ));
        }
    }
    Ok(())
}

/// What a walk over the parsed tree found.
#[derive(Debug, Default)]
struct Measure {
    nodes: usize,
    depth: usize,
    steps: u64,
    /// The node at which the steps went over [`MAX_STEPS`]. Reported after the walk, so
    /// a shape problem (nesting) is named first.
    costly_at: Option<u64>,
    /// The first bound crossed: the node's id and what is wrong.
    over: Option<(u64, String)>,
}

impl Measure {
    fn refuse(&mut self, id: u64, message: String) {
        if self.over.is_none() {
            self.over = Some((id, message));
        }
    }

    fn visit(&mut self, node: &IdedExpr, depth: usize, nesting: usize, times: u64) {
        if self.over.is_some() {
            return;
        }
        self.nodes += 1;
        self.depth = self.depth.max(depth);
        self.steps = self.steps.saturating_add(times);
        if self.nodes > MAX_NODES {
            return self.refuse(
                node.id,
                format!(
                    "the expression has more than {MAX_NODES} parts; split it into computed fields"
                ),
            );
        }
        if depth > MAX_DEPTH {
            return self.refuse(
                node.id,
                format!("the expression nests more than {MAX_DEPTH} deep"),
            );
        }
        if matches!(node.expr, Expr::Comprehension(_)) && nesting >= MAX_COMPREHENSION_NESTING {
            return self.refuse(
                node.id,
                format!("comprehensions (all, exists, map, filter) nest more than {MAX_COMPREHENSION_NESTING} deep; compute the inner one as a form value"),
            );
        }
        if self.steps > MAX_STEPS && self.costly_at.is_none() {
            self.costly_at = Some(node.id);
        }
        let next = depth + 1;
        match &node.expr {
            Expr::Comprehension(c) => {
                let items = match &c.iter_range.expr {
                    Expr::List(list) => list.elements.len() as u64,
                    _ => MAX_LIST_ITEMS as u64,
                };
                let each = times.saturating_mul(items.max(1));
                self.visit(&c.iter_range, next, nesting, times);
                self.visit(&c.accu_init, next, nesting, times);
                self.visit(&c.loop_cond, next, nesting + 1, each);
                self.visit(&c.loop_step, next, nesting + 1, each);
                self.visit(&c.result, next, nesting, times);
            }
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    self.visit(target, next, nesting, times);
                }
                for arg in &call.args {
                    self.visit(arg, next, nesting, times);
                }
            }
            Expr::Select(select) => self.visit(&select.operand, next, nesting, times),
            Expr::List(list) => {
                for e in &list.elements {
                    self.visit(e, next, nesting, times);
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(e) = &entry.expr {
                        self.visit(&e.key, next, nesting, times);
                        self.visit(&e.value, next, nesting, times);
                    }
                }
            }
            Expr::Struct(s) => {
                for entry in &s.entries {
                    if let EntryExpr::StructField(f) = &entry.expr {
                        self.visit(&f.value, next, nesting, times);
                    }
                }
            }
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
}

/// Refuses a parsed tree that is too large, too deep, or could take too many steps:
/// the id of the node where a bound was crossed, with the reason. Otherwise the tree's
/// depth.
pub(super) fn check_tree(root: &IdedExpr) -> Result<usize, (u64, String)> {
    let mut measure = Measure::default();
    measure.visit(root, 0, 0, 1);
    if let Some(over) = measure.over {
        return Err(over);
    }
    match measure.costly_at {
        Some(id) => Err((
            id,
            format!("evaluating this could take more than {MAX_STEPS} steps (lists are assumed to hold up to {MAX_LIST_ITEMS} items); iterate over fewer or smaller lists"),
        )),
        None => Ok(measure.depth),
    }
}

/// The stack an evaluation of a tree `depth` deep needs: the interpreter recurses once
/// per level, with large frames in a debug build.
pub(super) fn eval_stack(depth: usize) -> usize {
    let per_level = if cfg!(debug_assertions) { 32 } else { 8 } * 1024;
    (depth + 4) * per_level
}

/// Refuses inputs larger than the step estimate assumed: a list with more than
/// [`MAX_LIST_ITEMS`] items anywhere in `value`. `path` names where `value` is.
pub(super) fn check_inputs(path: &str, value: &serde_json::Value) -> Result<(), String> {
    match long_list(value) {
        None => Ok(()),
        Some((inner, items)) => Err(format!(
            "`{path}{inner}` has {items} items; expressions may only go through lists of at most {MAX_LIST_ITEMS}"
        )),
    }
}

/// Where the first list longer than [`MAX_LIST_ITEMS`] is (`.lines` or `[3].x`), and its
/// length. JSON values come from serde_json, which bounds their depth, so this recursion
/// is bounded too.
fn long_list(value: &serde_json::Value) -> Option<(String, usize)> {
    match value {
        serde_json::Value::Array(items) if items.len() > MAX_LIST_ITEMS => {
            Some((String::new(), items.len()))
        }
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| long_list(item).map(|(inner, n)| (format!("[{i}]{inner}"), n))),
        serde_json::Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| long_list(v).map(|(inner, n)| (format!(".{k}{inner}"), n))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{compile, GuardError, Scope};
    use super::*;

    /// Compiles, evaluates and drops on a thread with a small stack (half a tokio
    /// worker's), so a recursion without a bound fails the test by aborting instead of
    /// passing by luck.
    fn compile_on_small_stack(text: String) -> Result<(), GuardError> {
        std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(move || {
                let compiled = compile(&text)?;
                let _ = compiled.eval(&Scope::default());
                Ok(())
            })
            .expect("a thread")
            .join()
            .expect("compiling never panics")
    }

    fn too_costly(result: Result<(), GuardError>) -> String {
        match result {
            Err(GuardError::TooCostly { message, .. }) => message,
            other => panic!("expected too costly, got {other:?}"),
        }
    }

    #[test]
    fn long_flat_chains_are_refused_before_parsing() {
        for terms in [3_000, 5_000, 50_000] {
            let chain = vec!["1"; terms].join("+") + " > 0";
            let message = too_costly(compile_on_small_stack(chain));
            assert!(message.contains("characters") || message.contains("operators"));
        }
    }

    #[test]
    fn the_largest_allowed_shapes_compile_on_a_small_stack() {
        let ops = MAX_TOKENS / 2 - 1;
        let shapes = [
            vec!["1"; ops].join("+"),
            vec!["1"; ops].join(" < "),
            format!("form{}", ".a".repeat(ops - 1)),
            format!("{}true", "!".repeat(MAX_TOKENS - 1)),
            format!("{}1{}", "(".repeat(MAX_BRACKETS), ")".repeat(MAX_BRACKETS)),
            format!("{}1{}", "[".repeat(MAX_BRACKETS), "]".repeat(MAX_BRACKETS)),
            format!("{}1{}", "-(".repeat(MAX_BRACKETS), ")".repeat(MAX_BRACKETS)),
            "true ? 1 : ".repeat(MAX_TOKENS / 5) + "1",
            vec!["1"; MAX_DEPTH - 2].join("+"),
            format!(
                "{}{}",
                "[".repeat(MAX_BRACKETS - 1),
                "]".repeat(MAX_BRACKETS - 1)
            ),
            vec!["a"; ops].join(" && "),
        ];
        for shape in shapes {
            // Either compiles or is refused with a reason; never a crash.
            match compile_on_small_stack(shape.clone()) {
                Ok(()) | Err(GuardError::TooCostly { .. }) | Err(GuardError::Syntax { .. }) => {}
                Err(other) => panic!("{shape}: {other:?}"),
            }
        }
        assert!(compile_on_small_stack(format!(
            "{}1{}",
            "(".repeat(MAX_BRACKETS + 1),
            ")".repeat(MAX_BRACKETS + 1)
        ))
        .is_err());
    }

    #[test]
    fn nested_comprehensions_and_their_cost_are_bounded() {
        let list = (0..400)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let attack = format!("[{list}].all(a, [{list}].all(b, a + b >= 0))");
        assert!(compile_on_small_stack(attack).is_err());
        let three = "form.a.all(x, form.b.all(y, form.c.all(z, x + y + z >= 0)))";
        assert!(too_costly(compile_on_small_stack(three.into())).contains("nest more than 2"));
        let two_over_data = "form.a.all(x, form.b.exists(y, x == y))";
        assert!(too_costly(compile_on_small_stack(two_over_data.into())).contains("steps"));
        // What the shipped processes do stays well inside.
        assert!(compile("sum(form.lines.map(l, l.amount)) > 5000").is_ok());
        assert!(compile("form.lines.all(l, [1, 2, 3].exists(n, l.amount > n))").is_ok());
    }

    #[test]
    fn an_error_points_at_where_the_bound_was_crossed() {
        let text = format!("form.x > 1 && {}", "(".repeat(MAX_BRACKETS + 1));
        match compile(&text) {
            Err(GuardError::TooCostly { offset, .. }) => assert_eq!(offset, 14 + MAX_BRACKETS),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inputs_longer_than_assumed_are_refused_at_run_time() {
        let compiled = compile("form.lines.all(l, l.amount > 0)").unwrap();
        let lines: Vec<_> = (0..=MAX_LIST_ITEMS)
            .map(|_| serde_json::json!({"amount": 1}))
            .collect();
        let scope = Scope {
            form: serde_json::json!({ "lines": lines }),
            ..Default::default()
        };
        match compiled.eval(&scope) {
            Err(GuardError::OverBudget { message, .. }) => {
                assert!(message.contains("`form.lines` has 501 items"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
