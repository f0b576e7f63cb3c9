//! Forward + backward time and GFLOP/s of the seedlings CNN's four blocks, stock and fused, next
//! to the FMA peak measured in the same run:
//! `cargo run --release -p burn-fused-conv --example block_bench [batch] [side] [reps] [stock|fused]`.

use burn_fused_conv::BlockKernel;
use burn_fused_conv::bench::{BlockShape, fma_peak_gflops, time_block};

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (batch, side, reps) = (arg(1, 32), arg(2, 64), arg(3, 5));
    let kernels = match std::env::args().nth(4).as_deref() {
        Some("fused") => vec![BlockKernel::Fused],
        Some("stock") => vec![BlockKernel::Stock],
        _ => vec![BlockKernel::Stock, BlockKernel::Fused],
    };
    burn_fused_conv::alloc::keep_freed_memory();
    let peak = fma_peak_gflops(0.5);
    println!(
        "FMA peak of {} threads: {peak:.0} GFLOP/s",
        rayon::current_num_threads()
    );
    println!(
        "{:<16} {:>7} {:>9} {:>9} {:>8} {:>7}",
        "block", "kernel", "fwd ms", "bwd ms", "GFLOP/s", "% peak"
    );
    let mut cin = 3;
    let mut side = side;
    for cout in [32, 64, 128, 256] {
        let shape = BlockShape {
            batch,
            cin,
            cout,
            side,
            input_grad: cin != 3,
        };
        for &kernel in &kernels {
            let t = time_block(shape, kernel, reps);
            println!(
                "{:<16} {:>7} {:>9.2} {:>9.2} {:>8.1} {:>6.1}%",
                format!("{cin}→{cout} @{side}²"),
                format!("{kernel:?}").to_lowercase(),
                1e3 * t.forward_seconds,
                1e3 * t.backward_seconds,
                t.gflops,
                100.0 * t.gflops / peak
            );
        }
        cin = cout;
        side /= 2;
    }
}
