//! A signed form's fields, in order, kept in one text buffer.
//!
//! A form has seven to a dozen short fields. Held as `(String, String)`
//! pairs they cost two allocations each, about half of all the allocations
//! of a signature; here they cost two in all (the text and the offsets), and
//! a binding can hand the whole text over at once.

/// The form fields to POST, in this order, before the file. Names are
/// looked up ASCII case-insensitively, as the services do.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct FormFields {
    /// Every name and value, one after the other.
    text: String,
    /// Where each field's name and value end in `text`; a name starts where
    /// the previous field's value ends.
    ends: Vec<(usize, usize)>,
}

impl FormFields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `fields` fields of `bytes` bytes of names and values in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(fields),
        }
    }

    /// Appends a field (after the others, even when the name is already
    /// there: the form builder decides what a form contains). Inlined, so
    /// that a literal name is copied without a call to `memcpy`.
    #[inline]
    pub fn push(&mut self, name: &str, value: &str) {
        self.text.push_str(name);
        let name_end = self.text.len();
        self.text.push_str(value);
        self.ends.push((name_end, self.text.len()));
    }

    /// Sets the value of field `name` (ASCII case-insensitive; the first,
    /// when a name appears twice), or appends the field: a page that fills
    /// `key` under a prefix, or a test that tampers with a signed form.
    pub fn set(&mut self, name: &str, value: &str) {
        let mut fields = self.to_vec();
        match fields
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, old)) => value.clone_into(old),
            None => fields.push((name.to_owned(), value.to_owned())),
        }
        *self = fields.into_iter().collect();
    }

    /// Appends field `name` with the base64 of `policy_json` as its value,
    /// encoded in place, and returns that value (the text to sign).
    pub(crate) fn push_base64(&mut self, name: &str, policy_json: &str) -> &str {
        self.text.push_str(name);
        let name_end = self.text.len();
        crate::wire::append_base64(&mut self.text, policy_json);
        let value_end = self.text.len();
        self.ends.push((name_end, value_end));
        self.text.get(name_end..).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The fields as `(name, value)`, in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            text: &self.text,
            ends: self.ends.iter(),
            start: 0,
        }
    }

    /// The value of field `name` (ASCII case-insensitive), the first when a
    /// name appears twice.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.len() == name.len() && n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// True when a field is named `name` (ASCII case-insensitive).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The fields as owned pairs (for a [`crate::Submission`], say).
    pub fn to_vec(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    /// Every name and value written one after the other, and where each
    /// name and value ends in it: what a binding hands over in one piece.
    pub fn as_parts(&self) -> (&str, &[(usize, usize)]) {
        (&self.text, &self.ends)
    }
}

impl std::fmt::Debug for FormFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for FormFields {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut fields = FormFields::new();
        fields.extend(iter);
        fields
    }
}

impl<N: AsRef<str>, V: AsRef<str>> Extend<(N, V)> for FormFields {
    fn extend<I: IntoIterator<Item = (N, V)>>(&mut self, iter: I) {
        for (name, value) in iter {
            self.push(name.as_ref(), value.as_ref());
        }
    }
}

impl<'a> IntoIterator for &'a FormFields {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Owned pairs, for code that edits a form (a test that tampers with it).
impl IntoIterator for FormFields {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.to_vec().into_iter()
    }
}

impl From<FormFields> for Vec<(String, String)> {
    fn from(fields: FormFields) -> Self {
        fields.to_vec()
    }
}

impl<N: AsRef<str>, V: AsRef<str>> PartialEq<[(N, V)]> for FormFields {
    fn eq(&self, other: &[(N, V)]) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other)
                .all(|((n, v), (on, ov))| n == on.as_ref() && v == ov.as_ref())
    }
}

impl<N: AsRef<str>, V: AsRef<str>> PartialEq<Vec<(N, V)>> for FormFields {
    fn eq(&self, other: &Vec<(N, V)>) -> bool {
        *self == **other
    }
}

/// The fields of a [`FormFields`], as `(name, value)`.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    text: &'a str,
    ends: std::slice::Iter<'a, (usize, usize)>,
    start: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let &(name_end, value_end) = self.ends.next()?;
        let name = self.text.get(self.start..name_end).unwrap_or_default();
        let value = self.text.get(name_end..value_end).unwrap_or_default();
        self.start = value_end;
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ends.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_order_and_bytes() {
        let mut fields = FormFields::with_capacity(3, 8);
        fields.push("key", "user/42/${filename}");
        fields.push("", "");
        fields.push("Content-Type", "image/pngé\0");
        assert_eq!(
            fields.iter().collect::<Vec<_>>(),
            [
                ("key", "user/42/${filename}"),
                ("", ""),
                ("Content-Type", "image/pngé\0")
            ]
        );
        assert_eq!(fields.len(), 3);
        assert_eq!(fields.get("content-type"), Some("image/pngé\0"));
        assert_eq!(fields.get("content-typ"), None);
        assert_eq!(
            fields,
            vec![
                ("key", "user/42/${filename}"),
                ("", ""),
                ("Content-Type", "image/pngé\0")
            ]
        );
        let copy: FormFields = fields.to_vec().into_iter().collect();
        assert_eq!(copy, fields);
        let mut changed = fields.clone();
        changed.set("CONTENT-TYPE", "text/plain");
        changed.set("x:new", "1");
        assert_eq!(
            changed,
            vec![
                ("key", "user/42/${filename}"),
                ("", ""),
                ("Content-Type", "text/plain"),
                ("x:new", "1")
            ]
        );
        assert_eq!(
            format!("{fields:?}"),
            r#"[("key", "user/42/${filename}"), ("", ""), ("Content-Type", "image/pngé\0")]"#
        );
    }

    #[test]
    fn the_same_pairs_split_differently_are_different_forms() {
        let a: FormFields = [("ab", "c")].into_iter().collect();
        let b: FormFields = [("a", "bc")].into_iter().collect();
        assert_ne!(a, b);
    }
}
