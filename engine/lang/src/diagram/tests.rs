use super::*;
use crate::loader::SourceFile;

fn shipped(file: &str) -> ProcessDef {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../processes")
        .join(file);
    SourceFile::read(&path)
        .and_then(|s| s.parse())
        .unwrap_or_else(|e| panic!("{file}: {e:?}"))
}

const ALL: [&str; 10] = [
    "reimbursement.yaml",
    "sales_confirmation.yaml",
    "deferred_payment.yaml",
    "staff_rotation.yaml",
    "appointment_review.yaml",
    "methodology_rollout.yaml",
    "onsite_report.yaml",
    "business_plan.yaml",
    "sales_ledger_check.yaml",
    "monthly_statement.yaml",
];

#[test]
fn every_step_is_placed_and_forward_edges_go_down() {
    for file in ALL {
        let def = shipped(file);
        let g = graph_of(&def, Lang::Zh);
        let back = back_edges(&g);
        let layer = layers(&g, &back);
        for (i, e) in g.edges.iter().enumerate() {
            if !back.contains(&i) {
                assert!(
                    layer[e.to] > layer[e.from],
                    "{file}: {} → {}",
                    g.nodes[e.from].id,
                    g.nodes[e.to].id
                );
            }
        }
        let laid = layout(&g, &layer, &back);
        let real: Vec<usize> = laid
            .rows
            .iter()
            .flatten()
            .copied()
            .filter(|s| *s < g.nodes.len())
            .collect();
        assert_eq!(real.len(), g.nodes.len(), "{file}: every node in one layer");
        for (i, chain) in laid.chains.iter().enumerate() {
            if !back.contains(&i) {
                assert_eq!(
                    chain.len(),
                    layer[g.edges[i].to] - layer[g.edges[i].from] + 1,
                    "{file}: a slot per layer crossed"
                );
            }
        }
        let steps = def.all_steps().len();
        let svg = svg(&def, &Marks::default(), Lang::Zh, "t");
        assert_eq!(
            svg.matches("<g class=\"node").count(),
            g.nodes.len(),
            "{file}"
        );
        assert!(g.nodes.len() >= steps, "{file}: a node per step");
        let boxes = placed_boxes(&place(&g, &laid), g.nodes.len());
        assert!(!overlap(&boxes), "{file}: boxes overlap");
    }
}

fn placed_boxes(p: &Placed, nodes: usize) -> Vec<(i32, i32)> {
    p.at[..nodes].to_vec()
}

fn overlap(boxes: &[(i32, i32)]) -> bool {
    boxes.iter().enumerate().any(|(i, a)| {
        boxes[i + 1..]
            .iter()
            .any(|b| (a.0 - b.0).abs() < NODE_W && (a.1 - b.1).abs() < NODE_H)
    })
}

#[test]
fn loops_are_drawn_back_and_conditions_in_words_not_cel() {
    let def = shipped("methodology_rollout.yaml");
    let drawn = svg(&def, &Marks::default(), Lang::Zh, "t");
    assert!(
        drawn.contains("class=\"edge loop\""),
        "the loop back to a new plan"
    );
    let def = shipped("reimbursement.yaml");
    let drawn = svg(&def, &Marks::default(), Lang::Zh, "t");
    assert!(drawn.contains("超过5000元"), "the transition's label");
    assert!(
        !drawn.contains("form.total") && !drawn.contains("vars."),
        "no CEL shown"
    );
    let def = shipped("staff_rotation.yaml");
    let drawn = svg(&def, &Marks::default(), Lang::En, "t");
    assert!(
        drawn.contains("class=\"node fork") && drawn.contains("class=\"node join"),
        "parallel"
    );
}

#[test]
fn a_request_shows_its_path_where_it_is_and_who_holds_it() {
    let def = shipped("reimbursement.yaml");
    let marks = Marks {
        current: ["service_review".to_string()].into(),
        passed: ["manager_review".to_string()].into(),
        holders: [(
            "service_review".to_string(),
            vec!["宋怡".to_string(), "唐杰".to_string()],
        )]
        .into(),
    };
    let drawn = svg(&def, &marks, Lang::Zh, "t");
    assert!(
        drawn.contains("class=\"node approval current\" data-step=\"service_review\""),
        "{drawn}"
    );
    assert!(drawn.contains("class=\"node approval passed\" data-step=\"manager_review\""));
    assert!(drawn.contains("宋怡、唐杰"));
    assert!(drawn.contains("class=\"edge taken\""), "the way it came");
}

#[test]
fn names_are_escaped() {
    let mut def = shipped("reimbursement.yaml");
    def.steps[0].name = Some(crate::model::Label {
        zh: "<script>alert(1)</script>".into(),
        en: "\"x\" & 'y'".into(),
    });
    let zh = svg(&def, &Marks::default(), Lang::Zh, "<t>");
    assert!(!zh.contains("<script>") && zh.contains("&lt;script&gt;"));
    assert!(zh.contains("aria-label=\"&lt;t&gt;\""));
    let en = svg(&def, &Marks::default(), Lang::En, "t");
    assert!(en.contains("&quot;x&quot; &amp; &#39;y&#39;"));
}
