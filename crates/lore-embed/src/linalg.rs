//! The little dense and sparse linear algebra the learned model needs:
//! a symmetric sparse matrix times a tall dense matrix, Jacobi
//! eigendecomposition of small symmetric matrices, and orthonormalising
//! the columns of a tall matrix. Dense matrices are row-major `f32`; small
//! ones are `f64` for accuracy.

use rayon::prelude::*;

/// A sparse matrix in compressed sparse row form.
#[derive(Clone, Debug, Default)]
pub(crate) struct Csr {
    pub n: usize,
    pub row_start: Vec<usize>,
    pub col: Vec<u32>,
    pub val: Vec<f32>,
}

impl Csr {
    /// Builds from (row, col, value) triplets; duplicates are summed.
    pub fn from_triplets(n: usize, mut triplets: Vec<(u32, u32, f32)>) -> Csr {
        triplets.par_sort_unstable_by_key(|&(r, c, _)| (r, c));
        let mut row_start = vec![0usize; n + 1];
        let mut col = Vec::with_capacity(triplets.len());
        let mut val: Vec<f32> = Vec::with_capacity(triplets.len());
        let mut last: Option<(u32, u32)> = None;
        for (r, c, v) in triplets {
            if last == Some((r, c)) {
                *val.last_mut().expect("a value for the last entry") += v;
                continue;
            }
            last = Some((r, c));
            row_start[r as usize + 1] += 1;
            col.push(c);
            val.push(v);
        }
        for i in 0..n {
            row_start[i + 1] += row_start[i];
        }
        Csr {
            n,
            row_start,
            col,
            val,
        }
    }

    /// `self · x` for a row-major `n × k` dense `x`.
    pub fn mul_dense(&self, x: &[f32], k: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; self.n * k];
        out.par_chunks_mut(k).enumerate().for_each(|(i, row)| {
            for e in self.row_start[i]..self.row_start[i + 1] {
                let v = self.val[e];
                let xj = &x[self.col[e] as usize * k..][..k];
                for (o, &xv) in row.iter_mut().zip(xj) {
                    *o += v * xv;
                }
            }
        });
        out
    }
}

/// `yᵀ y` for a row-major `n × k` matrix, in f64.
pub(crate) fn gram(y: &[f32], k: usize) -> Vec<f64> {
    let upper = y
        .par_chunks(k)
        .fold(
            || vec![0.0f64; k * k],
            |mut acc, row| {
                for a in 0..k {
                    let ra = f64::from(row[a]);
                    if ra == 0.0 {
                        continue;
                    }
                    for b in a..k {
                        acc[a * k + b] += ra * f64::from(row[b]);
                    }
                }
                acc
            },
        )
        .reduce(
            || vec![0.0f64; k * k],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        );
    // Only the upper triangle was accumulated; mirror it.
    let mut full = upper;
    for a in 0..k {
        for b in 0..a {
            full[a * k + b] = full[b * k + a];
        }
    }
    full
}

