//! A single-pass reader for policy documents in the shape every SDK writes.
//!
//! The verifier reads one policy per upload, and building it through serde
//! cost more than checking the signature. Policy documents have a fixed shape
//! (`expiration`, then a list of one-entry maps and short lists of strings and
//! integers), so this reader walks the text once and borrows every string.
//! It accepts a strict subset of what the services accept: on anything else
//! (an unknown key, an upper-case operator, a negative or quoted size, a
//! duplicate, a syntax error) it answers `None`, and the tree-based parser in
//! [`super`] decides, with the service's wording. Escaped strings are decoded
//! by serde_json, so JSON's escape rules live in one library, into the
//! caller's arena.

use bumpalo::Bump;

use super::view::{ConditionView, PolicyView, Values};
use crate::policy::ByteRange;

/// The document in `text`, when it has the common shape.
pub(super) fn scan<'a>(text: &'a str, arena: &'a Bump) -> Option<PolicyView<'a>> {
    let mut reader = Reader { text, at: 0, arena };
    let mut expiration = None;
    let mut conditions = None;
    reader.expect(b'{')?;
    loop {
        match reader.string()? {
            "expiration" if expiration.is_none() => {
                reader.expect(b':')?;
                expiration = Some(reader.string()?);
            }
            "conditions" if conditions.is_none() => {
                reader.expect(b':')?;
                conditions = Some(reader.conditions()?);
            }
            _ => return None,
        }
        if reader.next_is(b'}')? {
            break;
        }
        reader.expect(b',')?;
    }
    reader.skip_space();
    if reader.at != text.len() {
        return None;
    }
    let expires_at = super::parse_iso_utc(expiration?)?;
    Some(PolicyView {
        expires_at,
        conditions: conditions?,
    })
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
    /// Where escaped strings are decoded to.
    arena: &'a Bump,
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn skip_space(&mut self) {
        while self.bytes().get(self.at).copied().is_some_and(is_space) {
            self.at += 1;
        }
    }

    /// The next significant byte, consumed. Compact JSON has no space
    /// between tokens, so the byte at hand is tried before any is skipped.
    #[inline(always)]
    fn next(&mut self) -> Option<u8> {
        let mut byte = *self.bytes().get(self.at)?;
        if is_space(byte) {
            self.skip_space();
            byte = *self.bytes().get(self.at)?;
        }
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    /// True (and consumed) when the next significant byte is `byte`; false
    /// (and not consumed) otherwise.
    #[inline(always)]
    fn next_is(&mut self, byte: u8) -> Option<bool> {
        if is_space(*self.bytes().get(self.at)?) {
            self.skip_space();
        }
        if *self.bytes().get(self.at)? == byte {
            self.at += 1;
            Some(true)
        } else {
            Some(false)
        }
    }

    /// A JSON string: borrowed from the text, or decoded by serde_json into
    /// the arena when it holds an escape.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        let (start, escaped) = self.skip_string()?;
        if escaped {
            let quoted = self.text.get(start - 1..self.at)?;
            let decoded = serde_json::from_str::<String>(quoted).ok()?;
            Some(self.arena.alloc_str(&decoded))
        } else {
            self.text.get(start..self.at - 1)
        }
    }

    /// Reads past a JSON string: where its text starts, and whether it holds
    /// an escape.
    #[inline(always)]
    fn skip_string(&mut self) -> Option<(usize, bool)> {
        self.expect(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            // The bytes that end a run of plain characters are the ones JSON
            // output must escape: the same eight-at-a-time search finds them.
            let rest = self.bytes().get(self.at..)?;
            self.at += super::writer::first_to_escape(rest)?;
            match *self.bytes().get(self.at)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                // JSON strings may not hold raw control characters.
                _ => return None,
            }
        }
        self.at += 1;
        Some((start, escaped))
    }

    /// A non-negative integer without sign, fraction, exponent or leading zero.
    fn size(&mut self) -> Option<u64> {
        self.skip_space();
        let digits = self.bytes().get(self.at..)?;
        let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        let number = digits.get(..len)?;
        if len == 0 || (len > 1 && number.first() == Some(&b'0')) {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = digits.get(len) {
            return None;
        }
        self.at += len;
        number.iter().try_fold(0u64, |acc, d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
    }

    fn conditions(&mut self) -> Option<Vec<ConditionView<'a>>> {
        self.list(12, Self::condition)
    }

    /// `[item, …]`, possibly empty.
    fn list<T>(
        &mut self,
        capacity: usize,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        self.expect(b'[')?;
        let mut items = Vec::with_capacity(capacity);
        if self.next_is(b']')? {
            return Some(items);
        }
        loop {
            items.push(item(self)?);
            if self.next_is(b']')? {
                return Some(items);
            }
            self.expect(b',')?;
        }
    }

    fn condition(&mut self) -> Option<ConditionView<'a>> {
        match self.next()? {
            b'{' => {
                let field = field(self.string()?);
                self.expect(b':')?;
                let value = self.string()?;
                self.expect(b'}')?;
                Some(ConditionView::Eq { field, value })
            }
            b'[' => {
                let operator = self.string()?;
                self.expect(b',')?;
                let condition = match operator {
                    "content-length-range" => {
                        let min = self.size()?;
                        self.expect(b',')?;
                        let range = ByteRange {
                            min,
                            max: self.size()?,
                        };
                        // The tree reader words the refusal.
                        if range.is_empty() {
                            return None;
                        }
                        ConditionView::ContentLengthRange(range)
                    }
                    "eq" | "starts-with" => {
                        let field = field(self.string()?);
                        self.expect(b',')?;
                        let value = self.string()?;
                        if operator == "eq" {
                            ConditionView::Eq { field, value }
                        } else {
                            ConditionView::StartsWith {
                                field,
                                prefix: value,
                            }
                        }
                    }
                    "in" | "not-in" => {
                        let field = field(self.string()?);
                        self.expect(b',')?;
                        let values = self.values()?;
                        if operator == "in" {
                            ConditionView::In { field, values }
                        } else {
                            ConditionView::NotIn { field, values }
                        }
                    }
                    _ => return None,
                };
                self.expect(b']')?;
                Some(condition)
            }
            _ => None,
        }
    }

    /// An `in` / `not-in` list: its text when no value holds an escape
    /// (read again when judged), else its values decoded into the arena.
    fn values(&mut self) -> Option<Values<'a>> {
        self.expect(b'[')?;
        let start = self.at;
        let mut escaped = false;
        if !self.next_is(b']')? {
            loop {
                escaped |= self.skip_string()?.1;
                if self.next_is(b']')? {
                    break;
                }
                self.expect(b',')?;
            }
        }
        if !escaped {
            return self.text.get(start..self.at - 1).map(Values::Json);
        }
        // Rare: the list read again from its `[`, each value decoded.
        let mut again = Reader {
            at: start - 1,
            ..*self
        };
        let values = again.list(4, Self::string)?;
        Some(Values::Strs(self.arena.alloc_slice_copy(&values)))
    }
}

