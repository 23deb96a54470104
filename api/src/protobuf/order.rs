//! Putting a message's fields in number order after they were written in the order their
//! JSON keys came: each field's bytes are a span of the buffer, and spans out of order are
//! moved (one copy of the message's bytes, only when needed).

use super::ProtoError;

/// Where each field of one message was written, in the order written.
#[derive(Default)]
pub(super) struct Fields {
    /// (field number, first byte), for the fields that wrote something.
    spans: Vec<(u32, usize)>,
    out_of_order: bool,
}

impl Fields {
    /// Field `number` took `buf[start..end]` (nothing if `start == end`).
    pub(super) fn wrote(&mut self, number: u32, start: usize, end: usize) {
        if end == start {
            return;
        }
        if self.spans.last().is_some_and(|(last, _)| *last >= number) {
            self.out_of_order = true;
        }
        self.spans.push((number, start));
    }

    /// Reorders the bytes from the first span to the end of `buf` by field number; a field
    /// written twice (a repeated JSON key) is an error.
    pub(super) fn order(self, buf: &mut [u8]) -> Result<(), ProtoError> {
        if !self.out_of_order {
            return Ok(());
        }
        let end = buf.len();
        let mut ranges: Vec<(u32, usize, usize)> = self
            .spans
            .iter()
            .enumerate()
            .map(|(i, &(number, start))| {
                let next = self.spans.get(i + 1).map_or(end, |(_, s)| *s);
                (number, start, next)
            })
            .collect();
        ranges.sort_unstable_by_key(|(number, _, _)| *number);
        if ranges.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(ProtoError::field("", "a key given twice"));
        }
        let first = self.spans[0].1;
        let mut sorted = Vec::with_capacity(end - first);
        for (_, start, stop) in ranges {
            sorted.extend_from_slice(&buf[start..stop]);
        }
        buf[first..].copy_from_slice(&sorted);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_moved_into_number_order() {
        let mut buf = b"..".to_vec();
        let mut fields = Fields::default();
        for (number, bytes) in [(3u32, &b"ccc"[..]), (1, b""), (1, b"a"), (2, b"bb")] {
            let start = buf.len();
            buf.extend_from_slice(bytes);
            fields.wrote(number, start, buf.len());
        }
        fields.order(&mut buf).expect("no field twice");
        assert_eq!(buf, b"..abbccc");
    }

    #[test]
    fn in_order_spans_stay_and_a_field_twice_is_an_error() {
        let mut buf = b"abc".to_vec();
        let mut fields = Fields::default();
        for (number, at) in [(1u32, 0usize), (2, 1), (3, 2)] {
            fields.wrote(number, at, at + 1);
        }
        fields.order(&mut buf).expect("in order");
        assert_eq!(buf, b"abc");
        let mut twice = Fields::default();
        twice.wrote(2, 0, 1);
        twice.wrote(2, 1, 2);
        assert!(twice.order(&mut buf[..2]).is_err());
    }
}
