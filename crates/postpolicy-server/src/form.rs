//! Reading forms: the bounded multipart reader behind the upload endpoint
//! (and `postpolicy explain --form`), and `name: value` lines as browser
//! developer tools show them.
//!
//! [`FormReader`] reads a `multipart/form-data` body from a byte stream with
//! `multer`, held to [`FormLimits`]: the bytes before the first boundary and
//! each part's headers are bounded by a scanner that sees every byte once
//! (multer itself buffers a header until its blank line and searches it
//! again on every chunk), and the number of fields and the bytes of their
//! values are counted. [`read_form`] reads a whole body with it; it is the
//! entry point for fuzzing.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use memchr::memmem::Finder;
use postpolicy::Verifier;
use postpolicy::{FileInfo, Submission};

/// Largest header block of one part (its `Content-Disposition`,
/// `Content-Type`, …, up to and including the blank line). OSS caps a field
/// name at 8 KB; a part's headers hold little more than that name.
pub const MAX_PART_HEADER_BYTES: usize = 8 * 1024;
/// Largest preamble (bytes before the first boundary); browsers send none.
pub const MAX_PREAMBLE_BYTES: usize = 8 * 1024;
/// Most parts in one form, before and after the file together. OSS documents
/// no count; a real form has a few dozen.
pub const MAX_FIELDS: usize = 1000;

/// The bounds a form is read within.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormLimits {
    /// Bytes of one part's header block ([`MAX_PART_HEADER_BYTES`]).
    pub max_part_header_bytes: usize,
    /// Bytes before the first boundary ([`MAX_PREAMBLE_BYTES`]).
    pub max_preamble_bytes: usize,
    /// Parts in the form ([`MAX_FIELDS`]).
    pub max_fields: usize,
    /// Bytes of one value kept; a longer value is kept one byte too long so
    /// the verifier names it (OSS: 2 MB, [`Verifier::MAX_FIELD_VALUE_BYTES`]).
    pub max_field_value_bytes: usize,
    /// Bytes of the values before the file, and again after it (OSS: 8 MB
    /// before the file, [`Verifier::MAX_FIELDS_TOTAL_BYTES`]).
    pub max_fields_bytes: usize,
}

impl Default for FormLimits {
    fn default() -> Self {
        Self {
            max_part_header_bytes: MAX_PART_HEADER_BYTES,
            max_preamble_bytes: MAX_PREAMBLE_BYTES,
            max_fields: MAX_FIELDS,
            max_field_value_bytes: Verifier::MAX_FIELD_VALUE_BYTES,
            max_fields_bytes: Verifier::MAX_FIELDS_TOTAL_BYTES,
        }
    }
}

/// Why a form could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    #[error("a part's headers are longer than {limit} bytes")]
    PartHeaderTooLong { limit: usize },
    #[error("the body has more than {limit} bytes before its first boundary")]
    PreambleTooLong { limit: usize },
    #[error("the form has more than {limit} fields")]
    TooManyFields { limit: usize },
    #[error("the values of the fields before the file total more than {limit} bytes")]
    FieldsTooLarge { limit: usize },
    #[error("the body is not well-formed multipart/form-data: {0}")]
    Malformed(String),
    #[error("the request body could not be read: {0}")]
    Stream(String),
}

/// What comes before the file: the fields in order and the file part's
/// headers (`None` when the form has no `file` part).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormHead {
    pub fields: Vec<(String, String)>,
    pub file: Option<FileInfo>,
}

/// A multipart form read from a byte stream, one part after another, within
/// [`FormLimits`].
pub struct FormReader<'r> {
    multipart: multer::Multipart<'r>,
    limits: FormLimits,
    fault: Arc<Mutex<Option<FormError>>>,
    parts: usize,
    file: Option<multer::Field<'r>>,
    state: ReadState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadState {
    Open,
    /// The closing boundary was read.
    Ended,
    /// The body broke off, broke a limit or is not multipart.
    Failed,
}

impl std::fmt::Debug for FormReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormReader")
            .field("limits", &self.limits)
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