/// JSON's insignificant whitespace.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\n' | b'\r' | b'\t')
}

/// `$key` → `key`.
fn field(name: &str) -> &str {
    name.strip_prefix('$').unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The authority: what the tree-based parser makes of `text`.
    fn tree<'a>(text: &str, arena: &'a Bump) -> Option<PolicyView<'a>> {
        super::super::tree::from_json_tree(text, arena).ok()
    }

    /// A JSON string in one of the styles SDKs write: raw UTF-8 (JS, Go,
    /// serde), or ASCII with `\uXXXX` and `\/` (Python, Java).
    fn quoted(s: &str, ascii: bool) -> String {
        if !ascii {
            return serde_json::to_string(s).unwrap_or_default();
        }
        let mut out = String::from("\"");
        for unit in s.encode_utf16() {
            match unit {
                0x22 => out.push_str("\\\""),
                0x5c => out.push_str("\\\\"),
                0x2f => out.push_str("\\/"),
                0x20..=0x7e => out.push(char::from(unit as u8)),
                _ => out.push_str(&format!("\\u{unit:04x}")),
            }
        }
        out.push('"');
        out
    }

    #[derive(Clone, Debug)]
    enum Item {
        Map(String, String),
        Pair(&'static str, String, String),
        List(&'static str, String, Vec<String>),
        Range(u64, u64),
    }

    fn item() -> impl Strategy<Value = Item> {
        let name = prop::sample::select(vec![
            "key",
            "$key",
            "Content-Type",
            "$$x",
            "x-oss-meta-é",
            "",
        ])
        .prop_map(str::to_owned);
        let value = "[ -~é\"\\\\/\u{1f600}\u{1}]{0,8}";
        prop_oneof![
            (name.clone(), value).prop_map(|(n, v)| Item::Map(n, v)),
            (
                prop::sample::select(vec!["eq", "starts-with"]),
                name.clone(),
                value
            )
                .prop_map(|(o, n, v)| Item::Pair(o, format!("${n}"), v)),
            (
                prop::sample::select(vec!["in", "not-in"]),
                name,
                prop::collection::vec(value, 0..3)
            )
                .prop_map(|(o, n, v)| Item::List(o, format!("${n}"), v)),
            (0u64..u64::MAX / 2, 0u64..u64::MAX / 2)
                .prop_map(|(a, b)| Item::Range(a.min(b), a.max(b))),
        ]
    }

    /// A policy document as some SDK would write it.
    fn document() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(item(), 0..6),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(items, ascii, spaced, conditions_first, millis)| {
                let (comma, colon) = if spaced { (", ", ": ") } else { (",", ":") };
                let q = |s: &str| quoted(s, ascii);
                let conditions: Vec<String> = items
                    .iter()
                    .map(|item| match item {
                        Item::Map(n, v) => format!("{{{}{colon}{}}}", q(n), q(v)),
                        Item::Pair(o, n, v) => format!("[{}{comma}{}{comma}{}]", q(o), q(n), q(v)),
                        Item::List(o, n, vs) => {
                            let vs: Vec<String> = vs.iter().map(|v| q(v)).collect();
                            format!("[{}{comma}{}{comma}[{}]]", q(o), q(n), vs.join(comma))
                        }
                        Item::Range(a, b) => {
                            format!("[{}{comma}{a}{comma}{b}]", q("content-length-range"))
                        }
                    })
                    .collect();
                let expiration = if millis {
                    "2026-01-01T00:00:00.000Z"
                } else {
                    "2026-01-01T00:00:00Z"
                };
                let expiration = format!("{}{colon}{}", q("expiration"), q(expiration));
                let conditions = format!("{}{colon}[{}]", q("conditions"), conditions.join(comma));
                if conditions_first {
                    format!("{{{conditions}{comma}{expiration}}}")
                } else {
                    format!("{{{expiration}{comma}{conditions}}}")
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn reads_every_document_the_sdks_write(doc in document()) {
            let arena = Bump::new();
            let scanned = scan(&doc, &arena);
            prop_assert!(scanned.is_some(), "{}", doc);
            prop_assert_eq!(scanned, tree(&doc, &arena));
        }

        #[test]
        fn never_accepts_what_the_tree_parser_reads_otherwise(
            doc in document(),
            at in any::<prop::sample::Index>(),
            edit in prop::sample::select(vec!["", "\"", "\\", "{", "}", "[", "]", ",", ":", " ", "0", "-", "e", ".", "$", "é", "\u{1}", "EQ"]),
            replace in any::<bool>(),
        ) {
            let mut text = doc;
            let boundaries: Vec<usize> = (0..=text.len()).filter(|i| text.is_char_boundary(*i)).collect();
            let start = *at.get(&boundaries);
            let end = if replace {
                text.get(start..).and_then(|rest| rest.chars().next()).map_or(start, |c| start + c.len_utf8())
            } else {
                start
            };
            text.replace_range(start..end, edit);
            let arena = Bump::new();
            if let Some(view) = scan(&text, &arena) {
                prop_assert_eq!(Some(view), tree(&text, &arena), "{}", text);
            }
        }
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let text = r#"{"expiration":"2026-01-01T00:00:00Z","conditions":[["eq","$$key","a\/b"],{"x":"y"},["in","$t",["p","q\/r"]],["not-in","$u",["v", "w"]]]}"#;
        let arena = Bump::new();
        let view = scan(text, &arena).unwrap();
        // Borrowed: the string lies inside the document's text.
        let borrowed = |s: &str| text.as_bytes().as_ptr_range().contains(&s.as_ptr());
        match view.conditions.as_slice() {
            [
                ConditionView::Eq { field, value },
                ConditionView::Eq { field: x, value: y },
                ConditionView::In {
                    values: escaped, ..
                },
                ConditionView::NotIn { values: plain, .. },
            ] => {
                assert_eq!((*field, *value), ("$key", "a/b"));
                assert!(!borrowed(value));
                assert!(borrowed(field) && borrowed(x) && borrowed(y));
                assert_eq!((*x, *y), ("x", "y"));
                assert_eq!(escaped.iter().collect::<Vec<_>>(), ["p", "q/r"]);
                assert!(matches!(escaped, Values::Strs(_)));
                assert_eq!(plain.iter().collect::<Vec<_>>(), ["v", "w"]);
                assert!(matches!(plain, Values::Json(_)));
                assert!(plain.contains("w") && !plain.contains("x"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn leaves_the_unusual_to_the_tree_parser() {
        for text in [
            r#"{"expiration":"2026-01-01T00:00:00Z","conditions":[["EQ","$key","a"]]}"#,
            r#"{"expiration":"2026-01-01T00:00:00Z","conditions":[["content-length-range","1","2"]]}"#,
            r#"{"expiration":"2026-01-01T00:00:00Z","conditions":[],"extra":1}"#,
            r#"{"expiration":"2026-01-01T00:00:00Z","expiration":"2026-01-02T00:00:00Z","conditions":[]}"#,
            r#"{"expiration":"2026-01-01T00:00:00Z","conditions":[["content-length-range",01,2]]}"#,
            r#"{"expiration":"2026-01-01T00:00:00Z","conditions":[]} x"#,
        ] {
            assert!(scan(text, &Bump::new()).is_none(), "{text}");
        }
    }
}
