//! What is wrong with one value of a form, as a kind with its particulars, said in either
//! language. The engine finds the problems; the pages say them in the reader's language,
//! the API and the command line in English.

use crate::display::Lang;
use crate::model::Label;

/// One field's problem.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldProblem {
    NotAnObject,
    UnknownField,
    Required,
    /// A field a step requires, empty when the step is approved or completed.
    RequiredAtStep,
    /// A field the step does not let its actor change.
    NotEditableHere,
    /// A `step_only` field given by the submitter.
    StepOnly,
    NotText,
    NotSingleLine,
    TooShort(u32),
    TooLong(u32),
    /// Does not match the field's pattern (the pattern is not shown: people read the
    /// field's help instead).
    WrongFormat,
    BadPattern,
    NotANumber,
    NotWhole,
    TooManyDecimals,
    BelowMin(f64),
    AboveMax(f64),
    NotADate,
    /// Not one of these stored values.
    NotAnOption(Vec<String>),
    NotBoolean,
    UnknownUser(String),
    MissingRole {
        user: String,
        role: String,
    },
    NotARequestNumber,
    NotALineList,
    TooFewLines(u32),
    TooManyLines(u32),
    /// A rule of the definition, with its own message.
    Rule(Label),
    /// A rule that could not be evaluated.
    RuleFailed(String),
    /// There is no such request the person may see.
    NoSuchRequest(i64),
    RefersToItself,
    /// The request is of another process (its name).
    OtherProcess {
        id: i64,
        process: Label,
    },
    /// The request is not at the field's step (its name).
    NotAtStep {
        id: i64,
        step: Label,
    },
    ListedTwice(i64),
    /// Not a list of stored files (a file field's value is set from uploads only).
    NotAFileList,
    /// More files than the field takes.
    TooManyFiles(u32),
    /// An empty upload (its name).
    FileEmpty(String),
    /// An upload over the field's size (its name, the limit in bytes).
    FileTooLarge {
        name: String,
        max: u64,
    },
    /// An upload whose bytes are not of a kind the field accepts.
    FileKindRefused {
        name: String,
        accepted: Vec<String>,
    },
    /// An upload named as another kind than its bytes are (a renamed file).
    FileMisnamed {
        name: String,
        kind: crate::attachment::FileKind,
    },
    /// A file the form names that was not uploaded with it.
    FileNotUploaded,
}

