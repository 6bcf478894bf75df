//! Log lines: request data (keys, URLs, reasons that quote them) is written
//! escaped, so that a key or key URL holding a newline cannot add a line of
//! its own, such as a fake "verified" one.

use std::fmt;

/// `text` with control, line-separator and bidi-control characters escaped
/// as Rust escapes them (`\n`, `\u{202e}`); everything else as it is.
pub(crate) fn escaped(text: &str) -> Escaped<'_> {
    Escaped(text)
}

#[derive(Debug)]
pub(crate) struct Escaped<'a>(&'a str);

/// Characters that can end a line or reorder what a terminal shows.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        for c in self.0.chars() {
            if is_unsafe(c) {
                write!(f, "{}", c.escape_debug())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_data_cannot_start_a_line() {
        let key = "a.txt\n[app] POST /callback -> verified: evil\r\u{2028}\u{202e}\u{1b}[2J";
        let line = format!("[app] POST /callback -> rejected: {}", escaped(key));
        assert!(
            !line.contains(['\n', '\r', '\u{2028}', '\u{202e}', '\u{1b}']),
            "{line}"
        );
        assert_eq!(line.lines().count(), 1);
        assert!(line.contains(r"a.txt\n[app]"), "{line}");
        assert!(line.contains(r"\u{202e}"), "{line}");
        assert_eq!(
            escaped("uploads/ab/it's \"1\" \\ 2.png").to_string(),
            "uploads/ab/it's \"1\" \\ 2.png"
        );
    }
}
