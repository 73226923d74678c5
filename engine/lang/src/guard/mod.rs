//! CEL expressions: guards on transitions, computed fields, assignee expressions and
//! variable updates. Compiles them, finds names they use that do not exist, and
//! evaluates them over a request, turning every failure into an error value.
//!
//! The names an expression can see:
//! - `form`: the request's fields and computed values (`form.total`);
//! - `submitter`: `id`, `name`, `email`, `roles`, `region`, `manager`;
//! - `votes`: the current step's `approved`, `rejected`, `pending`, `total` counts and
//!   `ballots`, a list of `{user, decision, ...inputs}`;
//! - `vars`: the process variables;
//! - `today`: the current date as `YYYY-MM-DD` in the calendar's zone.
//!
//! Functions besides CEL's standard ones: `sum(list)`, `avg(list)`,
//! `days_between(from, to)` and `end_of_month(date)` over `YYYY-MM-DD` dates.
//!
//! What an expression may cost is bounded when it is compiled and checked again on its
//! inputs when it runs (see [`cost`]).

mod cost;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr};
use cel::extractors::Arguments;
use cel::{Context, Program, Value};

pub use cost::{
    MAX_BRACKETS, MAX_CHARS, MAX_COMPREHENSION_NESTING, MAX_DEPTH, MAX_LIST_ITEMS, MAX_NODES,
    MAX_STEPS, MAX_TOKENS,
};

/// Names every expression can use at its top level.
pub const ROOTS: &[&str] = &["form", "submitter", "votes", "vars", "today"];
/// Fields of `submitter`.
pub const SUBMITTER_FIELDS: &[&str] = &["id", "name", "email", "roles", "region", "manager"];
/// Fields of `votes`.
pub const VOTES_FIELDS: &[&str] = &["approved", "rejected", "pending", "total", "ballots"];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GuardError {
    #[error("CEL syntax error: {message}")]
    Syntax {
        message: String,
        /// Character offset of the error within the expression.
        offset: usize,
    },
    /// The expression is larger, deeper or costlier than the server allows.
    #[error("the expression is too costly: {message}")]
    TooCostly {
        message: String,
        /// Character offset within the expression where a bound was crossed.
        offset: usize,
    },
    /// The inputs are larger than the expression's cost was bounded for.
    #[error("evaluating `{expr}` was refused: {message}")]
    OverBudget { expr: String, message: String },
    #[error("evaluating `{expr}` failed: {message}")]
    Evaluation { expr: String, message: String },
    #[error("`{expr}` gave {got}, but a {expected} was needed")]
    WrongResult {
        expr: String,
        got: String,
        expected: &'static str,
    },
}

/// A compiled expression and its source.
#[derive(Debug)]
pub struct Compiled {
    pub source: String,
    program: Program,
    /// How deep the tree is, for the stack evaluation needs.
    depth: usize,
}

/// The stack the CEL parser runs on: enough for [`MAX_BRACKETS`] nested brackets in a
/// debug build, with room to spare.
const PARSER_STACK: usize = 16 * 1024 * 1024;

/// Compiles a CEL expression. Never panics and never recurses without a bound, whatever
/// the text; refuses expressions beyond the bounds of [`cost`].
pub fn compile(source: &str) -> Result<Compiled, GuardError> {
    cost::check_text(source)?;
    // The parser recurses about ten frames per bracket, and debug frames are large: parse,
    // measure and (when refused) drop the tree on a stack of its own rather than on
    // whatever thread called.
    let result = stacker::grow(PARSER_STACK, || {
        catch_unwind(AssertUnwindSafe(|| parse_and_measure(source)))
    });
    result.unwrap_or_else(|_| {
        Err(GuardError::Syntax {
            message: "the expression could not be parsed".to_string(),
            offset: 0,
        })
    })
}