impl FieldProblem {
    /// The problem in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.english(),
            Lang::Zh => self.chinese(),
        }
    }

    fn english(&self) -> String {
        use FieldProblem as P;
        match self {
            P::NotAnObject => "expected an object of field values".into(),
            P::UnknownField => "no such field".into(),
            P::Required => "is required".into(),
            P::RequiredAtStep => "required at this step".into(),
            P::NotEditableHere => "cannot be changed at this step".into(),
            P::StepOnly => "is filled in at its step, not when the request is submitted".into(),
            P::NotText => "must be text".into(),
            P::NotSingleLine => "must be a single line".into(),
            P::TooShort(n) => format!("must be at least {n} characters"),
            P::TooLong(n) => format!("must be at most {n} characters"),
            P::WrongFormat => "is not in the expected format (see the field's help)".into(),
            P::BadPattern => "the definition's pattern is invalid".into(),
            P::NotANumber => "must be a number".into(),
            P::NotWhole => "must be a whole number".into(),
            P::TooManyDecimals => "must have at most two decimals".into(),
            P::BelowMin(min) => format!("must be at least {min}"),
            P::AboveMax(max) => format!("must be at most {max}"),
            P::NotADate => "must be a date as YYYY-MM-DD".into(),
            P::NotAnOption(allowed) => format!("must be one of {}", allowed.join(", ")),
            P::NotBoolean => "must be true or false".into(),
            P::UnknownUser(id) => format!("no user `{id}` in the directory"),
            P::MissingRole { user, role } => format!("`{user}` does not have the role `{role}`"),
            P::NotARequestNumber => "must be a request number such as 12".into(),
            P::NotALineList => "must be a list of lines".into(),
            P::TooFewLines(n) => format!("needs at least {n} lines"),
            P::TooManyLines(n) => format!("allows at most {n} lines"),
            P::Rule(message) => message.en.clone(),
            P::RuleFailed(why) => format!("the rule could not be checked: {why}"),
            P::NoSuchRequest(id) => format!("there is no request #{id} you can see"),
            P::RefersToItself => "a request cannot refer to itself".into(),
            P::OtherProcess { id, process } => {
                format!("request #{id} is not a {} request", process.en)
            }
            P::NotAtStep { id, step } => format!("request #{id} is not at “{}”", step.en),
            P::ListedTwice(id) => format!("request #{id} is already listed"),
            P::NotAFileList => "must be files uploaded with the form".into(),
            P::TooManyFiles(n) => format!("takes at most {n} files"),
            P::FileEmpty(name) => format!("`{name}` is empty"),
            P::FileTooLarge { name, max } => format!(
                "`{name}` is larger than {}",
                crate::attachment::ByteSize(*max)
            ),
            P::FileKindRefused { name, accepted } => format!(
                "`{name}` is not a file of a kind this field takes ({})",
                accepted.join(", ")
            ),
            P::FileMisnamed { name, kind } => format!(
                "`{name}` is a {} file by its content but is named otherwise: rename it .{kind}",
                kind.to_string().to_uppercase()
            ),
            P::FileNotUploaded => {
                "choose the file again: it was not uploaded with this form".into()
            }
        }
    }

    fn chinese(&self) -> String {
        use FieldProblem as P;
        match self {
            P::NotAnObject => "应为字段及其取值".into(),
            P::UnknownField => "没有这个字段".into(),
            P::Required => "必填".into(),
            P::RequiredAtStep => "此步骤须填写".into(),
            P::NotEditableHere => "此步骤不能修改".into(),
            P::StepOnly => "在对应步骤填写，提交申请时不填".into(),
            P::NotText => "应为文字".into(),
            P::NotSingleLine => "只能填写一行".into(),
            P::TooShort(n) => format!("至少 {n} 个字"),
            P::TooLong(n) => format!("最多 {n} 个字"),
            P::WrongFormat => "格式不正确（请参照字段说明）".into(),
            P::BadPattern => "流程定义中的格式规则有误".into(),
            P::NotANumber => "应为数字".into(),
            P::NotWhole => "应为整数".into(),
            P::TooManyDecimals => "最多两位小数".into(),
            P::BelowMin(min) => format!("不能小于 {min}"),
            P::AboveMax(max) => format!("不能大于 {max}"),
            P::NotADate => "应为日期（年-月-日）".into(),
            P::NotAnOption(_) => "请从选项中选择".into(),
            P::NotBoolean => "应为是或否".into(),
            P::UnknownUser(id) => format!("通讯录中没有用户 {id}"),
            P::MissingRole { user, .. } => format!("{user} 不具备此处要求的角色"),
            P::NotARequestNumber => "应为申请号，如 12".into(),
            P::NotALineList => "应为明细行".into(),
            P::TooFewLines(n) => format!("至少 {n} 行"),
            P::TooManyLines(n) => format!("最多 {n} 行"),
            P::Rule(message) => message.zh.clone(),
            P::RuleFailed(_) => "规则无法检查，请联系流程负责人".into(),
            P::NoSuchRequest(id) => format!("没有您可查看的申请 #{id}"),
            P::RefersToItself => "申请不能引用自身".into(),
            P::OtherProcess { id, process } => format!("申请 #{id} 不是“{}”", process.zh),
            P::NotAtStep { id, step } => format!("申请 #{id} 不在“{}”步骤", step.zh),
            P::ListedTwice(id) => format!("申请 #{id} 已列出"),
            P::NotAFileList => "应为随表单上传的文件".into(),
            P::TooManyFiles(n) => format!("最多 {n} 个文件"),
            P::FileEmpty(name) => format!("文件“{name}”是空的"),
            P::FileTooLarge { name, max } => {
                format!("文件“{name}”超过 {}", crate::attachment::ByteSize(*max))
            }
            P::FileKindRefused { name, accepted } => format!(
                "文件“{name}”的类型不被接受（可上传：{}）",
                accepted.join("、")
            ),
            P::FileMisnamed { name, kind } => format!(
                "文件“{name}”的内容是 {} 文件，与文件名不符：请改名为 .{kind}",
                kind.to_string().to_uppercase()
            ),
            P::FileNotUploaded => "请重新选择文件：它没有随此表单上传".into(),
        }
    }
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.english())
    }
}

impl serde::Serialize for FieldProblem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_reads_in_both_languages_and_never_shows_a_pattern() {
        assert_eq!(FieldProblem::TooShort(4).text(Lang::Zh), "至少 4 个字");
        assert_eq!(
            FieldProblem::TooShort(4).to_string(),
            "must be at least 4 characters"
        );
        assert!(!FieldProblem::WrongFormat.text(Lang::En).contains('^'));
    }
}
