//! The step graph of a definition: where each step can go for each outcome, with the
//! implicit "continue to the next listed step" filled in. Shared by the checker, the
//! diagram and the runtime so all three agree on what a definition means.

use std::collections::BTreeMap;

use crate::located::Located;
use crate::model::{Outcome, ProcessDef, Step, StepKind, TimeoutAction, JOIN_TARGET};

/// Where a transition leads.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Step(&'a Step),
    /// Ends the enclosing parallel branch.
    Join,
    /// Names no step in reach; the checker reports it.
    Unknown,
}

/// One way out of a step.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    pub outcome: Outcome,
    pub guard: Option<&'a Located<String>>,
    pub target: Target<'a>,
    /// The written `to`, absent for an implicit route.
    pub to: Option<&'a Located<String>>,
}

/// Where a step sits: at the top level or inside a branch of a parallel step.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    /// The parallel step and branch id, for steps inside a branch.
    pub branch: Option<(&'a Step, &'a str)>,
    /// The steps listed with it (its branch's, or the top level's).
    pub siblings: &'a [Step],
    pub index: usize,
}

/// The resolved graph of one definition.
#[derive(Debug)]
pub struct Flow<'a> {
    pub def: &'a ProcessDef,
    placements: BTreeMap<&'a str, Placement<'a>>,
}

impl<'a> Flow<'a> {
    pub fn new(def: &'a ProcessDef) -> Flow<'a> {
        let mut placements = BTreeMap::new();
        fn place<'a>(
            steps: &'a [Step],
            branch: Option<(&'a Step, &'a str)>,
            out: &mut BTreeMap<&'a str, Placement<'a>>,
        ) {
            for (index, step) in steps.iter().enumerate() {
                // The first of duplicate ids wins; the checker reports the duplicate.
                out.entry(step.id.value.as_str()).or_insert(Placement {
                    branch,
                    siblings: steps,
                    index,
                });
                for b in &step.branches {
                    place(&b.steps, Some((step, b.id.value.as_str())), out);
                }
            }
        }
        place(&def.steps, None, &mut placements);
        Flow { def, placements }
    }

    pub fn placement(&self, step_id: &str) -> Option<Placement<'a>> {
        self.placements.get(step_id).copied()
    }

    /// The step a transition written in `from`'s scope names, if it is in reach:
    /// top-level steps reach top-level steps; branch steps reach their own branch.
    pub fn resolve(&self, from: &Step, to: &str) -> Target<'a> {
        let Some(here) = self.placement(&from.id) else {
            return Target::Unknown;
        };
        if here.branch.is_some() && to == JOIN_TARGET {
            return Target::Join;
        }
        match here.siblings.iter().find(|s| s.id.value == to) {
            Some(step) => Target::Step(step),
            None => Target::Unknown,
        }
    }

    /// The outcomes `step` can produce, including `timeout` where its deadline says so.
    pub fn outcomes(step: &Step) -> Vec<Outcome> {
        let mut outcomes = step.kind.outcomes().to_vec();
        let takes_timeout = step
            .deadline
            .as_ref()
            .and_then(|d| d.on_timeout.as_ref())
            .is_some_and(|t| t.value == TimeoutAction::Transition);
        if takes_timeout {
            outcomes.push(Outcome::Timeout);
        }
        outcomes
    }

    /// The routes for one outcome, in the order they are tried. When the definition
    /// names none and the outcome may continue implicitly, the next listed step (or the
    /// branch's join) is the only route.
    pub fn routes(&self, step: &'a Step, outcome: Outcome) -> Vec<Route<'a>> {
        let explicit: Vec<Route<'a>> = step
            .transitions
            .iter()
            .filter(|t| t.on.value == outcome)
            .map(|t| Route {
                outcome,
                guard: t.when.as_ref(),
                target: self.resolve(step, &t.to),
                to: Some(&t.to),
            })
            .collect();
        if !explicit.is_empty() || !outcome.continues_implicitly() {
            return explicit;
        }
        self.implicit_next(step)
            .map(|target| Route {
                outcome,
                guard: None,
                target,
                to: None,
            })
            .into_iter()
            .collect()
    }

    fn implicit_next(&self, step: &Step) -> Option<Target<'a>> {
        let here = self.placement(&step.id)?;
        match here.siblings.get(here.index + 1) {
            Some(next) => Some(Target::Step(next)),
            None if here.branch.is_some() => Some(Target::Join),
            None => None,
        }
    }

    /// Every route of every step, for graphs.
    pub fn all_routes(&self) -> Vec<(&'a Step, Route<'a>)> {
        let mut out = Vec::new();
        for step in self.def.all_steps() {
            for outcome in Flow::outcomes(step) {
                for route in self.routes(step, outcome) {
                    out.push((step, route));
                }
            }
        }
        out
    }

    /// Steps reachable from `first` along routes within one scope.
    pub fn reachable_from(&self, first: &'a Step) -> Vec<&'a Step> {
        let mut seen: Vec<&'a Step> = vec![first];
        let mut todo = vec![first];
        while let Some(step) = todo.pop() {
            for outcome in Flow::outcomes(step) {
                for route in self.routes(step, outcome) {
                    if let Target::Step(next) = route.target {
                        if !seen.iter().any(|s| std::ptr::eq(*s, next)) {
                            seen.push(next);
                            todo.push(next);
                        }
                    }
                }
            }
            for target in step.return_to.iter() {
                if let Target::Step(next) = self.resolve(step, target) {
                    if !seen.iter().any(|s| std::ptr::eq(*s, next)) {
                        seen.push(next);
                        todo.push(next);
                    }
                }
            }
        }
        seen
    }

    /// Whether `step` can reach an end (top level) or the join (in a branch).
    pub fn can_finish(&self, step: &'a Step) -> bool {
        let mut seen: Vec<&'a Step> = vec![step];
        let mut todo = vec![step];
        while let Some(s) = todo.pop() {
            if s.kind.value == StepKind::End {
                return true;
            }
            for outcome in Flow::outcomes(s) {
                for route in self.routes(s, outcome) {
                    match route.target {
                        Target::Join => return true,
                        Target::Step(next) => {
                            if !seen.iter().any(|x| std::ptr::eq(*x, next)) {
                                seen.push(next);
                                todo.push(next);
                            }
                        }
                        Target::Unknown => {}
                    }
                }
            }
        }
        false
    }
}