fn parse_and_measure(source: &str) -> Result<Compiled, GuardError> {
    let program = Program::compile(source).map_err(|errors| {
        let first = errors.errors.first();
        let message = first
            .map(|e| e.msg.clone())
            .unwrap_or_else(|| "invalid expression".to_string());
        // The parser reports a 1-based line and a 1-based column within the expression.
        let offset = first.map_or(0, |e| {
            let (line, col) = e.pos;
            let line_start: usize = source
                .split('\n')
                .take((line.max(1) - 1) as usize)
                .map(|l| l.chars().count() + 1)
                .sum();
            line_start + (col.max(1) - 1) as usize
        });
        GuardError::Syntax { message, offset }
    })?;
    let mut compiled = Compiled {
        source: source.to_string(),
        program,
        depth: 0,
    };
    match cost::check_tree(compiled.program.expression()) {
        Ok(depth) => {
            compiled.depth = depth;
            Ok(compiled)
        }
        Err((id, message)) => Err(GuardError::TooCostly {
            offset: compiled.offset(id),
            message,
        }),
    }
}

/// Compiles through a process-wide cache: definitions are few and their expressions are
/// evaluated on every action, and parsing CEL costs far more than evaluating it.
pub fn compile_cached(source: &str) -> Result<Arc<Compiled>, GuardError> {
    static CACHE: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, Arc<Compiled>>>,
    > = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(source) {
        return Ok(Arc::clone(hit));
    }
    let compiled = Arc::new(compile(source)?);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    // Bounded: edited definitions in a long-running server must not grow it forever.
    if map.len() > 10_000 {
        map.clear();
    }
    map.insert(source.to_string(), Arc::clone(&compiled));
    Ok(compiled)
}

/// A name an expression uses that the process does not define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// As written, e.g. `form.totl` or `amount`.
    pub name: String,
    /// The part that is wrong, e.g. `totl`.
    pub wrong: String,
    /// Character offset within the expression.
    pub offset: usize,
    /// What would have been valid in its place.
    pub candidates: Vec<String>,
}

/// What an expression may refer to: the members of `form` and `vars`.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub form: BTreeSet<String>,
    pub vars: BTreeSet<String>,
}

impl Names {
    /// The names `def`'s expressions may use: its form's fields (computed ones too) and
    /// its variables.
    pub fn of(def: &crate::model::ProcessDef) -> Self {
        Names {
            form: def.form_field_ids().iter().map(|s| s.to_string()).collect(),
            vars: def.variables.iter().map(|v| v.id.value.clone()).collect(),
        }
    }

    /// The members of each root whose members are known, for an editor's completion.
    pub fn members(&self) -> BTreeMap<&'static str, Vec<String>> {
        let fixed = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        BTreeMap::from([
            ("form", self.form.iter().cloned().collect()),
            ("vars", self.vars.iter().cloned().collect()),
            ("submitter", fixed(SUBMITTER_FIELDS)),
            ("votes", fixed(VOTES_FIELDS)),
        ])
    }
}

impl Compiled {
    /// Names used by the expression that `names` does not define.
    pub fn unknown_names(&self, names: &Names) -> Vec<UnknownName> {
        let mut out = Vec::new();
        let mut bound = Vec::new();
        self.walk(self.program.expression(), names, &mut bound, &mut out);
        out
    }

    fn offset(&self, id: u64) -> usize {
        self.program
            .source_info()
            .offset_for(id)
            .map_or(0, |(start, _)| start as usize)
    }

    /// A bare name: one of the roots, or a name a comprehension binds.
    fn check_ident(
        &self,
        node: &IdedExpr,
        name: &str,
        bound: &[String],
        out: &mut Vec<UnknownName>,
    ) {
        if !ROOTS.contains(&name) && !bound.iter().any(|b| b == name) {
            let mut candidates: Vec<String> = ROOTS.iter().map(|s| s.to_string()).collect();
            candidates.extend(bound.iter().filter(|b| !b.starts_with('@')).cloned());
            out.push(UnknownName {
                name: name.to_string(),
                wrong: name.to_string(),
                offset: self.offset(node.id),
                candidates,
            });
        }
    }

