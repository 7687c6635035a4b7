//! Embedders: text in, unit vectors out.
//!
//! Every embedder names the model that produced its vectors. The index
//! records that name next to its vectors and never mixes vectors of two
//! models: changing the model means embedding again.

/// Turns texts into unit-length vectors of a fixed dimension.
pub trait Embedder: Send + Sync {
    /// Identifies the model and everything that changes its vectors, e.g.
    /// `learned:v1:3f2a…` or `local:all-MiniLM-L6-v2:256`.
    fn model_id(&self) -> &str;
    /// Length of every vector.
    fn dims(&self) -> usize;
    /// One vector per text, in order, each of length [`Embedder::dims`] and
    /// unit length (all zeros for a text the model knows nothing of).
    fn embed(&self, texts: &[&str]) -> crate::Result<Vec<Vec<f32>>>;
}

/// Scales `v` to unit length; leaves a zero vector as it is.
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Dot product of two vectors of the same length: with AVX2 and FMA where
/// the processor has them (searches spend most of their time here), else
/// written so the compiler vectorises it for the baseline instruction set.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        #[allow(unsafe_code)]
        // SAFETY: the processor supports the features `dot_avx2` is compiled for.
        return unsafe { dot_avx2(a, b) };
    }
    dot_portable(a, b)
}

fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(unsafe_code)]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::{
        __m256, _mm_add_ps, _mm_cvtss_f32, _mm_hadd_ps, _mm256_castps256_ps128,
        _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps,
    };
    let n = a.len().min(b.len());
    let load = |v: &[f32], i: usize| -> __m256 {
        let lanes: &[f32; 8] = v[i..i + 8].try_into().expect("eight lanes");
        // SAFETY: `lanes` is eight readable f32s; the load is unaligned.
        unsafe { _mm256_loadu_ps(lanes.as_ptr()) }
    };
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut i = 0;
    while i + 16 <= n {
        acc0 = _mm256_fmadd_ps(load(a, i), load(b, i), acc0);
        acc1 = _mm256_fmadd_ps(load(a, i + 8), load(b, i + 8), acc1);
        i += 16;
    }
    if i + 8 <= n {
        acc0 = _mm256_fmadd_ps(load(a, i), load(b, i), acc0);
        i += 8;
    }
    let acc = std::arch::x86_64::_mm256_add_ps(acc0, acc1);
    let half = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    let pair = _mm_hadd_ps(half, half);
    let sum = _mm_cvtss_f32(_mm_hadd_ps(pair, pair));
    sum + a[i..n]
        .iter()
        .zip(&b[i..n])
        .map(|(x, y)| x * y)
        .sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_normalize() {
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..19).map(|i| (i % 3) as f32).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert_eq!(dot(&a, &b), naive);
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut zero = vec![0.0; 3];
        normalize(&mut zero);
        assert_eq!(zero, [0.0; 3]);
    }

    #[test]
    fn every_length_agrees_with_the_naive_sum() {
        for n in 0..=41 {
            let a: Vec<f32> = (0..n).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 3) % 5) as f32 * 0.5).collect();
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            // Small integers and halves: every order of summation is exact.
            assert_eq!(dot(&a, &b), naive, "length {n}");
            assert_eq!(dot_portable(&a, &b), naive, "length {n}");
        }
    }
}
