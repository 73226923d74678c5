//! Attachments on requests: an upload checked against its field (kind by content, size,
//! name) before anything is stored, stored with the request in the start's transaction,
//! and read back only by those who may see the request.

use sha2::{Digest, Sha256};

use super::{Engine, EngineError, InstanceId};
use crate::attachment::{self, FileRef};
use crate::form::FormErrors;
use crate::model::{FieldType, ProcessDef};
use crate::problem::FieldProblem;
use crate::store::files;

/// A checked upload for a file field, waiting to be stored with its request.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The file field it is for.
    pub field: String,
    /// What the field's value will hold.
    pub file: FileRef,
    pub bytes: Vec<u8>,
}

/// A file read back for someone who may see its request.
#[derive(Debug, Clone)]
pub struct Download {
    pub name: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

impl Download {
    /// Whether pages may show it inline (an image Signoff knows).
    pub fn is_image(&self) -> bool {
        attachment::FileKind::from_media_type(&self.media_type).is_some_and(|k| k.is_image())
    }
}

/// The SHA-256 of `bytes` in lower-case hex: the name a content is stored under.
pub fn content_id(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Engine {
    /// Checks an upload named `name` for the file field `field` of `process`'s newest
    /// version: a refusal names the field, and nothing is stored until the request is.
    pub fn upload(
        &self,
        process: &str,
        field: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Upload, EngineError> {
        let (_, def) = self
            .registry()
            .latest(process)
            .ok_or_else(|| EngineError::UnknownProcess(process.to_string()))?;
        let refuse = |problem| {
            let mut errors = FormErrors::default();
            errors.add(field, problem);
            EngineError::InvalidForm(errors)
        };
        let Some(spec) = def
            .submitter_fields()
            .into_iter()
            .find(|f| f.id.value == field && f.kind.value == FieldType::File)
        else {
            return Err(refuse(FieldProblem::UnknownField));
        };
        let file = attachment::inspect(&spec, name, &bytes, content_id(&bytes)).map_err(refuse)?;
        Ok(Upload {
            field: field.to_string(),
            file,
            bytes,
        })
    }

    /// How many contents are stored, each once however many requests hold it.
    pub async fn stored_file_count(&self) -> Result<i64, EngineError> {
        Ok(files::count(&self.core.pool).await?)
    }

    /// The file `file_id` of request `id`, for `user`; a request they may not see, or a
    /// file it does not hold, is unknown to them.
    pub async fn download(
        &self,
        id: InstanceId,
        file_id: &str,
        user: &str,
    ) -> Result<Download, EngineError> {
        if !self.can_view(id, user).await? {
            return Err(EngineError::UnknownInstance(id));
        }
        let stored = files::read(&self.core.pool, id.0, file_id)
            .await?
            .ok_or(EngineError::UnknownInstance(id))?;
        Ok(Download {
            name: stored.name,
            media_type: stored.media_type,
            content: stored.content,
        })
    }
}

/// Sets the file fields of `form` from `uploads`, whatever the form said of them: a
/// file field's value is what was uploaded with it, so no one can name a file they did
/// not send. An upload for a field the process has not is refused.
pub(super) fn files_into_form(
    def: &ProcessDef,
    form: &mut serde_json::Value,
    uploads: &[Upload],
) -> Result<(), EngineError> {
    let fields: Vec<_> = def
        .form
        .fields
        .iter()
        .filter(|f| f.kind.value == FieldType::File)
        .collect();
    let mut errors = FormErrors::default();
    for u in uploads {
        if !fields.iter().any(|f| f.id.value == u.field) {
            errors.add(&u.field, FieldProblem::UnknownField);
        }
    }
    if !errors.is_empty() {
        return Err(EngineError::InvalidForm(errors));
    }
    let Some(object) = form.as_object_mut() else {
        return Ok(());
    };
    for field in fields {
        let refs: Vec<&FileRef> = uploads
            .iter()
            .filter(|u| u.field == field.id.value)
            .map(|u| &u.file)
            .collect();
        object.insert(field.id.value.clone(), serde_json::json!(refs));
    }
    Ok(())
}