    /// `root.member` of a root whose members are known (`form`, `vars`, `submitter`,
    /// `votes`): the member must be one of them.
    fn check_member(
        &self,
        node: &IdedExpr,
        select: &cel::common::ast::SelectExpr,
        names: &Names,
        bound: &[String],
        out: &mut Vec<UnknownName>,
    ) {
        let Expr::Ident(root) = &select.operand.expr else {
            return;
        };
        if bound.iter().any(|b| b == root) {
            return;
        }
        let members: Vec<String> = match root.as_str() {
            "form" => names.form.iter().cloned().collect(),
            "vars" => names.vars.iter().cloned().collect(),
            "submitter" => SUBMITTER_FIELDS.iter().map(|s| s.to_string()).collect(),
            "votes" => VOTES_FIELDS.iter().map(|s| s.to_string()).collect(),
            _ => return,
        };
        if members.contains(&select.field) {
            return;
        }
        // The select's own offset is the dot; the name follows it.
        let offset = self.source[..]
            .char_indices()
            .skip(self.offset(node.id))
            .find(|(_, c)| *c != '.' && !c.is_whitespace())
            .map_or(self.offset(node.id), |(i, _)| {
                self.source[..i].chars().count()
            });
        out.push(UnknownName {
            name: format!("{root}.{}", select.field),
            wrong: select.field.clone(),
            offset,
            candidates: members,
        });
    }

    fn walk(
        &self,
        node: &IdedExpr,
        names: &Names,
        bound: &mut Vec<String>,
        out: &mut Vec<UnknownName>,
    ) {
        match &node.expr {
            Expr::Ident(name) => self.check_ident(node, name, bound, out),
            Expr::Select(select) => {
                self.check_member(node, select, names, bound, out);
                self.walk(&select.operand, names, bound, out);
            }
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    self.walk(target, names, bound, out);
                }
                for arg in &call.args {
                    self.walk(arg, names, bound, out);
                }
            }
            Expr::Comprehension(c) => {
                self.walk(&c.iter_range, names, bound, out);
                self.walk(&c.accu_init, names, bound, out);
                let before = bound.len();
                bound.push(c.iter_var.clone());
                if let Some(v2) = &c.iter_var2 {
                    bound.push(v2.clone());
                }
                bound.push(c.accu_var.clone());
                self.walk(&c.loop_cond, names, bound, out);
                self.walk(&c.loop_step, names, bound, out);
                self.walk(&c.result, names, bound, out);
                bound.truncate(before);
            }
            Expr::List(list) => {
                for e in &list.elements {
                    self.walk(e, names, bound, out);
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let cel::common::ast::EntryExpr::MapEntry(e) = &entry.expr {
                        self.walk(&e.key, names, bound, out);
                        self.walk(&e.value, names, bound, out);
                    }
                }
            }
            Expr::Struct(s) => {
                for entry in &s.entries {
                    if let cel::common::ast::EntryExpr::StructField(f) = &entry.expr {
                        self.walk(&f.value, names, bound, out);
                    }
                }
            }
            Expr::Literal(_) | Expr::Unspecified => {}
        }
    }

    /// Evaluates to JSON.
    pub fn eval(&self, scope: &Scope) -> Result<serde_json::Value, GuardError> {
        let fail = |message: String| GuardError::Evaluation {
            expr: self.source.clone(),
            message,
        };
        let bindings = scope.bindings();
        for (name, value) in &bindings {
            cost::check_inputs(name, value).map_err(|message| GuardError::OverBudget {
                expr: self.source.clone(),
                message,
            })?;
        }
        let started = std::time::Instant::now();
        // Grows the stack only for deep expressions on a thread with little stack left.
        let need = cost::eval_stack(self.depth);
        let outcome = stacker::maybe_grow(need, need.max(PARSER_STACK), || {
            catch_unwind(AssertUnwindSafe(|| {
                let mut ctx = Context::default();
                register_functions(&mut ctx);
                for (name, value) in bindings {
                    ctx.add_variable_from_value(name, json_to_cel(&value));
                }
                self.program.execute(&ctx)
            }))
        });
        let took = started.elapsed();
        if took > std::time::Duration::from_millis(20) {
            tracing::warn!(expr = %self.source, ms = took.as_millis() as u64, "a slow expression");
        }
        match outcome {
            Ok(Ok(value)) => cel_to_json(&value).map_err(fail),
            Ok(Err(e)) => Err(fail(e.to_string())),
            Err(_) => Err(fail("the evaluator failed unexpectedly".to_string())),
        }
    }

    /// Evaluates a guard, which must give a boolean.
    pub fn eval_bool(&self, scope: &Scope) -> Result<bool, GuardError> {
        match self.eval(scope)? {
            serde_json::Value::Bool(b) => Ok(b),
            other => Err(GuardError::WrongResult {
                expr: self.source.clone(),
                got: other.to_string(),
                expected: "boolean",
            }),
        }
    }
}