impl<'r> FormReader<'r> {
    /// Reads the form in `stream` delimited by `boundary`.
    pub fn new<S, E>(stream: S, boundary: &str, limits: FormLimits) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'r,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let fault = Arc::new(Mutex::new(None));
        let guarded = Guarded {
            inner: stream,
            scanner: Scanner::new(boundary, &limits),
            fault: Arc::clone(&fault),
            delivered: false,
        };
        Self {
            multipart: multer::Multipart::new(guarded, boundary.to_owned()),
            limits,
            fault,
            parts: 0,
            file: None,
            state: ReadState::Open,
        }
    }

    fn error(&self, e: multer::Error) -> FormError {
        if let Some(fault) = self
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return fault;
        }
        match e {
            multer::Error::StreamReadFailed(e) => FormError::Stream(e.to_string()),
            other => FormError::Malformed(other.to_string()),
        }
    }

    async fn next_part(&mut self) -> Result<Option<multer::Field<'r>>, FormError> {
        if self.state != ReadState::Open {
            return Ok(None);
        }
        self.file = None;
        match self.multipart.next_field().await {
            Ok(Some(field)) => Ok(Some(field)),
            Ok(None) => {
                self.state = ReadState::Ended;
                Ok(None)
            }
            Err(e) => {
                self.state = ReadState::Failed;
                Err(self.error(e))
            }
        }
    }

    /// Counts one more field; false past [`FormLimits::max_fields`].
    fn count_field(&mut self) -> bool {
        self.parts += 1;
        self.parts <= self.limits.max_fields
    }

    /// The value of `field`, cut one byte past the value limit.
    async fn value(&mut self, mut field: multer::Field<'r>) -> Result<String, FormError> {
        let cap = self.limits.max_field_value_bytes.saturating_add(1);
        let mut value = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    let room = cap.saturating_sub(value.len());
                    value.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
                }
                Ok(None) => break,
                Err(e) => {
                    self.state = ReadState::Failed;
                    return Err(self.error(e));
                }
            }
        }
        Ok(String::from_utf8_lossy(&value).into_owned())
    }

    /// Reads the fields before the file part, and the file part's headers.
    /// The values before the file may total [`FormLimits::max_fields_bytes`].
    pub async fn read_head(&mut self) -> Result<FormHead, FormError> {
        let mut head = FormHead::default();
        let mut total = 0usize;
        while let Some(field) = self.next_part().await? {
            if !self.count_field() {
                self.state = ReadState::Failed;
                return Err(FormError::TooManyFields {
                    limit: self.limits.max_fields,
                });
            }
            let name = field.name().unwrap_or_default().to_owned();
            if name.eq_ignore_ascii_case("file") {
                head.file = Some(FileInfo {
                    filename: field.file_name().unwrap_or_default().to_owned(),
                    content_type: field.content_type().map(ToString::to_string),
                    size: None,
                });
                self.file = Some(field);
                return Ok(head);
            }
            let value = self.value(field).await?;
            total = total.saturating_add(value.len());
            if total > self.limits.max_fields_bytes {
                self.state = ReadState::Failed;
                return Err(FormError::FieldsTooLarge {
                    limit: self.limits.max_fields_bytes,
                });
            }
            head.fields.push((name, value));
        }
        Ok(head)
    }

    /// The next piece of the file part; `None` at its end (or when there is
    /// no file part).
    pub async fn file_chunk(&mut self) -> Result<Option<Bytes>, FormError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(None);
        };
        match file.chunk().await {
            Ok(Some(chunk)) => Ok(Some(chunk)),
            Ok(None) => {
                self.file = None;
                Ok(None)
            }
            Err(e) => {
                self.file = None;
                self.state = ReadState::Failed;
                Err(self.error(e))
            }
        }
    }

    /// Skips what is left of the file part and reads the fields after it
    /// (OSS ignores them; they still explain a misplaced `key`). Reading
    /// stops quietly at the field-count or value limits, leaving the rest
    /// for [`FormReader::skip_rest`].
    pub async fn read_tail(&mut self) -> Result<Vec<(String, String)>, FormError> {
        while self.file_chunk().await?.is_some() {}
        let mut tail = Vec::new();
        let mut total = 0usize;
        while self.count_field() {
            let Some(field) = self.next_part().await? else {
                break;
            };
            let name = field.name().unwrap_or_default().to_owned();
            let value = self.value(field).await?;
            total = total.saturating_add(value.len());
            if total > self.limits.max_fields_bytes {
                break;
            }
            tail.push((name, value));
        }
        Ok(tail)
    }

    /// Reads and discards the rest of the body, up to `max_bytes` of part
    /// data; true when the closing boundary was reached.
    pub async fn skip_rest(&mut self, max_bytes: u64) -> bool {
        let mut read = 0u64;
        loop {
            match self.file_chunk().await {
                Ok(Some(chunk)) => {
                    read = read.saturating_add(chunk.len() as u64);
                    if read > max_bytes {
                        return false;
                    }
                    continue;
                }
                Ok(None) => {}
                Err(_) => return false,
            }
            match self.next_part().await {
                Ok(Some(field)) => self.file = Some(field),
                Ok(None) => return self.state == ReadState::Ended,
                Err(_) => return false,
            }
        }
    }
}

