//! Reading a captured form (for `postpolicy explain`): a raw
//! `multipart/form-data` body, or `name: value` / `name=value` lines as
//! browser developer tools show them.

use postpolicy::{FileInfo, Submission};

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
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(body))]);
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut submission = Submission::default();
    while let Some(mut field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name.eq_ignore_ascii_case("file") && submission.file.is_none() {
            let filename = field.file_name().unwrap_or_default().to_owned();
            let content_type = field.content_type().map(ToString::to_string);
            let mut size = 0u64;
            while let Some(chunk) = field.chunk().await.map_err(|e| e.to_string())? {
                size += chunk.len() as u64;
            }
            submission.file = Some(FileInfo {
                filename,
                content_type,
                size: Some(size),
            });
            continue;
        }
        let value = field.text().await.map_err(|e| e.to_string())?;
        if submission.file.is_some() {
            submission.fields_after_file.push((name, value));
        } else {
            submission.fields.push((name, value));
        }
    }
    Ok(submission)
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
