//! [`Span`]: the part of a buffer that holds something still to do.

use std::ops::Range;

/// The bytes `start..end` of a buffer: a frame still to write, payload still to deliver,
/// bytes still to decode. Empty once `start` reaches `end`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Span {
    /// The first byte still to do.
    pub(super) start: usize,
    /// One past the last byte.
    pub(super) end: usize,
}

impl Span {
    /// Nothing.
    pub(super) const EMPTY: Span = Span { start: 0, end: 0 };

    /// The bytes `start..end`.
    pub(super) const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// Whether nothing is left.
    pub(super) const fn is_empty(self) -> bool {
        self.start >= self.end
    }

    /// How many bytes are left.
    pub(super) const fn len(self) -> usize {
        self.end - self.start
    }

    /// The span as a range, to index its buffer with.
    pub(super) const fn range(self) -> Range<usize> {
        self.start..self.end
    }
}
