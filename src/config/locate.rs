//! Maps a key path such as `policies[1].retain` to the line where it is written, so that every
//! configuration error names the file, the line and the key.

use toml_edit::{ImDocument, Item};

/// One step of a key path.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            if let Ok(n) = idx.trim_end_matches(']').parse() {
                out.push(Step::Index(n));
            }
        }
    }
    out
}

/// The 1-based line of the deepest part of `path` that exists in the document (1 if none).
pub fn line_of(doc: &ImDocument<String>, path: &str) -> usize {
    let mut best = None;
    let mut item: Option<&Item> = Some(doc.as_item());
    for step in steps(path) {
        let next = match (item, step) {
            (Some(it), Step::Key(k)) => it.get(k),
            (Some(it), Step::Index(i)) => it.get(i),
            (None, _) => None,
        };
        match next {
            Some(n) => {
                if let Some(span) = n.span().or_else(|| n.as_table_like().and(None)) {
                    best = Some(span.start);
                }
                // Keys of inline values carry the span of the value; tables carry their header.
                if let Some(t) = n.as_table() {
                    if let Some(s) = t.span() {
                        best = Some(s.start);
                    }
                }
                item = Some(n);
            }
            None => break,
        }
    }
    best.map(|off| line_at(doc.raw(), off)).unwrap_or(1)
}

/// The 1-based line number of a byte offset.
pub fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_array_of_tables_entries() {
        let text =
            "a = 1\n[[policies]]\nname = \"x\"\n\n[[policies]]\nname = \"y\"\nretain = \"9q\"\n";
        let doc: ImDocument<String> = text.to_string().parse().unwrap();
        assert_eq!(line_of(&doc, "a"), 1);
        assert_eq!(line_of(&doc, "policies[1].retain"), 7);
        assert_eq!(line_of(&doc, "policies[0].name"), 3);
        assert_eq!(line_of(&doc, "policies[1].missing"), 5);
    }
}
