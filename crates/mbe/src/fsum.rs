//! Correctly rounded floating-point summation, the same algorithm as CPython's `math.fsum`
//! (Shewchuk's exact partials followed by a half-even-correct final rounding).
//!
//! QCManyBody sums component energies with `math.fsum`; using the same exact sum makes the
//! assembled energies bit-identical instead of merely close.

/// Exact sum of `values`, rounded once to the nearest `f64` (ties to even), like Python's `math.fsum`.
///
/// Never fails. Non-finite inputs give the IEEE result of a plain sum (`inf`, `-inf` or `NaN`)
/// where Python would raise; a finite sum whose exact value overflows returns `±inf`.
pub fn fsum<I: IntoIterator<Item = f64>>(values: I) -> f64 {
    let mut acc = Fsum::new();
    for value in values {
        acc.add(value);
    }
    acc.value()
}

/// Partials kept inline before spilling to the heap (sums of like-sized numbers need 1–3).
const INLINE: usize = 4;

/// A running exact sum: [`fsum`] one value at a time, so many sums (one per array element) can
/// be fed in any order without first gathering their terms. The value is the same, bit for bit,
/// as [`fsum`] of all values added.
#[derive(Debug, Clone, Default)]
pub struct Fsum {
    inline: [f64; INLINE],
    len: usize,
    spill: Vec<f64>,
    special: f64,
    has_special: bool,
}

impl Fsum {
    /// The empty sum (0).
    pub fn new() -> Fsum {
        Fsum::default()
    }

    /// Adds `value` exactly. Never fails (non-finite values: see [`fsum`]).
    #[inline]
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            self.special += value;
            self.has_special = true;
            return;
        }
        let top = if self.spill.is_empty() {
            let (kept, top) = grow(&mut self.inline[..self.len], value);
            self.len = kept;
            top
        } else {
            let (kept, top) = grow(&mut self.spill, value);
            self.spill.truncate(kept);
            top
        };
        let Some(x) = top else { return };
        if !x.is_finite() {
            // the exact running sum overflowed: no finite answer exists
            self.special += x;
            self.has_special = true;
            self.spill.clear();
            self.len = 0;
            return;
        }
        if self.spill.is_empty() && self.len < INLINE {
            self.inline[self.len] = x;
            self.len += 1;
        } else {
            if self.spill.is_empty() {
                self.spill.extend_from_slice(&self.inline[..self.len]);
                self.len = 0;
            }
            self.spill.push(x);
        }
    }

    /// The correctly rounded value of the sum so far.
    pub fn value(&self) -> f64 {
        if self.has_special {
            return self.special;
        }
        if self.spill.is_empty() {
            round_partials(&self.inline[..self.len])
        } else {
            round_partials(&self.spill)
        }
    }
}

/// One step of Shewchuk's algorithm: fold `value` into the non-overlapping `partials` (compacted
/// in place, zeros dropped); returns how many partials are kept and the new top partial to
/// append, if non-zero. Each step is Knuth's branch-free TwoSum, which gives the same exact
/// (sum, error) pair as CPython's ordered FastTwoSum, so the partials are CPython's.
#[inline]
fn grow(partials: &mut [f64], value: f64) -> (usize, Option<f64>) {
    let mut x = value;
    let mut kept = 0;
    for k in 0..partials.len() {
        let y = partials[k];
        let hi = x + y;
        let bp = hi - x;
        let lo = (x - (hi - bp)) + (y - bp);
        partials[kept] = lo;
        kept += usize::from(lo != 0.0);
        x = hi;
    }
    (kept, (x != 0.0).then_some(x))
}

