//! The fuzz target of the guard compiler: generated CEL, long and deep, flat and nested,
//! valid and broken, is compiled, evaluated and checked inside a definition on a thread
//! with a small stack (half a tokio worker's). A recursion without a bound aborts the
//! test; anything else must come back as a value or an error.

use std::path::Path;

use proptest::prelude::*;
use serde_json::json;
use signoff_engine::catalog::check_source;
use signoff_engine::guard::{compile, Scope};
use signoff_engine::loader::SourceFile;
use signoff_tests::processes_dir;

/// Pieces that combine into expressions of every shape the parser knows.
const ATOMS: &[&str] = &[
    "1",
    "2.5",
    "'a'",
    "\"b\"",
    "true",
    "null",
    "form.total",
    "form.lines",
    "vars.limit",
    "votes.approved",
    "today",
    "submitter.roles",
    "[1, 2, 3]",
    "{'k': 1}",
    "x",
    "l.amount",
];
const BINARY: &[&str] = &[
    "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", " in ",
];
const PREFIX: &[&str] = &["!", "-", "(", "["];
const MACROS: &[&str] = &["all", "exists", "exists_one", "map", "filter"];

/// A tree of generated syntax, rendered to text.
#[derive(Debug, Clone)]
enum Gen {
    Atom(usize),
    Binary(Box<Gen>, usize, Box<Gen>),
    Prefix(usize, Box<Gen>),
    Macro(Box<Gen>, usize, Box<Gen>),
    Ternary(Box<Gen>, Box<Gen>, Box<Gen>),
    Chain(usize, usize, usize),
}

impl Gen {
    fn render(&self) -> String {
        match self {
            Gen::Atom(i) => ATOMS[*i].to_string(),
            Gen::Binary(a, op, b) => format!("{}{}{}", a.render(), BINARY[*op], b.render()),
            Gen::Prefix(p, e) => match PREFIX[*p] {
                "(" => format!("({})", e.render()),
                "[" => format!("[{}]", e.render()),
                other => format!("{other}{}", e.render()),
            },
            Gen::Macro(range, m, body) => {
                format!("{}.{}(x, {})", range.render(), MACROS[*m], body.render())
            }
            Gen::Ternary(c, a, b) => format!("{} ? {} : {}", c.render(), a.render(), b.render()),
            // Long flat runs: `1+1+…`, `!!!…x`, `((((…))))`.
            Gen::Chain(kind, atom, n) => match kind % 3 {
                0 => vec![ATOMS[*atom]; *n].join(BINARY[n % BINARY.len()]),
                1 => format!("{}{}", "!".repeat(*n), ATOMS[*atom]),
                _ => format!("{}{}{}", "(".repeat(*n), ATOMS[*atom], ")".repeat(*n)),
            },
        }
    }
}

fn gen() -> impl Strategy<Value = Gen> {
    let leaf = prop_oneof![
        (0..ATOMS.len()).prop_map(Gen::Atom),
        (0usize..3, 0..ATOMS.len(), 1usize..6_000).prop_map(|(k, a, n)| Gen::Chain(k, a, n)),
    ];
    leaf.prop_recursive(12, 256, 4, |inner| {
        prop_oneof![
            (inner.clone(), 0..BINARY.len(), inner.clone()).prop_map(|(a, op, b)| Gen::Binary(
                Box::new(a),
                op,
                Box::new(b)
            )),
            (0..PREFIX.len(), inner.clone()).prop_map(|(p, e)| Gen::Prefix(p, Box::new(e))),
            (inner.clone(), 0..MACROS.len(), inner.clone()).prop_map(|(r, m, b)| Gen::Macro(
                Box::new(r),
                m,
                Box::new(b)
            )),
            (inner.clone(), inner.clone(), inner).prop_map(|(c, a, b)| Gen::Ternary(
                Box::new(c),
                Box::new(a),
                Box::new(b)
            )),
        ]
    })
}

/// Compiles, evaluates and checks `text` in a definition, on a small stack.
fn exercise(text: String) {
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || {
            if let Ok(compiled) = compile(&text) {
                let lines: Vec<_> = (0..50).map(|i| json!({"amount": i})).collect();
                let scope = Scope {
                    form: json!({"total": 120, "lines": lines}),
                    vars: json!({"limit": 100}),
                    votes: json!({"approved": 1}),
                    ..Default::default()
                };
                let _ = compiled.eval(&scope);
            }
            let definition = std::fs::read_to_string(processes_dir().join("reimbursement.yaml"))
                .expect("the shipped definition");
            let yaml = definition.replacen(
                "when: form.total > vars.director_tier",
                &format!(
                    "when: {}",
                    serde_json::to_string(&text).expect("a JSON string")
                ),
                1,
            );
            let source =
                SourceFile::from_bytes(Path::new("fuzz.yaml"), yaml.into_bytes()).expect("UTF-8");
            let _ = check_source(&source, None);
        })
        .expect("a thread")
        .join()
        .expect("never a panic");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn generated_expressions_never_crash(tree in gen()) {
        exercise(tree.render());
    }

    #[test]
    fn cel_token_soup_never_crashes(pieces in proptest::collection::vec(
        prop_oneof![
            (0..ATOMS.len()).prop_map(|i| ATOMS[i].to_string()),
            (0..BINARY.len()).prop_map(|i| BINARY[i].to_string()),
            (0..PREFIX.len()).prop_map(|i| PREFIX[i].to_string()),
            Just(")".to_string()), Just("]".to_string()), Just(".".to_string()),
            Just(",".to_string()), Just("?".to_string()), Just(":".to_string()),
        ],
        0..3_000,
    )) {
        exercise(pieces.concat());
    }
}
