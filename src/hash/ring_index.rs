//! Finding a hash's successor among the sorted points of a hash ring in a cache
//! line or two. The circle is cut into equal slices, about one per point, and an
//! index keeps where each slice's points start: a lookup reads the index and
//! searches the one or two points of its slice, instead of the log2(N) cache
//! misses of a binary search over a ring of 100,000 points.

/// A point on a ring: an unsigned hash of 32 or 64 bits.
pub trait Point: Copy + Ord {
    const BITS: u32;
    fn wide(self) -> u64;
}

impl Point for u32 {
    const BITS: u32 = 32;
    fn wide(self) -> u64 {
        self as u64
    }
}

impl Point for u64 {
    const BITS: u32 = 64;
    fn wide(self) -> u64 {
        self
    }
}

/// Where each slice of the circle starts among a ring's sorted points.
#[derive(Clone, Debug, Default)]
pub struct RingIndex {
    shift: u32,
    starts: Vec<u32>,
}

impl RingIndex {
    /// The index of `points`, which must be sorted ascending.
    pub fn new<P: Point>(points: &[P]) -> RingIndex {
        // Between one and two slices per point, at most 2^24 slices (64 MiB).
        let bits = (usize::BITS - points.len().leading_zeros()).clamp(1, 24);
        let shift = P::BITS - bits;
        let mut starts = Vec::with_capacity((1 << bits) + 1);
        let mut i = 0;
        for slice in 0..1u64 << bits {
            while i < points.len() && points[i].wide() >> shift < slice {
                i += 1;
            }
            starts.push(i as u32);
        }
        starts.push(points.len() as u32);
        RingIndex { shift, starts }
    }

    /// The position of the first point at or after `h`: `points.len()` when `h` is
    /// past the last point (the caller wraps to the first).
    pub fn first_at_or_after<P: Point>(&self, points: &[P], h: P) -> usize {
        let slice = (h.wide() >> self.shift) as usize;
        let (lo, hi) = (self.starts[slice] as usize, self.starts[slice + 1] as usize);
        lo + points[lo..hi].partition_point(|&p| p < h)
    }

    /// The same, wrapped: the first point at or after `h` around the circle.
    pub fn successor<P: Point>(&self, points: &[P], h: P) -> usize {
        match self.first_at_or_after(points, h) {
            i if i == points.len() => 0,
            i => i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn finds_what_a_whole_search_finds(mut points in proptest::collection::vec(any::<u64>(), 1..300), probes in proptest::collection::vec(any::<u64>(), 50)) {
            points.sort_unstable();
            let index = RingIndex::new(&points);
            for h in probes.into_iter().chain(points.iter().copied()) {
                prop_assert_eq!(index.first_at_or_after(&points, h), points.partition_point(|&p| p < h));
            }
            let narrow: Vec<u32> = points.iter().map(|&p| (p >> 32) as u32).collect();
            let index = RingIndex::new(&narrow);
            for &h in &narrow {
                prop_assert_eq!(index.first_at_or_after(&narrow, h.wrapping_add(1)), narrow.partition_point(|&p| p < h.wrapping_add(1)));
            }
        }
    }
}
