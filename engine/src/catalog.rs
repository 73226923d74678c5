//! A folder of definitions (`processes/`): every process file, the directory
//! (`org.yaml`) and the calendar (`calendar.yaml`), loaded and checked together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::calendar::{Calendar, CalendarFile, WARN_DAYS};
use crate::check::check_definition;
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::directory::Directory;
use crate::loader::SourceFile;
use crate::located::Position;
use crate::model::ProcessDef;
use crate::notify::Templates;

pub const DIRECTORY_FILE: &str = "org.yaml";
pub const CALENDAR_FILE: &str = "calendar.yaml";
/// The folder of mail templates beside the definitions.
pub const TEMPLATES_DIR: &str = "templates";
pub use signoff_lang::RESERVED_IDS;

/// A loaded definition with its source.
#[derive(Debug, Clone)]
pub struct Definition {
    pub source: SourceFile,
    pub def: ProcessDef,
}

/// Everything found under the given paths.
#[derive(Debug, Default)]
pub struct Catalog {
    pub definitions: Vec<Definition>,
    pub directory: Option<Directory>,
    pub calendar: Option<Calendar>,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// File texts by path, for rendering diagnostics.
    pub sources: BTreeMap<PathBuf, String>,
}

/// Parses and checks one definition's text: the definition when it could be read, and
/// every problem found.
pub fn check_source(
    source: &SourceFile,
    directory: Option<&Directory>,
) -> (Option<ProcessDef>, Vec<Diagnostic>) {
    match source.parse::<ProcessDef>() {
        Ok(def) => {
            let diagnostics = check_definition(&source.path, &source.text, &def, directory);
            (Some(def), diagnostics)
        }
        Err(d) => (None, vec![*d]),
    }
}

impl Catalog {
    /// Loads files and folders. A folder contributes its `*.yaml`/`*.yml` files; the
    /// directory and calendar are taken from the folder of the first path given (or the
    /// folder a file is in).
    pub fn load(paths: &[PathBuf]) -> Catalog {
        let mut catalog = Catalog::default();
        let files = catalog.yaml_files(paths);
        let home = paths
            .first()
            .map(|p| {
                if p.is_dir() {
                    p.clone()
                } else {
                    p.parent().map(Path::to_path_buf).unwrap_or_default()
                }
            })
            .unwrap_or_default();
        catalog.load_directory(&home.join(DIRECTORY_FILE));
        catalog.load_calendar(&home.join(CALENDAR_FILE));

        let mut ids: BTreeMap<String, PathBuf> = BTreeMap::new();
        for file in files {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name == DIRECTORY_FILE || name == CALENDAR_FILE {
                continue;
            }
            let source = match SourceFile::read(&file) {
                Ok(s) => s,
                Err(d) => {
                    catalog.diagnostics.push(*d);
                    continue;
                }
            };
            catalog.sources.insert(file.clone(), source.text.clone());
            let (def, diagnostics) = check_source(&source, catalog.directory.as_ref());
            catalog.diagnostics.extend(diagnostics);
            if let Some(def) = def {
                if let Some(first) = ids.insert(def.id.value.clone(), file.clone()) {
                    catalog.diagnostics.push(
                        Diagnostic::error(
                            Code::DuplicateId,
                            &file,
                            def.id.at,
                            format!(
                                "process id `{}` is already used by {}",
                                def.id,
                                first.display()
                            ),
                        )
                        .with_hint("every process needs its own id"),
                    );
                }
                catalog.definitions.push(Definition { source, def });
            }
        }
        catalog.check_templates(&home.join(TEMPLATES_DIR));
        if catalog.definitions.len() > 1 {
            catalog.check_references();
        }
        catalog
    }

