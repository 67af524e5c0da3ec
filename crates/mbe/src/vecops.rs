//! Element-wise arithmetic on property vectors (a scalar is a one-element vector), in the exact
//! operation order QCManyBody's numpy/float code uses.

/// `acc[i] += scale * x[i]` (one product, one sum: as `acc += c * x` in Python).
pub(crate) fn add_scaled(acc: &mut [f64], scale: f64, x: &[f64]) {
    for (a, v) in acc.iter_mut().zip(x) {
        *a += scale * v;
    }
}

/// `acc[i] -= x[i]`.
pub(crate) fn sub_assign(acc: &mut [f64], x: &[f64]) {
    for (a, v) in acc.iter_mut().zip(x) {
        *a -= v;
    }
}

/// `a[i] - b[i]`.
pub(crate) fn diff(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}
