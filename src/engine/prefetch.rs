//! Bringing a value into the cache ahead of its use: per-user state is spread
//! over arrays far larger than the cache, and a request's reads of it would
//! otherwise wait on memory one after the other.

/// Hints the CPU to load `x`'s cache line; a no-op where there is no such hint.
#[inline(always)]
pub fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints the cache; it reads no value and cannot
    // fault, and `x` is a live reference besides.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}
