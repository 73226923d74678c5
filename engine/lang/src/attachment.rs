//! Attachments: the file kinds a `file` field takes, its size and count limits, and the
//! check of an uploaded file against them. A file is known by what its bytes are (their
//! magic numbers), never by its name alone: a renamed executable is refused, and so is a
//! PDF named `.png`. The stored value of a file field is a list of [`FileRef`]s, each
//! naming its content by its SHA-256.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::Field;
use crate::problem::FieldProblem;

/// The largest file any field takes, whatever its definition says: 20 MiB.
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;
/// The largest file a field takes when its definition sets no `max_size`: 10 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// The most files one field takes, whatever its definition says.
pub const MAX_FILES: u32 = 20;
/// The longest file name kept (longer ones are cut, keeping the extension).
pub const MAX_NAME_CHARS: usize = 120;

/// A kind of file a `file` field may accept, as its `accept:` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// PDF documents (`.pdf`).
    Pdf,
    /// PNG images (`.png`).
    Png,
    /// JPEG images (`.jpg`, `.jpeg`).
    Jpeg,
    /// GIF images (`.gif`).
    Gif,
    /// WebP images (`.webp`).
    Webp,
    /// Word documents (`.docx`).
    Docx,
    /// Excel workbooks (`.xlsx`).
    Xlsx,
}

impl FileKind {
    /// Every kind, in the order forms list them.
    pub const ALL: [FileKind; 7] = [
        FileKind::Pdf,
        FileKind::Png,
        FileKind::Jpeg,
        FileKind::Gif,
        FileKind::Webp,
        FileKind::Docx,
        FileKind::Xlsx,
    ];

    /// What a field accepts when its definition lists nothing: documents and photos.
    pub const DEFAULT: [FileKind; 3] = [FileKind::Pdf, FileKind::Png, FileKind::Jpeg];

    /// The media type the file is served with.
    pub fn media_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Gif => "image/gif",
            FileKind::Webp => "image/webp",
            FileKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The file name endings of the kind, the first one the usual.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FileKind::Pdf => &["pdf"],
            FileKind::Png => &["png"],
            FileKind::Jpeg => &["jpg", "jpeg"],
            FileKind::Gif => &["gif"],
            FileKind::Webp => &["webp"],
            FileKind::Docx => &["docx"],
            FileKind::Xlsx => &["xlsx"],
        }
    }

    /// Whether pages may show the file inline (an image in an `<img>`).
    pub fn is_image(self) -> bool {
        matches!(
            self,
            FileKind::Png | FileKind::Jpeg | FileKind::Gif | FileKind::Webp
        )
    }

    /// The kind served with `media_type`.
    pub fn from_media_type(media_type: &str) -> Option<FileKind> {
        FileKind::ALL
            .into_iter()
            .find(|k| k.media_type() == media_type)
    }

    /// What the bytes are, by their magic numbers; `None` for anything else.
    pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
        let media_type = infer::get(bytes)?.mime_type();
        FileKind::from_media_type(media_type)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extensions()[0])
    }
}

/// The kinds `field` accepts.
pub fn accepted(field: &Field) -> Vec<FileKind> {
    if field.accept.is_empty() {
        FileKind::DEFAULT.to_vec()
    } else {
        field.accept.clone()
    }
}

/// The largest file `field` takes, in bytes (its `max_size`, bounded by
/// [`MAX_FILE_BYTES`]; a bad `max_size` is the checker's to report, and counts as the
/// default here).
pub fn max_bytes(field: &Field) -> u64 {
    field
        .max_size
        .as_ref()
        .and_then(|s| s.value.parse::<ByteSize>().ok())
        .map_or(DEFAULT_MAX_FILE_BYTES, |s| s.0)
        .min(MAX_FILE_BYTES)
}

/// The most files `field` takes.
pub fn max_files(field: &Field) -> u32 {
    field.max_files.unwrap_or(1).clamp(1, MAX_FILES)
}

/// A size as process owners write it: `500 KB`, `5 MB`, `5MB`, or bytes (`1024`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

/// The hint shown with every size error.
pub const SIZE_HINT: &str = "write a whole number and a unit: `500 KB` or `5 MB`";

impl FromStr for ByteSize {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let digits_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let amount: u64 = text[..digits_end]
            .parse()
            .map_err(|_| "it must start with a whole number")?;
        let unit = match text[digits_end..].trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" | "k" | "kib" => 1024,
            "mb" | "m" | "mib" => 1024 * 1024,
            _ => return Err("the unit must be KB or MB"),
        };
        match amount.checked_mul(unit) {
            Some(0) => Err("a size must be more than zero"),
            Some(bytes) => Ok(ByteSize(bytes)),
            None => Err("the size is too large"),
        }
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
            write!(f, "{} MB", bytes / (1024 * 1024))
        } else if bytes >= 1024 * 1024 {
            write!(f, "{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
        } else if bytes >= 1024 {
            write!(f, "{} KB", bytes.div_ceil(1024))
        } else {
            write!(f, "{bytes} B")
        }
    }
}

/// One stored file as a file field's value holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// The SHA-256 of the content, in lower-case hex: where it is stored.
    pub id: String,
    /// The name it was uploaded with (shown and offered on download).
    pub name: String,
    /// The media type its bytes were found to be.
    #[serde(rename = "type")]
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
}

impl FileRef {
    /// The file's kind, when its media type is one Signoff knows.
    pub fn kind(&self) -> Option<FileKind> {
        FileKind::from_media_type(&self.media_type)
    }