/// Reads a whole form from `stream` within `limits`: the fields before the
/// file, the file part (its size counted, its bytes dropped) and the fields
/// after it. This is what the upload endpoint does with a body, without the
/// storage, and the entry point for fuzzing the reader. Any executor will do.
///
/// ```
/// use postpolicy_server::form::{FormLimits, read_form};
///
/// let body = "--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\na.txt\r\n\
///             --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhi\r\n--b--\r\n";
/// let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(body))]);
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let submission = runtime
///     .block_on(read_form(stream, "b", &FormLimits::default()))
///     .unwrap();
/// assert_eq!(submission.field("key"), Some("a.txt"));
/// assert_eq!(submission.file.unwrap().size, Some(2));
/// ```
pub async fn read_form<S, E>(
    stream: S,
    boundary: &str,
    limits: &FormLimits,
) -> Result<Submission, FormError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut reader = FormReader::new(stream, boundary, limits.clone());
    let head = reader.read_head().await?;
    let mut submission = Submission {
        fields: head.fields,
        fields_after_file: Vec::new(),
        file: head.file,
    };
    if let Some(file) = submission.file.as_mut() {
        let mut size = 0u64;
        while let Some(chunk) = reader.file_chunk().await? {
            size = size.saturating_add(chunk.len() as u64);
        }
        file.size = Some(size);
        submission.fields_after_file = reader.read_tail().await?;
    }
    Ok(submission)
}

/// Parses a complete multipart body into a submission (file size counted).
/// `boundary` is taken from the first line when `None`.
pub async fn parse_multipart(body: Vec<u8>, boundary: Option<&str>) -> Result<Submission, String> {
    let boundary = match boundary {
        Some(b) => b.to_owned(),
        None => {
            let first = body.split(|b| *b == b'\n').next().unwrap_or_default();
            let first = String::from_utf8_lossy(first);
            first
                .trim_end()
                .strip_prefix("--")
                .filter(|b| !b.is_empty())
                .ok_or("the body does not start with a multipart boundary line (`--…`)")?
                .to_owned()
        }
    };
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(body))]);
    read_form(stream, &boundary, &FormLimits::default())
        .await
        .map_err(|e| e.to_string())
}

/// The body stream as multer sees it: one chunk per poll (so multer never
/// buffers far ahead of its reader), every byte shown to the [`Scanner`]
/// first. A chunk that breaks a limit ends the stream with an error, and
/// the reason is left in `fault` for [`FormReader`] to report.
struct Guarded<S> {
    inner: S,
    scanner: Scanner,
    fault: Arc<Mutex<Option<FormError>>>,
    delivered: bool,
}

