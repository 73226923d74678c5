//! Mail templates: the built-in ones (`engine/templates/mail/`) and the overrides of a
//! processes folder (`processes/templates/`), rendered with minijinja.
//!
//! An event template (`EVENT.LANG.txt`) defines three plain-text blocks: `subject`, `intro`
//! (what happened) and `ask` (what the reader should do). The layouts put them, with the
//! request's key facts and the link, into a text body and an HTML body; the HTML layout
//! escapes every value, so text typed into a form can never become markup.

use std::path::Path;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

pub use crate::display::Fact;

/// The languages mail is written in; a user's `locale` picks one, Chinese by default.
pub const LANGUAGES: [&str; 2] = ["zh", "en"];

const LAYOUT_TEXT: &str = include_str!("../../templates/mail/layout.txt");
const LAYOUT_HTML: &str = include_str!("../../templates/mail/layout.html");

/// The built-in event templates, by file name.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "task_assigned.zh.txt",
        include_str!("../../templates/mail/task_assigned.zh.txt"),
    ),
    (
        "task_assigned.en.txt",
        include_str!("../../templates/mail/task_assigned.en.txt"),
    ),
    (
        "reminder.zh.txt",
        include_str!("../../templates/mail/reminder.zh.txt"),
    ),
    (
        "reminder.en.txt",
        include_str!("../../templates/mail/reminder.en.txt"),
    ),
    (
        "escalated.zh.txt",
        include_str!("../../templates/mail/escalated.zh.txt"),
    ),
    (
        "escalated.en.txt",
        include_str!("../../templates/mail/escalated.en.txt"),
    ),
    (
        "urged.zh.txt",
        include_str!("../../templates/mail/urged.zh.txt"),
    ),
    (
        "urged.en.txt",
        include_str!("../../templates/mail/urged.en.txt"),
    ),
    (
        "commented.zh.txt",
        include_str!("../../templates/mail/commented.zh.txt"),
    ),
    (
        "commented.en.txt",
        include_str!("../../templates/mail/commented.en.txt"),
    ),
    ("cc.zh.txt", include_str!("../../templates/mail/cc.zh.txt")),
    ("cc.en.txt", include_str!("../../templates/mail/cc.en.txt")),
    (
        "approved.zh.txt",
        include_str!("../../templates/mail/approved.zh.txt"),
    ),
    (
        "approved.en.txt",
        include_str!("../../templates/mail/approved.en.txt"),
    ),
    (
        "rejected.zh.txt",
        include_str!("../../templates/mail/rejected.zh.txt"),
    ),
    (
        "rejected.en.txt",
        include_str!("../../templates/mail/rejected.en.txt"),
    ),
    (
        "returned.zh.txt",
        include_str!("../../templates/mail/returned.zh.txt"),
    ),
    (
        "returned.en.txt",
        include_str!("../../templates/mail/returned.en.txt"),
    ),
    (
        "withdrawn.zh.txt",
        include_str!("../../templates/mail/withdrawn.zh.txt"),
    ),
    (
        "withdrawn.en.txt",
        include_str!("../../templates/mail/withdrawn.en.txt"),
    ),
    (
        "incident.zh.txt",
        include_str!("../../templates/mail/incident.zh.txt"),
    ),
    (
        "incident.en.txt",
        include_str!("../../templates/mail/incident.en.txt"),
    ),
    (
        "step_entered.zh.txt",
        include_str!("../../templates/mail/step_entered.zh.txt"),
    ),
    (
        "step_entered.en.txt",
        include_str!("../../templates/mail/step_entered.en.txt"),
    ),
    (
        "moved.zh.txt",
        include_str!("../../templates/mail/moved.zh.txt"),
    ),
    (
        "moved.en.txt",
        include_str!("../../templates/mail/moved.en.txt"),
    ),
    (
        "terminated.zh.txt",
        include_str!("../../templates/mail/terminated.zh.txt"),
    ),
    (
        "terminated.en.txt",
        include_str!("../../templates/mail/terminated.en.txt"),
    ),
];

/// A template that does not load or render.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{file}: {message}")]
    Load { file: String, message: String },
    #[error("mail template `{0}` does not exist in any language")]
    Missing(String),
    #[error("rendering mail template `{name}`: {message}")]
    Render { name: String, message: String },
}

/// A rendered message, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What a template can use. Every string is plain text; the HTML layout escapes it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MailContext {
    pub lang: String,
    pub recipient_name: String,
    pub process_name: String,
    pub request_id: i64,
    pub submitter_name: String,
    pub step_name: String,
    pub actor_name: String,
    pub on_behalf_of: String,
    pub comment: String,
    pub reason: String,
    pub overdue: bool,
    pub due: String,
    pub link: String,
    pub facts: Vec<Fact>,
    /// The request's attachments: each one's name and where to download it.
    pub files: Vec<Fact>,
    /// What a task asks: `approve`, `revise`, `fill_in` or `do`.
    pub task_ask: String,
}

