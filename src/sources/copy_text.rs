//! A streaming parser of PostgreSQL's `COPY ... TO STDOUT` text format: rows end with `\n`,
//! fields are separated by `\t`, `\N` is NULL and a backslash escapes `\b \f \n \r \t \v \\`,
//! octal `\ooo` and hex `\xhh` (any other escaped character stands for itself).
//!
//! A chunk is read in one pass that stops only at tabs, backslashes and newlines (sixteen bytes
//! per step with SSE2). Chunks may end anywhere (a row is carried over to the next chunk); a
//! field without a backslash is passed to the callback as a slice of the chunk, so the common row
//! costs no allocation. Buffers are reused across rows: memory grows with the longest row, not
//! with the row count.

/// The row callback of [`CopyText::feed`]: one entry per field, `None` for NULL; returns false
/// to stop.
pub(crate) type OnCopyRow<'a> = dyn FnMut(&[Option<&[u8]>]) -> bool + 'a;

/// Where a field's value is.
#[derive(Debug, Clone, Copy)]
enum Span {
    Null,
    /// A range of the row.
    Row(usize, usize),
    /// A range of the unescape buffer.
    Scratch(usize, usize),
}

/// A COPY text stream being parsed.
#[derive(Debug)]
pub(crate) struct CopyText {
    fields: usize,
    /// The start of a row whose end is in a later chunk.
    pending: Vec<u8>,
    /// Unescaped values of the current row.
    scratch: Vec<u8>,
    spans: Vec<Span>,
    /// Reused storage of the field slices handed to the callback.
    spare: Vec<Option<&'static [u8]>>,
    rows: u64,
}

/// A row that does not have the expected shape (the message names the row and what was found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyError(pub String);

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl CopyText {
    /// A parser of rows with `fields` fields.
    pub(crate) fn new(fields: usize) -> CopyText {
        CopyText {
            fields,
            pending: Vec::new(),
            scratch: Vec::new(),
            spans: Vec::with_capacity(fields),
            spare: Vec::with_capacity(fields),
            rows: 0,
        }
    }

    /// Rows parsed so far.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// Parses the complete rows of `chunk` (and of what an earlier chunk left), calling `on_row`
    /// with one entry per field (`None` for NULL). `on_row` returns false to stop: the rest of the
    /// chunk is dropped and `feed` returns `Ok(false)`.
    pub(crate) fn feed(
        &mut self,
        mut chunk: &[u8],
        on_row: &mut OnCopyRow<'_>,
    ) -> Result<bool, CopyError> {
        if !self.pending.is_empty() {
            let Some(nl) = memchr::memchr(b'\n', chunk) else {
                self.pending.extend_from_slice(chunk);
                return Ok(true);
            };
            // The row an earlier chunk began, completed: parsed like any other.
            let mut line = std::mem::take(&mut self.pending);
            line.extend_from_slice(&chunk[..=nl]);
            chunk = &chunk[nl + 1..];
            let (_, go) = self.parse(&line, on_row)?;
            line.clear();
            self.pending = line;
            if !go {
                return Ok(false);
            }
        }
        let (complete, go) = self.parse(chunk, on_row)?;
        if go {
            self.pending.extend_from_slice(&chunk[complete..]);
        }
        Ok(go)
    }

    /// Parses the complete rows at the start of `bytes` in one pass that stops at every tab,
    /// backslash and newline (an escaped tab or newline is `\t` or `\n`, never the byte itself).
    /// Returns where the rows end (the start of an unfinished row) and whether to go on.
    fn parse(
        &mut self,
        bytes: &[u8],
        on_row: &mut OnCopyRow<'_>,
    ) -> Result<(usize, bool), CopyError> {
        self.spans.clear();
        self.scratch.clear();
        let (mut row, mut field, mut escaped) = (0, 0, false);
        for i in Specials::new(bytes) {
            match bytes[i] {
                b'\\' => escaped = true,
                b'\t' => {
                    self.field(&bytes[row..], field - row, i - row, escaped);
                    (field, escaped) = (i + 1, false);
                }
                _ => {
                    self.field(&bytes[row..], field - row, i - row, escaped);
                    let go = self.emit(&bytes[row..i], on_row)?;
                    (row, field, escaped) = (i + 1, i + 1, false);
                    self.spans.clear();
                    self.scratch.clear();
                    if !go {
                        return Ok((row, false));
                    }
                }
            }
        }
        Ok((row, true))
    }

    /// Checks that the stream ended at a row boundary.
    pub(crate) fn finish(&self) -> Result<(), CopyError> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(CopyError(format!(
                "the COPY output ended inside row {} ({} bytes without an end of line)",
                self.rows + 1,
                self.pending.len()
            )))
        }
    }

    /// Hands the row `line`, whose fields are in `spans`, to `on_row` after checking its shape.
    fn emit(&mut self, line: &[u8], on_row: &mut OnCopyRow<'_>) -> Result<bool, CopyError> {
        self.rows += 1;
        if self.spans.len() != self.fields {
            return Err(CopyError(format!(
                "COPY row {} has {} fields, expected {}",
                self.rows,
                self.spans.len(),
                self.fields
            )));
        }
        let mut values = recycle(std::mem::take(&mut self.spare));
        values.extend(self.spans.iter().map(|s| match *s {
            Span::Null => None,
            Span::Row(a, b) => Some(&line[a..b]),
            Span::Scratch(a, b) => Some(&self.scratch[a..b]),
        }));
        let go = on_row(&values);
        self.spare = recycle(values);
        Ok(go)
    }

    /// Notes where the field `line[start..end]` is: NULL, the row itself, or (`escaped`: it
    /// holds a backslash) its unescaped value in the scratch buffer.
    #[inline]
    fn field(&mut self, line: &[u8], start: usize, end: usize, escaped: bool) {
        let field = &line[start..end];
        let span = if !escaped {
            Span::Row(start, end)
        } else if field == b"\\N" {
            Span::Null
        } else {
            let from = self.scratch.len();
            unescape(field, &mut self.scratch);
            Span::Scratch(from, self.scratch.len())
        };
        self.spans.push(span);
    }
}