impl<S, E> Stream for Guarded<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.delivered {
            self.delivered = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Err(fault) = self.scanner.feed(&chunk) {
                    *self.fault.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some(fault.clone());
                    return Poll::Ready(Some(Err(Box::new(fault))));
                }
                self.delivered = true;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Where the [`Scanner`] is in the body, following multer's own reading of
/// it: a preamble up to the first `--boundary`; after each delimiter either
/// `--` (the end) or optional spaces and CRLF; a header block up to the first
/// CRLFCRLF; data up to the next CRLF `--boundary`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Preamble,
    /// Just after a delimiter; `dash` when one `-` of a closing `--` was seen.
    AfterDelimiter {
        dash: bool,
    },
    Padding,
    PaddingCr,
    Headers,
    Data,
    /// After the closing delimiter, or where multer itself fails: nothing
    /// more to bound.
    Done,
}

/// Bounds the preamble and every part's header block, seeing each byte once.
#[derive(Debug)]
pub(crate) struct Scanner {
    stage: Stage,
    first: Finder<'static>,
    next: Finder<'static>,
    blank_line: Finder<'static>,
    /// The last bytes of the current stage (one less than its pattern), for
    /// matches that straddle two chunks.
    tail: Vec<u8>,
    /// Bytes of the current preamble or header block so far.
    count: usize,
    max_header: usize,
    max_preamble: usize,
}

impl Scanner {
    pub(crate) fn new(boundary: &str, limits: &FormLimits) -> Self {
        let first = format!("--{boundary}").into_bytes();
        let next = format!("\r\n--{boundary}").into_bytes();
        Self {
            stage: Stage::Preamble,
            first: Finder::new(&first).into_owned(),
            next: Finder::new(&next).into_owned(),
            blank_line: Finder::new(b"\r\n\r\n").into_owned(),
            tail: Vec::new(),
            count: 0,
            max_header: limits.max_part_header_bytes,
            max_preamble: limits.max_preamble_bytes,
        }
    }

    fn enter(&mut self, stage: Stage) {
        self.stage = stage;
        self.tail.clear();
        self.count = 0;
    }

    /// Takes the next bytes of the body.
    pub(crate) fn feed(&mut self, mut chunk: &[u8]) -> Result<(), FormError> {
        while !chunk.is_empty() {
            let consumed = match self.stage {
                Stage::Done => return Ok(()),
                Stage::Preamble => {
                    let (consumed, found) = self.search(SearchIn::First, chunk);
                    self.count = self.count.saturating_add(consumed);
                    if self.count > self.max_preamble.saturating_add(self.first.needle().len()) {
                        return Err(FormError::PreambleTooLong {
                            limit: self.max_preamble,
                        });
                    }
                    if found {
                        self.enter(Stage::AfterDelimiter { dash: false });
                    }
                    consumed
                }
                Stage::Data => {
                    let (consumed, found) = self.search(SearchIn::Next, chunk);
                    if found {
                        self.enter(Stage::AfterDelimiter { dash: false });
                    }
                    consumed
                }
                Stage::Headers => {
                    let (consumed, found) = self.search(SearchIn::BlankLine, chunk);
                    self.count = self.count.saturating_add(consumed);
                    if self.count > self.max_header {
                        return Err(FormError::PartHeaderTooLong {
                            limit: self.max_header,
                        });
                    }
                    if found {
                        self.enter(Stage::Data);
                    }
                    consumed
                }
                Stage::AfterDelimiter { dash } => {
                    let byte = chunk.first().copied().unwrap_or_default();
                    match (dash, byte) {
                        (false, b'-') => {
                            self.stage = Stage::AfterDelimiter { dash: true };
                            1
                        }
                        (true, b'-') => {
                            self.enter(Stage::Done);
                            1
                        }
                        // `-x`: multer refuses it.
                        (true, _) => {
                            self.enter(Stage::Done);
                            0
                        }
                        (false, _) => {
                            self.enter(Stage::Padding);
                            0
                        }
                    }
                }
                Stage::Padding | Stage::PaddingCr => {
                    let byte = chunk.first().copied().unwrap_or_default();
                    self.count = self.count.saturating_add(1);
                    if self.count > self.max_header {
                        return Err(FormError::PartHeaderTooLong {
                            limit: self.max_header,
                        });
                    }
                    match (self.stage, byte) {
                        (Stage::Padding, b' ' | b'\t') => {}
                        (Stage::Padding, b'\r') => self.stage = Stage::PaddingCr,
                        (Stage::PaddingCr, b'\n') => self.enter(Stage::Headers),
                        // Anything else: multer refuses the body.
                        _ => self.enter(Stage::Done),
                    }
                    1
                }
            };
            chunk = chunk.get(consumed..).unwrap_or_default();
        }
        Ok(())
    }

