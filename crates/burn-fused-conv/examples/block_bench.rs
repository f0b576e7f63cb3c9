//! Forward + backward time and GFLOP/s of the seedlings CNN's four blocks, stock and fused, next
//! to the FMA peak measured in the same run:
//! `cargo run --release -p burn-fused-conv --example block_bench [batch] [side] [reps] [stock|fused|winograd]`;
//! `… [batch] [side] [reps] phases` times each phase of the fused op instead (kernels on plain
//! buffers: im2col, the three GEMMs, batch norm + ReLU + pool and its backward).

use burn_fused_conv::BlockKernel;
use burn_fused_conv::bench::time_network;

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (batch, side, reps) = (arg(1, 32), arg(2, 64), arg(3, 5));
    if side < 16 || batch == 0 {
        // Four blocks halve the side four times: each needs at least a 2×2 map to pool.
        eprintln!(
            "block_bench: side {side} and batch {batch}: the side must be at least 16 and the batch at least 1"
        );
        std::process::exit(2);
    }
    if std::env::args().nth(4).as_deref() == Some("phases") {
        burn_fused_conv::alloc::keep_freed_memory();
        let (mut cin, mut side) = (3, side);
        for cout in [32, 64, 128, 256] {
            let shape = burn_fused_conv::bench::BlockShape {
                batch,
                cin,
                cout,
                side,
                input_grad: cin != 3,
            };
            print!(
                "{}",
                burn_fused_conv::bench::time_phases(shape, reps).render()
            );
            (cin, side) = (cout, side / 2);
        }
        return;
    }
    let kernels = match std::env::args()
        .nth(4)
        .map(|name| name.parse::<BlockKernel>())
    {
        Some(Ok(kernel)) => vec![kernel],
        Some(Err(message)) => {
            eprintln!("block_bench: {message}");
            std::process::exit(2);
        }
        None => BlockKernel::ALL.to_vec(),
    };
    burn_fused_conv::alloc::keep_freed_memory();
    // The seedlings CNN's channels, a copy of its `CnnConfig` default (this crate cannot depend
    // on the example, which depends on it): examples/seedlings/tests/bench_cnn_copy.rs checks it.
    print!(
        "{}",
        time_network(&[32, 64, 128, 256], batch, side, &kernels, reps).render()
    );
}