    /// The YAML files of `paths`: each folder's `*.yaml`/`*.yml` in name order, and
    /// each file as given. A folder that cannot be read is a diagnostic.
    fn yaml_files(&mut self, paths: &[PathBuf]) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for path in paths {
            if !path.is_dir() {
                files.push(path.clone());
                continue;
            }
            match std::fs::read_dir(path) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| {
                            p.is_file()
                                && matches!(
                                    p.extension().and_then(|e| e.to_str()),
                                    Some("yaml" | "yml")
                                )
                        })
                        .collect();
                    found.sort();
                    files.extend(found);
                }
                Err(e) => self.diagnostics.push(Diagnostic::error(
                    Code::Io,
                    path,
                    Position::UNKNOWN,
                    format!("cannot read the folder: {e}"),
                )),
            }
        }
        files
    }

    /// Across definitions: a `request` field's `process` and `step` exist, a link's step
    /// is in the process its field names, and a wait `by` a process is finished by one
    /// of that process's links. Run when a folder of definitions is checked together.
    fn check_references(&mut self) {
        let mut found = Vec::new();
        for d in &self.definitions {
            let fields = d
                .def
                .form
                .fields
                .iter()
                .flat_map(|f| std::iter::once(f).chain(&f.columns));
            for f in fields {
                if let Some(process) = &f.process {
                    match self.process(&process.value) {
                        None => {
                            found.push((d, process.at, format!("no process `{}`", process.value)))
                        }
                        Some(target) => {
                            if let Some(step) =
                                f.step.as_ref().filter(|s| target.step(&s.value).is_none())
                            {
                                found.push((
                                    d,
                                    step.at,
                                    format!(
                                        "process `{}` has no step `{}`",
                                        process.value, step.value
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
            for step in d.def.all_steps() {
                for link in &step.links {
                    let field = link.request.value.split('.').collect::<Vec<_>>();
                    let process = match field.as_slice() {
                        [f] => d.def.field(f).and_then(|f| f.process.as_ref()),
                        [t, c] => d
                            .def
                            .field(t)
                            .and_then(|t| t.columns.iter().find(|col| col.id.value == *c))
                            .and_then(|c| c.process.as_ref()),
                        _ => None,
                    };
                    if let Some(target) = process.and_then(|p| self.process(&p.value)) {
                        if target.step(&link.step.value).is_none() {
                            found.push((
                                d,
                                link.step.at,
                                format!("process `{}` has no step `{}`", target.id, link.step),
                            ));
                        }
                    }
                }
                if let Some(by) = &step.by {
                    let finishes = self.process(&by.value).is_some_and(|other| {
                        other.all_steps().iter().any(|s| {
                            s.links
                                .iter()
                                .any(|l| l.finish && l.step.value == step.id.value)
                        })
                    });
                    if !finishes {
                        found.push((d, by.at, format!("no step of process `{}` finishes `{}` (a link with `step: {}` and `finish: true`)", by.value, step.id, step.id)));
                    }
                }
            }
        }
        let found: Vec<Diagnostic> = found
            .into_iter()
            .map(|(d, at, message)| {
                Diagnostic::error(Code::UnknownStep, &d.source.path, at, message)
                    .with_hint("name a process in this folder and one of its steps")
            })
            .collect();
        self.diagnostics.extend(found);
    }

    fn process(&self, id: &str) -> Option<&ProcessDef> {
        self.definitions
            .iter()
            .map(|d| &d.def)
            .find(|d| d.id.value == id)
    }

    /// The mail templates compile, and every template a notification rule names exists.
    fn check_templates(&mut self, dir: &Path) {
        let templates = match Templates::load(dir) {
            Ok(t) => t,
            Err(e) => {
                self.diagnostics.push(Diagnostic::error(
                    Code::Io,
                    dir,
                    Position::UNKNOWN,
                    e.to_string(),
                ));
                return;
            }
        };
        for d in &self.definitions {
            let steps = d.def.all_steps();
            let rules = d
                .def
                .notify
                .iter()
                .chain(steps.iter().flat_map(|s| &s.notify));
            for name in rules.filter_map(|r| r.template.as_ref()) {
                if !templates.has(&name.value) {
                    self.diagnostics.push(
                        Diagnostic::error(
                            Code::UnknownTemplate,
                            &d.source.path,
                            name.at,
                            format!("no mail template `{}`", name.value),
                        )
                        .with_hint(format!(
                            "add {}/{}.zh.txt (and .en.txt) with the blocks subject, intro and ask",
                            dir.display(),
                            name.value
                        )),
                    );
                }
            }
        }
    }

    fn load_directory(&mut self, path: &Path) {
        if !path.exists() {
            return;
        }
        match SourceFile::read(path).and_then(|s| {
            self.sources.insert(path.to_path_buf(), s.text.clone());
            s.parse::<Directory>()
        }) {
            Ok(dir) => {
                for (at, problem) in dir.problems() {
                    self.diagnostics.push(
                        Diagnostic::error(Code::Directory, path, at, problem)
                            .with_hint("fix the directory entry in org.yaml"),
                    );
                }
                self.directory = Some(dir);
            }
            Err(d) => self.diagnostics.push(*d),
        }
    }

    fn load_calendar(&mut self, path: &Path) {
        if !path.exists() {
            return;
        }
        let parsed = SourceFile::read(path).and_then(|s| {
            self.sources.insert(path.to_path_buf(), s.text.clone());
            s.parse::<CalendarFile>()
        });
        match parsed {
            Ok(file) => match Calendar::from_file(&file) {
                Ok(cal) => {
                    if let Some(warning) = ending_soon(&cal, path, chrono::Utc::now()) {
                        self.diagnostics.push(warning);
                    }
                    self.calendar = Some(cal);
                }
                Err(e) => self.diagnostics.push(Diagnostic::error(
                    Code::Calendar,
                    path,
                    Position::UNKNOWN,
                    e.to_string(),
                )),
            },
            Err(d) => self.diagnostics.push(*d),
        }
    }

    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn definition(&self, id: &str) -> Option<&Definition> {
        self.definitions.iter().find(|d| d.def.id.value == id)
    }

    /// All diagnostics rendered for a terminal.
    pub fn render(&self) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(self.sources.get(&d.file).map(String::as_str)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A warning when the calendar's known holidays end within [`WARN_DAYS`] of `now`.
pub fn ending_soon(
    calendar: &Calendar,
    path: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Diagnostic> {
    let left = calendar.days_left(now)?;
    let end = calendar.valid_until()?;
    (left < WARN_DAYS).then(|| {
        Diagnostic::warning(
            Code::Calendar,
            path,
            Position::UNKNOWN,
            format!("the calendar's holidays end on {end}, {left} days from now: deadlines after it count weekends only"),
        )
        .with_hint("add next year's holidays and make-up days as soon as they are published".to_string())
    })
}