/// The offsets of the tabs, backslashes and newlines of a byte string, in order: sixteen bytes
/// per step where SSE2 is available (every x86-64 CPU), a byte at a time for the rest.
struct Specials<'a> {
    bytes: &'a [u8],
    /// The offset of the sixteen bytes `mask` describes.
    base: usize,
    /// The special bytes of those sixteen not yet returned, one bit per byte.
    mask: u32,
}

impl<'a> Specials<'a> {
    fn new(bytes: &'a [u8]) -> Specials<'a> {
        let mut s = Specials {
            bytes,
            base: 0,
            mask: 0,
        };
        s.mask = s.lane(0);
        s
    }

    /// The special bytes of the (up to) sixteen bytes from `at`.
    #[inline]
    fn lane(&self, at: usize) -> u32 {
        let rest = self.bytes.get(at..).unwrap_or_default();
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        if let Some(lane) = rest.first_chunk::<16>() {
            // SAFETY: the function only needs SSE2, which this build enables (the `cfg` above).
            return unsafe { sse2::specials(lane) };
        }
        rest.iter()
            .take(16)
            .enumerate()
            .filter(|(_, b)| matches!(b, b'\t' | b'\\' | b'\n'))
            .fold(0, |m, (k, _)| m | 1 << k)
    }
}

impl Iterator for Specials<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += 16;
            if self.base >= self.bytes.len() {
                return None;
            }
            self.mask = self.lane(self.base);
        }
        let k = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(self.base + k)
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use crate::detect::simd::load;
    use std::arch::x86_64::*;

    /// One bit per tab, backslash or newline of the sixteen bytes.
    #[target_feature(enable = "sse2")]
    pub(super) fn specials(lane: &[u8; 16]) -> u32 {
        let v = load(lane);
        let is = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
        let any = _mm_or_si128(_mm_or_si128(is(b'\t'), is(b'\\')), is(b'\n'));
        _mm_movemask_epi8(any) as u32
    }
}

/// Reuses a slice vector's allocation across rows whose borrows have different lifetimes.
pub(crate) fn recycle<'a>(mut v: Vec<Option<&[u8]>>) -> Vec<Option<&'a [u8]>> {
    v.clear();
    v.into_iter().map(|_| None).collect()
}