/// The values an expression is evaluated over.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub form: serde_json::Value,
    pub submitter: serde_json::Value,
    pub votes: serde_json::Value,
    pub vars: serde_json::Value,
    pub today: String,
}

impl Scope {
    fn bindings(&self) -> [(&'static str, serde_json::Value); 5] {
        [
            ("form", self.form.clone()),
            ("submitter", self.submitter.clone()),
            ("votes", self.votes.clone()),
            ("vars", self.vars.clone()),
            ("today", serde_json::Value::String(self.today.clone())),
        ]
    }
}

fn register_functions(ctx: &mut Context) {
    // The names are not in the standard library, so registering cannot conflict.
    let _ = ctx.add_function(
        "sum",
        |Arguments(args): Arguments| -> Result<Value, cel::ExecutionError> {
            numbers(&args).map(|ns| number_value(ns.iter().sum()))
        },
    );
    let _ = ctx.add_function(
        "avg",
        |Arguments(args): Arguments| -> Result<Value, cel::ExecutionError> {
            let ns = numbers(&args)?;
            if ns.is_empty() {
                return Err(cel::ExecutionError::function_error(
                    "avg",
                    "the list is empty",
                ));
            }
            Ok(Value::Float(ns.iter().sum::<f64>() / ns.len() as f64))
        },
    );
    let _ = ctx.add_function(
        "days_between",
        |from: Arc<String>, to: Arc<String>| -> Result<i64, cel::ExecutionError> {
            let parse = |s: &str| {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                    cel::ExecutionError::function_error(
                        "days_between",
                        format!("`{s}` is not a YYYY-MM-DD date"),
                    )
                })
            };
            Ok((parse(&to)? - parse(&from)?).num_days())
        },
    );
    let _ = ctx.add_function(
        "end_of_month",
        |date: Arc<String>| -> Result<Value, cel::ExecutionError> {
            use chrono::Datelike;
            let d = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| {
                cel::ExecutionError::function_error(
                    "end_of_month",
                    format!("`{date}` is not a YYYY-MM-DD date"),
                )
            })?;
            let first_of_next = if d.month() == 12 {
                chrono::NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
            } else {
                chrono::NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
            };
            first_of_next
                .and_then(|n| n.pred_opt())
                .map(|last| Value::String(Arc::new(last.format("%Y-%m-%d").to_string())))
                .ok_or_else(|| {
                    cel::ExecutionError::function_error("end_of_month", "date out of range")
                })
        },
    );
}

fn numbers(args: &[Value]) -> Result<Vec<f64>, cel::ExecutionError> {
    let items: &[Value] = match args {
        [Value::List(list)] => list,
        other => other,
    };
    items
        .iter()
        .map(|v| match v {
            Value::Int(i) => Ok(*i as f64),
            Value::UInt(u) => Ok(*u as f64),
            Value::Float(f) => Ok(*f),
            Value::Null => Ok(0.0),
            other => Err(cel::ExecutionError::function_error(
                "sum",
                format!("{other:?} is not a number"),
            )),
        })
        .collect()
}