/// The templates in use: the built-in set, with a processes folder's files on top.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Templates {
    /// The built-in templates only.
    pub fn built_in() -> Templates {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.set_keep_trailing_newline(false);
        for (name, source) in BUILT_IN
            .iter()
            .copied()
            .chain([("layout.txt", LAYOUT_TEXT), ("layout.html", LAYOUT_HTML)])
        {
            // The built-in templates are checked by the tests below; a broken one is a bug.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "built-in mail template");
            }
        }
        Templates { env }
    }

    /// The built-in templates with the `*.txt` and `layout.html` files of `dir` (usually
    /// `processes/templates/`) on top: a file named like a built-in replaces it, any
    /// other name is a template a notification rule can choose with `template: NAME`.
    pub fn load(dir: &Path) -> Result<Templates, TemplateError> {
        let mut templates = Templates::built_in();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(templates);
        };
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            if !(name.ends_with(".txt") || name == "layout.html") {
                continue;
            }
            let source = std::fs::read_to_string(&path).map_err(|e| TemplateError::Load {
                file: path.display().to_string(),
                message: e.to_string(),
            })?;
            templates
                .env
                .add_template_owned(name, source)
                .map_err(|e| TemplateError::Load {
                    file: path.display().to_string(),
                    message: describe(&e),
                })?;
        }
        Ok(templates)
    }

    /// Whether a template named `name` exists in some language.
    pub fn has(&self, name: &str) -> bool {
        LANGUAGES
            .iter()
            .any(|lang| self.env.get_template(&format!("{name}.{lang}.txt")).is_ok())
    }

    /// Renders template `name` (an event's name or a rule's `template`) in `ctx.lang`,
    /// falling back to the other language when the template only exists in one.
    pub fn render(&self, name: &str, ctx: &MailContext) -> Result<Rendered, TemplateError> {
        let file = std::iter::once(ctx.lang.as_str())
            .chain(LANGUAGES)
            .map(|lang| format!("{name}.{lang}.txt"))
            .find(|file| self.env.get_template(file).is_ok())
            .ok_or_else(|| TemplateError::Missing(name.to_string()))?;
        let render_error = |e: minijinja::Error| TemplateError::Render {
            name: file.clone(),
            message: describe(&e),
        };
        let template = self.env.get_template(&file).map_err(render_error)?;
        let mut captured = template.render_captured(ctx).map_err(render_error)?;
        let [subject, intro, ask] = captured.with_state_mut(|state| {
            ["subject", "intro", "ask"].map(|block| {
                state
                    .render_block(block)
                    .map(|text| text.trim().to_string())
            })
        });
        let subject = one_line(&subject.map_err(render_error)?);
        let intro = intro.map_err(render_error)?;
        let ask = ask.map_err(render_error)?;
        let greeting = if ctx.lang == "en" {
            format!("Dear {},", ctx.recipient_name)
        } else {
            format!("{}，您好：", ctx.recipient_name)
        };
        let layout_ctx = LayoutContext {
            mail: ctx,
            subject: &subject,
            greeting: &greeting,
            intro: &intro,
            ask: &ask,
            t: Phrases::of(&ctx.lang),
        };
        let text = self
            .env
            .get_template("layout.txt")
            .and_then(|t| t.render(&layout_ctx))
            .map_err(render_error)?;
        let html = self
            .env
            .get_template("layout.html")
            .and_then(|t| t.render(&layout_ctx))
            .map_err(render_error)?;
        Ok(Rendered {
            subject,
            text: text.trim().to_string() + "\n",
            html,
        })
    }
}

#[derive(Serialize)]
struct LayoutContext<'a> {
    #[serde(flatten)]
    mail: &'a MailContext,
    subject: &'a str,
    greeting: &'a str,
    intro: &'a str,
    ask: &'a str,
    t: Phrases,
}

/// The layouts' fixed words.
#[derive(Serialize)]
struct Phrases {
    request: &'static str,
    due: &'static str,
    comment: &'static str,
    attachments: &'static str,
    open: &'static str,
    footer: &'static str,
}

impl Phrases {
    fn of(lang: &str) -> Phrases {
        if lang == "en" {
            Phrases {
                request: "Request",
                due: "Due",
                comment: "Comment",
                attachments: "Attachments",
                open: "Open in Signoff",
                footer: "Sent by Signoff. You receive this because of your part in this request.",
            }
        } else {
            Phrases {
                request: "申请",
                due: "截止时间",
                comment: "意见",
                attachments: "附件",
                open: "在 Signoff 中打开",
                footer: "此邮件由 Signoff 自动发送，因为您参与了这项申请。",
            }
        }
    }
}

