use gemm::Parallelism;
use rayon::prelude::*;
use std::time::Instant;

// weight grad: dst (m=9c x n=cout) = lhs (m x k) [lhs(i,r) = xh[r*3c + i]] * rhs (k x n) [dy[r*n + j]]
fn wgrad(m: usize, n: usize, k: usize, c: usize, chunks: usize, par: Parallelism, tr: bool) -> f64 {
    let xh = vec![1.0f32; (k + 4) * 3 * c + m];
    let dy = vec![1.0f32; k * n];
    let mut best = f64::MAX;
    for _ in 0..4 {
        let t = Instant::now();
        let parts: Vec<Vec<f32>> = (0..chunks).into_par_iter().map(|j| {
            let (r0, r1) = (j * k / chunks, (j + 1) * k / chunks);
            let mut dst = vec![0.0f32; m * n];
            unsafe {
                if tr {
                    gemm::gemm(n, m, r1 - r0, dst.as_mut_ptr(), n as isize, 1, false,
                        dy.as_ptr().add(r0 * n), n as isize, 1,
                        xh.as_ptr().add(r0 * 3 * c), 1, (3 * c) as isize,
                        0.0, 1.0, false, false, false, par);
                } else {
                    gemm::gemm(m, n, r1 - r0, dst.as_mut_ptr(), 1, n as isize, false,
                        xh.as_ptr().add(r0 * 3 * c), (3 * c) as isize, 1,
                        dy.as_ptr().add(r0 * n), 1, n as isize,
                        0.0, 1.0, false, false, false, par);
                }
            }
            dst
        }).collect();
        std::hint::black_box(parts);
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (m * n * k) as f64 / best / 1e9
}

fn main() {
    for (rows, c, cout) in [(135168usize, 3usize, 32usize), (34816, 32, 64), (9216, 64, 128), (2560, 128, 256)] {
        let m = 9 * c;
        let a = wgrad(m, cout, rows, c, 8, Parallelism::None, false);
        let a2 = wgrad(m, cout, rows, c, 8, Parallelism::None, true);
        let b = wgrad(m, cout, rows, c, 1, Parallelism::Rayon(2), false);
        let b2 = wgrad(m, cout, rows, c, 1, Parallelism::Rayon(2), true);
        let d = wgrad(m, cout, rows, c, 2, Parallelism::None, true);
        println!("wgrad rows={rows} m={m} n={cout}: 8 chunks {a:.0} / tr {a2:.0}, 1 call rayon {b:.0} / tr {b2:.0}, 2 chunks tr {d:.0}");
    }
}