fn number_value(n: f64) -> Value {
    Value::Float(n)
}

/// JSON to CEL: whole numbers become ints, others floats, so `form.count > 3` and
/// `form.total > 5000.5` both read naturally.
pub fn json_to_cel(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_json::Value::String(s) => Value::String(Arc::new(s.clone())),
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.iter().map(json_to_cel).collect()))
        }
        serde_json::Value::Object(map) => {
            let entries: BTreeMap<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), json_to_cel(v)))
                .collect();
            Value::from(
                entries
                    .into_iter()
                    .collect::<std::collections::HashMap<_, _>>(),
            )
        }
    }
}

pub fn cel_to_json(value: &Value) -> Result<serde_json::Value, String> {
    Ok(match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::UInt(u) => serde_json::Value::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .ok_or_else(|| format!("{f} is not a finite number"))?,
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::List(items) => {
            serde_json::Value::Array(items.iter().map(cel_to_json).collect::<Result<_, _>>()?)
        }
        Value::Map(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map.map.iter() {
                let key = match k {
                    cel::objects::Key::String(s) => s.to_string(),
                    cel::objects::Key::Int(i) => i.to_string(),
                    cel::objects::Key::Uint(u) => u.to_string(),
                    cel::objects::Key::Bool(b) => b.to_string(),
                };
                out.insert(key, cel_to_json(v)?);
            }
            serde_json::Value::Object(out)
        }
        Value::Timestamp(t) => serde_json::Value::String(t.to_rfc3339()),
        Value::Duration(d) => serde_json::Value::from(d.num_seconds()),
        other => return Err(format!("{other:?} cannot be stored")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(form: serde_json::Value) -> Scope {
        Scope {
            form,
            submitter: json!({"id": "li.na", "roles": ["specialist"]}),
            votes: json!({"approved": 2, "rejected": 0, "total": 3, "pending": 1,
                          "ballots": [{"user": "a", "score": 85}, {"user": "b", "score": 78}]}),
            vars: json!({"round": 1}),
            today: "2026-11-22".into(),
        }
    }

    #[test]
    fn evaluates_guards_over_form_and_votes() {
        let s = scope(json!({"total": 5200.5, "lines": [{"amount": 200}, {"amount": 5000.5}]}));
        let eval = |e: &str| compile(e).unwrap().eval(&s).unwrap();
        assert_eq!(eval("form.total > 5000"), json!(true));
        assert_eq!(eval("sum(form.lines.map(l, l.amount))"), json!(5200.5));
        assert_eq!(
            eval("avg(votes.ballots.map(b, b.score)) >= 80"),
            json!(true)
        );
        assert_eq!(eval("days_between('2026-01-30', '2026-03-02')"), json!(31));
        assert_eq!(eval("vars.round + 1"), json!(2));
        assert_eq!(eval("end_of_month('2028-02-10')"), json!("2028-02-29"));
        assert_eq!(eval("today"), json!("2026-11-22"));
    }

    #[test]
    fn failures_are_values_not_panics() {
        let s = scope(json!({}));
        assert!(compile("form.total > ").is_err());
        assert!(compile("form.missing > 1").unwrap().eval_bool(&s).is_err());
        assert!(compile("1 / 0").unwrap().eval(&s).is_err());
        assert!(matches!(
            compile("42").unwrap().eval_bool(&s),
            Err(GuardError::WrongResult { .. })
        ));
    }

    #[test]
    fn finds_unknown_names_with_offsets() {
        let names = Names {
            form: ["total", "lines"].iter().map(|s| s.to_string()).collect(),
            vars: BTreeSet::new(),
        };
        let c = compile("form.totl > 5 && lines.all(l, l.amount > 0) && form.lines.all(x, x.ok)")
            .unwrap();
        let unknown = c.unknown_names(&names);
        let found: Vec<(&str, usize)> = unknown
            .iter()
            .map(|u| (u.name.as_str(), u.offset))
            .collect();
        assert_eq!(found, vec![("form.totl", 5), ("lines", 17)]);
    }
}