/// A subject is one line: a newline typed into a form must not start a new header.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// minijinja's message with the line it points at.
fn describe(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!("line {line}: {e}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;

    fn context(lang: &str) -> MailContext {
        MailContext {
            lang: lang.into(),
            recipient_name: "李娜".into(),
            process_name: "费用报销".into(),
            request_id: 7,
            submitter_name: "王芳 <script>alert(1)</script>".into(),
            step_name: "部门经理审批".into(),
            actor_name: "李娜".into(),
            link: "http://127.0.0.1:8080/tasks/3".into(),
            due: "2026-03-04 18:00".into(),
            facts: vec![Fact {
                label: "事由".into(),
                value: "<b>taxi</b> & hotel".into(),
            }],
            ..MailContext::default()
        }
    }

    #[test]
    fn every_built_in_template_renders_in_both_languages() {
        let templates = Templates::built_in();
        for event in Event::ALL {
            for lang in LANGUAGES {
                let mail = templates
                    .render(event.as_str(), &context(lang))
                    .unwrap_or_else(|e| panic!("{event:?} {lang}: {e}"));
                assert!(!mail.subject.is_empty(), "{event:?} {lang}");
                assert!(
                    mail.subject.contains("#7"),
                    "{event:?} {lang}: {}",
                    mail.subject
                );
                assert!(mail.text.contains("http://127.0.0.1:8080/tasks/3"));
                assert!(mail.html.contains("href=\"http://127.0.0.1:8080/tasks/3\""));
            }
        }
    }

    #[test]
    fn form_text_is_escaped_in_html_and_kept_in_text() {
        let mail = Templates::built_in()
            .render("task_assigned", &context("zh"))
            .expect("renders");
        assert!(
            mail.html
                .contains("&lt;b&gt;taxi&lt;&#x2f;b&gt; &amp; hotel"),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("<script>"));
        assert!(mail.text.contains("<b>taxi</b> & hotel"));
        assert!(mail.text.starts_with("李娜，您好："));
    }

    #[test]
    fn attachments_are_listed_with_their_links() {
        let mut ctx = context("zh");
        ctx.files = vec![Fact {
            label: "taxi <1>.png".into(),
            value: "http://127.0.0.1:8080/requests/7/files/abc".into(),
        }];
        let mail = Templates::built_in()
            .render("task_assigned", &ctx)
            .expect("renders");
        assert!(
            mail.text
                .contains("附件:\n  taxi <1>.png: http://127.0.0.1:8080/requests/7/files/abc"),
            "{}",
            mail.text
        );
        assert!(
            mail.html.contains("taxi &lt;1&gt;.png</a>"),
            "{}",
            mail.html
        );
        let none = Templates::built_in()
            .render("task_assigned", &context("zh"))
            .expect("renders");
        assert!(!none.text.contains("附件"));
    }

    #[test]
    fn a_subject_never_spans_lines() {
        let mut ctx = context("en");
        ctx.process_name = "Expense\r\nBcc: evil@example.com".into();
        let mail = Templates::built_in()
            .render("approved", &ctx)
            .expect("renders");
        assert!(!mail.subject.contains('\n') && !mail.subject.contains('\r'));
    }

    #[test]
    fn a_folder_overrides_a_built_in_and_adds_named_templates() {
        let dir = std::env::temp_dir().join(format!("signoff-tpl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(
            dir.join("approved.en.txt"),
            "{% block subject %}Paid: #{{ request_id }}{% endblock %}{% block intro %}x{% endblock %}{% block ask %}{% endblock %}",
        )
        .expect("write");
        std::fs::write(
            dir.join("finance_note.zh.txt"),
            "{% block subject %}财务提示 #{{ request_id }}{% endblock %}{% block intro %}y{% endblock %}{% block ask %}{% endblock %}",
        )
        .expect("write");
        let templates = Templates::load(&dir).expect("loads");
        assert_eq!(
            templates
                .render("approved", &context("en"))
                .expect("r")
                .subject,
            "Paid: #7"
        );
        assert!(templates.has("finance_note"));
        // Only in Chinese: an English reader still gets it.
        assert_eq!(
            templates
                .render("finance_note", &context("en"))
                .expect("r")
                .subject,
            "财务提示 #7"
        );
        std::fs::write(dir.join("broken.en.txt"), "{% block subject %}{{ x").expect("write");
        let err = Templates::load(&dir).expect_err("a broken template is refused");
        assert!(err.to_string().contains("broken.en.txt"), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
