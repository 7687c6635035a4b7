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

/// Dot product of two vectors of 8-bit codes (see [`quantize`]), exact in
/// `i32`: with AVX2 where the processor has it, else a plain loop.
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        #[allow(unsafe_code)]
        // SAFETY: the processor supports the feature `dot_i8_avx2` is compiled for.
        return unsafe { dot_i8_avx2(a, b) };
    }
    dot_i8_portable(a, b)
}

fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::{
        __m256i, _mm_add_epi32, _mm_cvtsi128_si32, _mm_hadd_epi32, _mm256_add_epi32,
        _mm256_castsi256_si128, _mm256_extracti128_si256, _mm256_loadu_si256, _mm256_madd_epi16,
        _mm256_maddubs_epi16, _mm256_set1_epi16, _mm256_setzero_si256, _mm256_sign_epi8,
    };
    let n = a.len().min(b.len());
    let load = |v: &[i8], i: usize| -> __m256i {
        let lanes: &[i8; 32] = v[i..i + 32].try_into().expect("32 lanes");
        // SAFETY: `lanes` is 32 readable bytes; the load is unaligned.
        unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) }
    };
    let ones = _mm256_set1_epi16(1);
    let mut acc = _mm256_setzero_si256();
    let mut i = 0;
    while i + 32 <= n {
        let (x, y) = (load(a, i), load(b, i));
        // |x| · (y · sign x) = x · y, as unsigned × signed bytes summed in
        // pairs to i16: at most 2 · 127 · 127, so no saturation for codes
        // in -127..=127.
        let pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
        i += 32;
    }
    let half = _mm_add_epi32(
        _mm256_castsi256_si128(acc),
        _mm256_extracti128_si256(acc, 1),
    );
    let pair = _mm_hadd_epi32(half, half);
    _mm_cvtsi128_si32(_mm_hadd_epi32(pair, pair)) + dot_i8_portable(&a[i..n], &b[i..n])
}

/// 8-bit codes of `v` in -127..=127 and the scale that maps them back
/// (`v[i] ≈ codes[i] · scale`); all zeros for a zero vector.
pub fn quantize(v: &[f32], codes: &mut [i8]) -> f32 {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        codes.fill(0);
        return 0.0;
    }
    let scale = max / 127.0;
    for (code, x) in codes.iter_mut().zip(v) {
        *code = (x / scale).round().clamp(-127.0, 127.0) as i8;
    }
    scale
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

    #[test]
    fn byte_dot_products_are_exact() {
        for n in [0, 1, 31, 32, 33, 64, 128, 130] {
            let a: Vec<i8> = (0..n)
                .map(|i: i32| (i * 37) % 255 - 127)
                .map(|x| x as i8)
                .collect();
            let b: Vec<i8> = (0..n)
                .map(|i: i32| 127 - (i * 11) % 255)
                .map(|x| x as i8)
                .collect();
            let naive: i32 = a.iter().zip(&b).map(|(&x, &y)| x as i32 * y as i32).sum();
            assert_eq!(dot_i8(&a, &b), naive, "length {n}");
        }
        // The extremes: every pair at ±127.
        let a = vec![127i8; 64];
        let b = vec![-127i8; 64];
        assert_eq!(dot_i8(&a, &b), -127 * 127 * 64);
        assert_eq!(dot_i8(&b, &b), 127 * 127 * 64);
    }

    #[test]
    fn quantized_vectors_keep_their_dot_products() {
        let mut a: Vec<f32> = (0..128).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
        let mut b: Vec<f32> = (0..128).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
        normalize(&mut a);
        normalize(&mut b);
        let (mut ca, mut cb) = (vec![0i8; 128], vec![0i8; 128]);
        let (sa, sb) = (quantize(&a, &mut ca), quantize(&b, &mut cb));
        let approx = dot_i8(&ca, &cb) as f32 * sa * sb;
        assert!(
            (approx - dot(&a, &b)).abs() < 0.005,
            "{approx} vs {}",
            dot(&a, &b)
        );
        let mut zero = vec![1i8; 4];
        assert_eq!(quantize(&[0.0; 4], &mut zero), 0.0);
        assert_eq!(zero, [0; 4]);
    }
}