/// Final step of CPython's fsum: add the non-overlapping partials from the top and fix a
/// half-way case so the result is correctly rounded.
fn round_partials(partials: &[f64]) -> f64 {
    let mut n = partials.len();
    if n == 0 {
        return 0.0;
    }
    n -= 1;
    let mut hi = partials[n];
    let mut lo = 0.0;
    while n > 0 {
        let x = hi;
        n -= 1;
        let y = partials[n];
        hi = x + y;
        let yr = hi - x;
        lo = y - yr;
        if lo != 0.0 {
            break;
        }
    }
    if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        let yr = x - hi;
        if y == yr {
            hi = x;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::fsum;

    #[test]
    fn empty_and_single() {
        assert_eq!(fsum(Vec::<f64>::new()), 0.0);
        assert_eq!(fsum([1.5]), 1.5);
    }

    #[test]
    fn classic_cancellation() {
        // naive summation gives 0.0 or 2.0 here; the exact answer is 1.0 (or 1e-16 etc.)
        assert_eq!(
            fsum([1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]),
            1e-100
        );
        assert_eq!(fsum([1.0, 1e100, 1.0, -1e100]), 2.0);
        assert_eq!(fsum([0.1; 10]), 1.0);
        assert_ne!([0.1_f64; 10].iter().sum::<f64>(), 1.0);
    }

    #[test]
    fn python_reference_values() {
        // values printed by CPython 3.11 math.fsum
        assert_eq!(
            fsum([2.0_f64.powi(53), -0.5, -2.0_f64.powi(-54)]),
            9007199254740991.0
        );
        assert_eq!(
            fsum([2.0_f64.powi(53), 1.0, 2.0_f64.powi(-100)]),
            9007199254740994.0
        );
        assert_eq!(
            fsum([1.7976931348623157e308, -1.7976931348623157e308, 3.0]),
            3.0
        );
        let tiny = [
            -76.026_760_737_428_4,
            76.026_760_737_428_5,
            -1e-15,
            3e-17,
            -7.9e-17,
        ];
        let exact = fsum(tiny);
        assert_eq!(exact, fsum(tiny.iter().rev().copied()));
    }

    #[test]
    fn order_independent() {
        let v: Vec<f64> = (0..200)
            .map(|i| ((i * 7919 % 1000) as f64 - 500.0) * 1.0e-3 + (i as f64).sin() * 1e5)
            .collect();
        let a = fsum(v.iter().copied());
        let b = fsum(v.iter().rev().copied());
        let mut sorted = v.clone();
        sorted.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
        assert_eq!(a, b);
        assert_eq!(a, fsum(sorted));
    }

    /// CPython's loop as written there (FastTwoSum after ordering, partials in a Vec).
    fn cpython_partials(values: &[f64]) -> f64 {
        let mut partials: Vec<f64> = Vec::new();
        for &value in values {
            let mut x = value;
            let mut kept = 0;
            for k in 0..partials.len() {
                let mut y = partials[k];
                if x.abs() < y.abs() {
                    std::mem::swap(&mut x, &mut y);
                }
                let hi = x + y;
                let lo = y - (hi - x);
                if lo != 0.0 {
                    partials[kept] = lo;
                    kept += 1;
                }
                x = hi;
            }
            partials.truncate(kept);
            if x != 0.0 {
                partials.push(x);
            }
        }
        super::round_partials(&partials)
    }

    #[test]
    fn running_sums_equal_cpythons_loop_inline_and_spilled() {
        use super::Fsum;
        // wide exponent range: more partials than fit inline
        let v: Vec<f64> = (0..300)
            .map(|i| ((i * 7919 % 1000) as f64 - 500.0) * 10f64.powi((i % 40) - 20))
            .collect();
        for n in [0, 1, 3, 5, 50, 300] {
            let mut acc = Fsum::new();
            for x in &v[..n] {
                acc.add(*x);
            }
            assert_eq!(acc.value().to_bits(), cpython_partials(&v[..n]).to_bits());
            assert_eq!(
                acc.value().to_bits(),
                fsum(v[..n].iter().copied()).to_bits()
            );
        }
        let mut acc = Fsum::new();
        acc.add(1e308);
        acc.add(1e308);
        assert!(acc.value().is_infinite());
    }

    #[test]
    fn non_finite() {
        assert!(fsum([1.0, f64::INFINITY]).is_infinite());
        assert!(fsum([f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert!(fsum([1.0, f64::NAN]).is_nan());
    }
}
