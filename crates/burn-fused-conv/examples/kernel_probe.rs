use burn_fused_conv::kernel::{conv, geometry::Geometry, norm_pool, strided};
use std::time::Instant;

fn t<R>(name: &str, f: impl Fn() -> R) -> R {
    let mut best = f64::MAX;
    let mut r = f();
    for _ in 0..5 {
        let s = Instant::now();
        r = f();
        best = best.min(s.elapsed().as_secs_f64());
    }
    println!("{name:>12} {:7.2} ms", best * 1e3);
    r
}

fn main() {
    burn_fused_conv::alloc::keep_freed_memory();
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let (cin, cout, side) = (args[0], args[1], args[2]);
    let g = Geometry { n: 32, cin, cout, h: side, w: side };
    let x: Vec<f32> = (0..32 * cin * side * side).map(|i| (i % 7) as f32 - 3.0).collect();
    // channels-last input
    let view = strided::View4 { data: &x, dims: [32, cin, side, side], strides: [(cin * side * side) as isize, 1, (side * cin) as isize, cin as isize], offset: 0 };
    let xh = t("im2col", || strided::row_im2col(&view, &g));
    let w: Vec<f32> = (0..cout * cin * 9).map(|i| (i % 5) as f32 * 0.1).collect();
    let wr = conv::repack_forward(&w, cin, cout);
    let y = t("conv", || conv::conv_rows(&xh, cin, &wr, cout, g.rows()));
    let (m, v) = t("stats", || norm_pool::batch_stats(&y, &g));
    let a = norm_pool::Affine::new(&m, &v, 1e-5, vec![1.0; cout], vec![0.1; cout]);
    let mut arg = vec![0u8; 32 * g.hp() * g.wp() * cout];
    let _ = t("pool", || { let mut a2 = arg.clone(); norm_pool::forward(&y, &g, &a, Some(&mut a2)) });
    norm_pool::forward(&y, &g, &a, Some(&mut arg));
    let dp = vec![0.5f32; 32 * g.hp() * g.wp() * cout];
    let (dy, _, _) = t("bn bwd", || norm_pool::backward(&y, &g, &a, &arg, &dp));
    let _ = t("wgrad", || conv::weight_grad(&xh, &dy, &g));
    let dyh = t("dy im2col", || strided::row_im2col_rows(&dy, cout, &g));
    let wt = conv::repack_transposed(&w, cin, cout);
    let _ = t("dx conv", || conv::conv_rows(&dyh, cout, &wt, cin, g.rows()));
}
