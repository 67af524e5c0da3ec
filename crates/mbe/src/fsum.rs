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
    let mut partials: Vec<f64> = Vec::new();
    let mut special = 0.0_f64;
    let mut has_special = false;
    for value in values {
        if !value.is_finite() {
            special += value;
            has_special = true;
            continue;
        }
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
            if !x.is_finite() {
                // the exact running sum overflowed: no finite answer exists
                special += x;
                has_special = true;
                partials.clear();
                continue;
            }
            partials.push(x);
        }
    }
    if has_special {
        return special;
    }
    round_partials(&partials)
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

/// Element-wise exact sum of equally long vectors (`len` elements each); the empty sum is zeros.
pub(crate) fn fsum_vectors<'a, I>(vectors: I, len: usize) -> Vec<f64>
where
    I: IntoIterator<Item = (f64, &'a [f64])>,
{
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); len];
    for (weight, v) in vectors {
        for (col, x) in columns.iter_mut().zip(v.iter()) {
            col.push(weight * x);
        }
    }
    columns.into_iter().map(fsum).collect()
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

    #[test]
    fn non_finite() {
        assert!(fsum([1.0, f64::INFINITY]).is_infinite());
        assert!(fsum([f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert!(fsum([1.0, f64::NAN]).is_nan());
    }
}