    /// Looks for the stage's pattern in `chunk` (continuing the bytes seen
    /// before it in this stage). Returns how many bytes of `chunk` belong to
    /// the stage (through the end of the match, or all of them) and whether
    /// the pattern was found.
    fn search(&mut self, which: SearchIn, chunk: &[u8]) -> (usize, bool) {
        let finder = match which {
            SearchIn::First => &self.first,
            SearchIn::Next => &self.next,
            SearchIn::BlankLine => &self.blank_line,
        };
        let n = finder.needle().len();
        // A match that starts in the tail ends within the first n - 1 bytes.
        if !self.tail.is_empty() {
            let take = (n - 1).min(chunk.len());
            let mut joined = Vec::with_capacity(self.tail.len() + take);
            joined.extend_from_slice(&self.tail);
            joined.extend_from_slice(chunk.get(..take).unwrap_or_default());
            if let Some(at) = finder.find(&joined) {
                let end = at + n - self.tail.len();
                return (end, true);
            }
        }
        if let Some(at) = finder.find(chunk) {
            return (at + n, true);
        }
        // Keep the last n - 1 bytes seen in this stage.
        let keep = n - 1;
        if chunk.len() >= keep {
            self.tail.clear();
            self.tail
                .extend_from_slice(chunk.get(chunk.len() - keep..).unwrap_or_default());
        } else {
            self.tail.extend_from_slice(chunk);
            let excess = self.tail.len().saturating_sub(keep);
            self.tail.drain(..excess);
        }
        (chunk.len(), false)
    }
}

#[derive(Clone, Copy, Debug)]
enum SearchIn {
    First,
    Next,
    BlankLine,
}