/// Appends the value of an escaped COPY text field to `out`.
fn unescape(field: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < field.len() {
        let Some(off) = memchr::memchr(b'\\', &field[i..]) else {
            out.extend_from_slice(&field[i..]);
            return;
        };
        out.extend_from_slice(&field[i..i + off]);
        i += off + 1;
        let Some(&c) = field.get(i) else {
            // A trailing lone backslash: keep it (PostgreSQL never writes one).
            out.push(b'\\');
            return;
        };
        i += 1;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match field.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            b'x' if field.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut v = 0u32;
                for _ in 0..2 {
                    match field.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]], fields: usize) -> Result<Vec<Vec<Option<Vec<u8>>>>, CopyError> {
        let mut p = CopyText::new(fields);
        let mut out = vec![];
        for c in chunks {
            p.feed(c, &mut |r| {
                out.push(r.iter().map(|v| v.map(<[u8]>::to_vec)).collect());
                true
            })?;
        }
        p.finish()?;
        Ok(out)
    }

    fn s(v: &str) -> Option<Vec<u8>> {
        Some(v.as_bytes().to_vec())
    }

    #[test]
    fn rows_fields_nulls_and_escapes() {
        let rows = parse(&[b"1\ta\\tb\\\\c\t\\N\n2\t\t\\n\\r\\x41\\101\\q\n"], 3).unwrap();
        assert_eq!(
            rows,
            vec![
                vec![s("1"), s("a\tb\\c"), None],
                vec![s("2"), s(""), s("\n\rAAq")],
            ]
        );
    }

    #[test]
    fn rows_split_anywhere_across_chunks() {
        let all: &[u8] = b"10\t\xe6\x89\x8b\\\\x\n11\t\\N\n12\tlast\n";
        let whole = parse(&[all], 2).unwrap();
        for cut in 0..all.len() {
            for cut2 in cut..all.len() {
                let got = parse(&[&all[..cut], &all[cut..cut2], &all[cut2..]], 2).unwrap();
                assert_eq!(got, whole, "cuts at {cut}, {cut2}");
            }
        }
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0][1], Some("手\\x".as_bytes().to_vec()));
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        let e = parse(&[b"1\t2\t3\n"], 2).unwrap_err();
        assert_eq!(e.0, "COPY row 1 has 3 fields, expected 2");
        let e = parse(&[b"1\t2\n3\t4"], 2).unwrap_err();
        assert!(e.0.contains("ended inside row 2"), "{e}");
        // Odd escapes never panic.
        let rows = parse(&[b"\\\t\\x\t\\777\t\\xZ\n"], 4).unwrap();
        assert_eq!(rows[0][0], Some(b"\\".to_vec()));
        assert_eq!(rows[0][1], s("x"));
        assert_eq!(rows[0][2], Some(vec![0o777u32 as u8]));
        assert_eq!(rows[0][3], s("xZ"));
    }

    /// A field as PostgreSQL writes it in COPY text format.
    fn escape(v: &Option<Vec<u8>>) -> Vec<u8> {
        let Some(v) = v else {
            return b"\\N".to_vec();
        };
        let mut out = Vec::new();
        for &b in v {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.push(b),
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Rows of any bytes, written as PostgreSQL writes them and cut into chunks anywhere,
        /// read back as they were.
        #[test]
        fn any_rows_in_any_chunks_read_back(
            rows in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::option::weighted(
                        0.9,
                        proptest::collection::vec(
                            proptest::prop_oneof![
                                proptest::prelude::Just(b'\\'),
                                proptest::prelude::Just(b'\t'),
                                proptest::prelude::Just(b'\n'),
                                proptest::prelude::Just(b'N'),
                                proptest::prelude::Just(b'a'),
                                proptest::prelude::any::<u8>(),
                            ],
                            0..40,
                        ),
                    ),
                    3,
                ),
                0..12,
            ),
            cuts in proptest::collection::vec(0usize..2000, 0..6),
        ) {
            let mut text = Vec::new();
            for r in &rows {
                let fields: Vec<Vec<u8>> = r.iter().map(escape).collect();
                text.extend_from_slice(&fields.join(&b'\t'));
                text.push(b'\n');
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (text.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut from = 0;
            for c in cuts {
                chunks.push(&text[from..c]);
                from = c;
            }
            chunks.push(&text[from..]);
            proptest::prop_assert_eq!(parse(&chunks, 3).unwrap(), rows);
        }
    }

    #[test]
    fn a_callback_can_stop_the_stream() {
        let mut p = CopyText::new(1);
        let mut seen = 0;
        let go = p
            .feed(b"a\nb\nc\n", &mut |_| {
                seen += 1;
                seen < 2
            })
            .unwrap();
        assert!(!go);
        assert_eq!(seen, 2);
    }
}