/// Eigen-decomposition of a symmetric `k × k` matrix by cyclic Jacobi.
/// Returns eigenvalues (descending) and the matching eigenvectors as the
/// columns of a row-major `k × k` matrix.
pub(crate) fn symmetric_eigen(a: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0f64; k * k];
    for i in 0..k {
        v[i * k + i] = 1.0;
    }
    for _sweep in 0..60 {
        let off: f64 = (0..k)
            .flat_map(|p| (p + 1..k).map(move |q| (p, q)))
            .map(|(p, q)| a[p * k + q] * a[p * k + q])
            .sum();
        let scale: f64 = (0..k).map(|i| a[i * k + i] * a[i * k + i]).sum::<f64>();
        if off <= 1e-22 * scale.max(1e-300) {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = a[p * k + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let app = a[p * k + p];
                let aqq = a[q * k + q];
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let arp = a[r * k + p];
                    let arq = a[r * k + q];
                    a[r * k + p] = c * arp - s * arq;
                    a[r * k + q] = s * arp + c * arq;
                }
                for r in 0..k {
                    let apr = a[p * k + r];
                    let aqr = a[q * k + r];
                    a[p * k + r] = c * apr - s * aqr;
                    a[q * k + r] = s * apr + c * aqr;
                }
                for r in 0..k {
                    let vrp = v[r * k + p];
                    let vrq = v[r * k + q];
                    v[r * k + p] = c * vrp - s * vrq;
                    v[r * k + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&i, &j| a[j * k + j].total_cmp(&a[i * k + i]));
    let values = order.iter().map(|&i| a[i * k + i]).collect();
    let mut vectors = vec![0.0f64; k * k];
    for (new, &old) in order.iter().enumerate() {
        for r in 0..k {
            vectors[r * k + new] = v[r * k + old];
        }
    }
    (values, vectors)
}

/// `y · m` for row-major `n × k` `y` and `k × c` `m` (f64), as f32.
pub(crate) fn mul_small(y: &[f32], k: usize, m: &[f64], c: usize) -> Vec<f32> {
    let n = y.len() / k;
    let mut out = vec![0.0f32; n * c];
    out.par_chunks_mut(c)
        .zip(y.par_chunks(k))
        .for_each(|(o, row)| {
            for (a, &ya) in row.iter().enumerate() {
                if ya == 0.0 {
                    continue;
                }
                let ya = f64::from(ya);
                for (b, ob) in o.iter_mut().enumerate() {
                    *ob += (ya * m[a * c + b]) as f32;
                }
            }
        });
    out
}

/// An orthonormal basis of the column space of row-major `n × k` `y`
/// (through the eigenvectors of `yᵀy`; directions with negligible energy
/// are dropped). Returns the basis and its width.
pub(crate) fn orthonormalize(y: &[f32], k: usize) -> (Vec<f32>, usize) {
    let g = gram(y, k);
    let (values, vectors) = symmetric_eigen(&g, k);
    let top = values.first().copied().unwrap_or(0.0).max(0.0);
    let keep: Vec<usize> = (0..k)
        .filter(|&i| values[i] > top * 1e-10 && values[i] > 0.0)
        .collect();
    let c = keep.len();
    let mut m = vec![0.0f64; k * c];
    for (j, &i) in keep.iter().enumerate() {
        let inv = 1.0 / values[i].sqrt();
        for r in 0..k {
            m[r * c + j] = vectors[r * k + i] * inv;
        }
    }
    (mul_small(y, k, &m, c), c)
}

/// A deterministic pseudo-random standard normal matrix (row-major `n × k`).
pub(crate) fn gaussian(n: usize, k: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    let mut next = || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n * k)
        .map(|_| {
            let (u1, u2) = (next().max(1e-300), next());
            ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_of_a_known_matrix() {
        // [[2, 1], [1, 2]] has eigenvalues 3 and 1, vectors (1,1)/√2 and (1,-1)/√2.
        let (values, vectors) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((values[0] - 3.0).abs() < 1e-12 && (values[1] - 1.0).abs() < 1e-12);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((vectors[0].abs() - h).abs() < 1e-12 && (vectors[2].abs() - h).abs() < 1e-12);
        assert!(vectors[0] * vectors[2] > 0.0);
        assert!(vectors[1] * vectors[3] < 0.0);
    }

    #[test]
    fn sparse_times_dense() {
        // [[0, 2], [1, 0]] · [[1, 2], [3, 4]] = [[6, 8], [1, 2]]
        let m = Csr::from_triplets(2, vec![(0, 1, 1.0), (1, 0, 1.0), (0, 1, 1.0)]);
        assert_eq!(m.mul_dense(&[1.0, 2.0, 3.0, 4.0], 2), [6.0, 8.0, 1.0, 2.0]);
    }

    #[test]
    fn orthonormal_columns() {
        let y = gaussian(50, 4, 7);
        let (q, c) = orthonormalize(&y, 4);
        assert_eq!(c, 4);
        let g = gram(&q, c);
        for a in 0..c {
            for b in 0..c {
                let expect = if a == b { 1.0 } else { 0.0 };
                assert!((g[a * c + b] - expect).abs() < 1e-4, "{g:?}");
            }
        }
        // A rank-deficient input keeps only its rank.
        let mut y = gaussian(30, 3, 9);
        for row in y.chunks_mut(3) {
            row[2] = row[0] + row[1];
        }
        assert_eq!(orthonormalize(&y, 3).1, 2);
    }
}