/// Parses `name: value` or `name=value` lines (blank lines and `#` comments
/// skipped). The `file` line gives the file name (`(binary)` means unknown);
/// `file_size` gives its size.
pub fn parse_lines(text: &str, file_size: Option<u64>) -> Submission {
    let mut submission = Submission::default();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        // Custom callback variables are named `x:…`; their colon is not a separator.
        let skip = if line.starts_with("x:") { 2 } else { 0 };
        let rest = line.get(skip..).unwrap_or_default();
        let split = match (rest.find(':'), rest.find('=')) {
            (Some(c), Some(e)) => Some(c.min(e)),
            (Some(c), None) => Some(c),
            (None, Some(e)) => Some(e),
            (None, None) => None,
        }
        .map(|at| at + skip);
        let (name, value) = match split {
            Some(at) => (
                line.get(..at).unwrap_or_default().trim(),
                line.get(at + 1..).unwrap_or_default().trim(),
            ),
            None => (line.trim(), ""),
        };
        if name.eq_ignore_ascii_case("file") && submission.file.is_none() {
            let filename = if value == "(binary)" { "" } else { value };
            submission.file = Some(FileInfo {
                filename: filename.to_owned(),
                content_type: None,
                size: file_size,
            });
        } else if submission.file.is_some() {
            submission
                .fields_after_file
                .push((name.to_owned(), value.to_owned()));
        } else {
            submission.fields.push((name.to_owned(), value.to_owned()));
        }
    }
    submission
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let s = parse_lines(
            "# captured\nkey: user/${filename}\npolicy=abc=\nx:uid: 42\nfile: (binary)\nsubmit: Upload\n",
            Some(7),
        );
        assert_eq!(s.field("key"), Some("user/${filename}"));
        assert_eq!(s.field("policy"), Some("abc="));
        assert_eq!(s.field("x:uid"), Some("42"));
        assert_eq!(s.file.as_ref().unwrap().size, Some(7));
        assert_eq!(s.fields_after_file, [("submit".into(), "Upload".into())]);
    }

    fn body(header_pad: usize) -> Vec<u8> {
        let name = "n".repeat(header_pad);
        format!(
            "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\na/b.txt\r\n--XyZ  \r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n--XyZ-not-yet\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n\r\n--XyZ\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\n1\r\n--XyZ--\r\nepilogue"
        )
        .into_bytes()
    }

    async fn read_in_chunks(
        body: &[u8],
        size: usize,
        limits: &FormLimits,
    ) -> Result<Submission, FormError> {
        let chunks: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        read_form(futures_util::stream::iter(chunks), "XyZ", limits).await
    }

    #[tokio::test]
    async fn every_chunking_reads_the_same_form() {
        let body = body(10);
        let whole = read_in_chunks(&body, body.len(), &FormLimits::default())
            .await
            .unwrap();
        assert_eq!(whole.field("key"), Some("a/b.txt"));
        assert_eq!(
            whole.fields.get(1).map(|f| f.1.as_str()),
            Some("--XyZ-not-yet")
        );
        let file = whole.file.clone().unwrap();
        assert_eq!(file.size, Some(7));
        assert_eq!(whole.fields_after_file, [("after".into(), "1".into())]);
        for size in 1..=40 {
            let got = read_in_chunks(&body, size, &FormLimits::default()).await;
            assert_eq!(got.as_ref(), Ok(&whole), "chunks of {size}");
        }
    }

    #[tokio::test]
    async fn part_headers_are_bounded_exactly_in_any_chunking() {
        let limits = FormLimits {
            max_part_header_bytes: 100,
            ..FormLimits::default()
        };
        // `Content-Disposition: form-data; name=""` + CRLFCRLF is 43 bytes.
        let fits = body(57);
        let over = body(58);
        for size in [1, 2, 3, 5, 64, 4096] {
            assert!(read_in_chunks(&fits, size, &limits).await.is_ok(), "{size}");
            assert_eq!(
                read_in_chunks(&over, size, &limits).await,
                Err(FormError::PartHeaderTooLong { limit: 100 }),
                "{size}"
            );
        }
    }

    #[tokio::test]
    async fn preamble_fields_and_values_are_bounded() {
        let mut long_preamble = vec![b'x'; MAX_PREAMBLE_BYTES + 1];
        long_preamble.extend_from_slice(&body(1));
        assert_eq!(
            read_in_chunks(&long_preamble, 1000, &FormLimits::default()).await,
            Err(FormError::PreambleTooLong {
                limit: MAX_PREAMBLE_BYTES
            })
        );
        let few = FormLimits {
            max_fields: 2,
            ..FormLimits::default()
        };
        assert_eq!(
            read_in_chunks(&body(1), 64, &few).await,
            Err(FormError::TooManyFields { limit: 2 })
        );
        let small = FormLimits {
            max_field_value_bytes: 3,
            max_fields_bytes: 7,
            ..FormLimits::default()
        };
        // Values are kept one byte past the limit, so the verifier names them.
        let got = read_in_chunks(&body(1), 64, &small).await;
        assert_eq!(got, Err(FormError::FieldsTooLarge { limit: 7 }));
        let roomy = FormLimits {
            max_field_value_bytes: 3,
            ..FormLimits::default()
        };
        let got = read_in_chunks(&body(1), 64, &roomy).await.unwrap();
        assert_eq!(got.field("key"), Some("a/b."));
    }

    #[tokio::test]
    async fn multipart_body() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\na/b.txt\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\n1\r\n--XyZ--\r\n";
        let s = parse_multipart(body.as_bytes().to_vec(), None)
            .await
            .unwrap();
        assert_eq!(s.field("key"), Some("a/b.txt"));
        let file = s.file.unwrap();
        assert_eq!((file.filename.as_str(), file.size), ("b.txt", Some(5)));
        assert_eq!(file.content_type.as_deref(), Some("text/plain"));
        assert_eq!(s.fields_after_file, [("after".into(), "1".into())]);
    }
}
