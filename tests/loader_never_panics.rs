//! Malformed and hostile input gives diagnostics, never a panic: random bytes, random
//! YAML-ish token soup, and random mutations of the shipped definitions.

use std::path::Path;

use proptest::prelude::*;
use signoff_engine::catalog::check_source;
use signoff_engine::loader::SourceFile;
use signoff_tests::processes_dir;

fn check_bytes(bytes: Vec<u8>) {
    if let Ok(source) = SourceFile::from_bytes(Path::new("fuzz.yaml"), bytes) {
        let _ = check_source(&source, None);
    }
}

fn shipped() -> Vec<String> {
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(processes_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            texts.push(std::fs::read_to_string(path).unwrap());
        }
    }
    texts.sort();
    texts
}

const TOKENS: &[&str] = &[
    "id: ",
    "steps:",
    "\n",
    "  ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ": ",
    "&a ",
    "*a",
    "<<: *a",
    "type: ",
    "approval",
    "end",
    "parallel",
    "branches:",
    "transitions:",
    "on: ",
    "to: ",
    "when: ",
    "\"form.x > 1\"",
    "'",
    "\"",
    "#",
    "|",
    ">",
    "!!str ",
    "~",
    "null",
    "1e999",
    "-",
    "?",
    ",",
    "%YAML 1.2\n",
    "---\n",
    "...\n",
    "\t",
    "步骤",
    "\u{feff}",
    "form.lines.map(l, l.amount)",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_bytes(bytes);
    }

    #[test]
    fn token_soup(tokens in proptest::collection::vec(0..TOKENS.len(), 0..300)) {
        let text: String = tokens.into_iter().map(|i| TOKENS[i]).collect();
        check_bytes(text.into_bytes());
    }

    #[test]
    fn mutated_shipped_definitions(
        file in 0usize..8,
        cuts in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..40, 0..TOKENS.len()), 1..6),
    ) {
        let texts = shipped();
        let mut text = texts[file % texts.len()].clone().into_bytes();
        for (at, len, token) in cuts {
            let start = at.index(text.len().max(1)).min(text.len());
            let end = (start + len).min(text.len());
            text.splice(start..end, TOKENS[token].bytes());
        }
        check_bytes(text);
    }
}

#[test]
fn hostile_inputs_are_refused_with_a_diagnostic() {
    let deep = format!("id: {}{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..20 {
        let prev = if i == 0 {
            "a".to_string()
        } else {
            format!("b{}", i - 1)
        };
        bomb.push_str(&format!("b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    for text in [deep, bomb, "\u{0}\u{1}".to_string(), "id: [".to_string()] {
        let source = SourceFile::from_bytes(Path::new("h.yaml"), text.into_bytes()).unwrap();
        let (def, diagnostics) = check_source(&source, None);
        assert!(def.is_none());
        assert_eq!(diagnostics.len(), 1);
        assert!(diagnostics[0].line <= 30, "{:?}", diagnostics[0]);
    }
}