    /// Whether `id` is a SHA-256 in lower-case hex, as the store names contents.
    pub fn is_content_id(id: &str) -> bool {
        id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

/// The name kept for an upload: its last path part, without control characters, at most
/// [`MAX_NAME_CHARS`] (keeping the extension).
pub fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    // No control characters, and no bidirectional overrides that would show
    // `\u{202e}gnp.exe` as `exe.png`.
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control() && !bidi(*c))
        .collect();
    let clean = clean.trim();
    if clean.chars().count() <= MAX_NAME_CHARS {
        return clean.to_string();
    }
    let (stem, ext) = clean.rsplit_once('.').unwrap_or((clean, ""));
    let keep = MAX_NAME_CHARS.saturating_sub(ext.chars().count() + 1);
    format!("{}.{ext}", stem.chars().take(keep).collect::<String>())
}

/// Checks an upload named `name` against `field`: not empty, within the size, of an
/// accepted kind by its bytes, and named as what it is. `id` is the content's SHA-256
/// (the caller hashes: this crate does no cryptography).
pub fn inspect(
    field: &Field,
    name: &str,
    bytes: &[u8],
    id: String,
) -> Result<FileRef, FieldProblem> {
    let name = clean_name(name);
    if bytes.is_empty() {
        return Err(FieldProblem::FileEmpty(name));
    }
    let max = max_bytes(field);
    if bytes.len() as u64 > max {
        return Err(FieldProblem::FileTooLarge { name, max });
    }
    let accepted = accepted(field);
    let refused = |name: String| FieldProblem::FileKindRefused {
        name,
        accepted: accepted.iter().map(ToString::to_string).collect(),
    };
    let Some(kind) = FileKind::sniff(bytes) else {
        return Err(refused(name));
    };
    if !accepted.contains(&kind) {
        return Err(refused(name));
    }
    // A name the sender's software could not give (nor read back): named by its kind.
    let name = if name.is_empty() {
        format!("attachment.{kind}")
    } else {
        name
    };
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !kind.extensions().contains(&extension.as_str()) {
        return Err(FieldProblem::FileMisnamed { name, kind });
    }
    Ok(FileRef {
        id,
        name,
        media_type: kind.media_type().to_string(),
        size: bytes.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n";
    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0";

    fn field(yaml_extra: &str) -> Field {
        let text =
            format!("id: receipt\ntype: file\nlabel: {{ zh: 票据, en: Receipt }}\n{yaml_extra}");
        serde_saphyr::from_str(&text).expect("a file field")
    }

    fn id() -> String {
        "a".repeat(64)
    }

    #[test]
    fn sizes_read_as_owners_write_them() {
        assert_eq!("500 KB".parse(), Ok(ByteSize(500 * 1024)));
        assert_eq!("5MB".parse(), Ok(ByteSize(5 * 1024 * 1024)));
        assert_eq!("1024".parse(), Ok(ByteSize(1024)));
        assert!("5 GB".parse::<ByteSize>().is_err());
        assert!("0 MB".parse::<ByteSize>().is_err());
        assert!("MB".parse::<ByteSize>().is_err());
        assert!("99999999999999999999 MB".parse::<ByteSize>().is_err());
        assert_eq!(ByteSize(5 * 1024 * 1024).to_string(), "5 MB");
        assert_eq!(ByteSize(1536).to_string(), "2 KB");
    }

    #[test]
    fn a_file_is_what_its_bytes_are() {
        let f = field("");
        let png = inspect(&f, "C:\\票据\\taxi.PNG", PNG, id()).expect("a png");
        assert_eq!(
            (png.name.as_str(), png.media_type.as_str()),
            ("taxi.PNG", "image/png")
        );
        assert_eq!(png.size, PNG.len() as u64);
        assert!(inspect(&f, "scan.pdf", PDF, id()).is_ok());
        // A renamed executable, a PDF named as an image, text, nothing at all.
        assert!(matches!(
            inspect(&f, "receipt.pdf", ELF, id()),
            Err(FieldProblem::FileKindRefused { .. })
        ));
        assert!(matches!(
            inspect(&f, "receipt.png", PDF, id()),
            Err(FieldProblem::FileMisnamed { .. })
        ));
        assert!(matches!(
            inspect(&f, "notes.txt", b"hello", id()),
            Err(FieldProblem::FileKindRefused { .. })
        ));
        assert!(matches!(
            inspect(&f, "a.png", b"", id()),
            Err(FieldProblem::FileEmpty(_))
        ));
    }

    #[test]
    fn the_definition_sets_kinds_and_size() {
        let f = field("accept: [pdf]\nmax_size: 40\n");
        assert!(matches!(
            inspect(&f, "a.png", PNG, id()),
            Err(FieldProblem::FileKindRefused { .. })
        ));
        assert!(inspect(&f, "a.pdf", PDF, id()).is_ok());
        let small = field("max_size: 10\n");
        assert!(matches!(
            inspect(&small, "a.png", PNG, id()),
            Err(FieldProblem::FileTooLarge { max: 10, .. })
        ));
        let huge = field("max_size: 900 MB\n");
        assert_eq!(
            max_bytes(&huge),
            MAX_FILE_BYTES,
            "bounded whatever the definition says"
        );
    }

    #[test]
    fn names_are_cut_and_cleaned() {
        let long = format!("{}.pdf", "长".repeat(300));
        let clean = clean_name(&long);
        assert_eq!(clean.chars().count(), MAX_NAME_CHARS);
        assert!(clean.ends_with(".pdf"));
        assert_eq!(clean_name("../../etc/pa\u{0}ss.png"), "pass.png");
        assert_eq!(clean_name("\u{202e}gnp.exe.png"), "gnp.exe.png");
        let unnamed = inspect(&field(""), "", PNG, id()).expect("a png without a name");
        assert_eq!(unnamed.name, "attachment.png");
    }
}
