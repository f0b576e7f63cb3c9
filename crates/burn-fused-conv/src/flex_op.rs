//! The fused block on flex tensors: unpack Burn's primitives into the kernels' buffers, run
//! [`crate::kernel`], and wrap the results back, channels-last, as ordinary `[N, C, H, W]` views.
//!
//! Forward (training): the input padded (channels-last, a zero border), one product, the batch
//! statistics, then normalize, ReLU and pool, noting each window's winner. What the backward
//! pass needs is kept: the padded input, the conv output, the winners, the statistics and the
//! weight.
//!
//! Backward: ReLU/pool/batch-norm backward in two passes, writing the conv output's gradient
//! padded; the weight gradient (returned contiguous); and the input gradient, only when the
//! input needs one, as the forward product on that padded gradient and the flipped, transposed
//! weight.

use std::sync::Arc;

use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{Shape, TensorData};

use crate::backend::OpOptions;
use crate::kernel::conv::{
    Products, conv_pixels_by, conv_pixels_stats_by, repack_forward, repack_transposed,
    weight_grad_by, weight_grad_computed,
};
use crate::kernel::geometry::Geometry;
use crate::kernel::norm_pool::{self, Affine, Winners};
use crate::kernel::strided::{PixelRows, View4, pad};

/// Which statistics normalize: the batch's own (training) or given ones (running statistics).
pub(crate) enum Stats<'a> {
    Batch,
    Given {
        mean: &'a FlexTensor,
        var: &'a FlexTensor,
    },
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug)]
pub(crate) struct Saved {
    g: Geometry,
    /// The input, padded: the weight gradient's left operand.
    xp: Vec<f32>,
    y: Vec<f32>,
    winners: Winners,
    affine: Affine,
    weight: Vec<f32>,
    /// How the forward product ran; the input gradient's runs the same way.
    products: Products,
}

/// What the forward pass returns.
pub(crate) struct Forward {
    /// The pooled output `[N, C_out, H/2, W/2]`, channels-last in memory.
    pub output: FlexTensor,
    /// The batch mean and biased variance `[C_out]` (training only).
    pub stats: Option<(FlexTensor, FlexTensor)>,
    /// The backward pass's state (when asked for).
    pub saved: Option<Arc<Saved>>,
}

/// The block's forward pass.
pub(crate) fn forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    stats: Stats<'_>,
    options: OpOptions,
    save: bool,
) -> Forward {
    let OpOptions { epsilon, products } = options;
    let xv = view4(x);
    let [n, cin, h, w] = xv.dims;
    let wdims = weight.layout().shape().to_vec();
    assert!(
        wdims.len() == 4 && wdims[1] == cin && wdims[2] == 3 && wdims[3] == 3,
        "fused conv block: weight {wdims:?} is not [C_out, {cin}, 3, 3]"
    );
    let g = Geometry {
        n,
        cin,
        cout: wdims[0],
        h,
        w,
    };
    let weight = values(weight);
    let xp = pad(&xv, &g);
    let wr = repack_forward(&weight, cin, g.cout);
    let (y, mean, var, batch) = match stats {
        Stats::Batch => {
            // The statistics from each group of output rows while the product has it in cache.
            let (y, mean, var) = conv_pixels_stats_by(&xp, cin, &wr, g.cout, &g, products);
            (y, mean, var, true)
        }
        Stats::Given { mean, var } => {
            let f = |t: &FlexTensor| values(t).iter().map(|&v| v as f64).collect::<Vec<_>>();
            (
                conv_pixels_by(&xp, cin, &wr, g.cout, &g, products),
                f(mean),
                f(var),
                false,
            )
        }
    };
    let affine = Affine::new(&mean, &var, epsilon, values(gamma), values(beta));
    let (pooled, winners) = norm_pool::forward(&y, &g, &affine, save);
    let (hp, wp, c) = (g.hp(), g.wp(), g.cout);
    let output = channels_last(pooled, [n, c, hp, wp], wp);
    let stats = batch.then(|| {
        let f = |v: &[f64]| tensor(v.iter().map(|&x| x as f32).collect(), &[c]);
        (f(&mean), f(&var))
    });
    let saved = save.then(|| {
        Arc::new(Saved {
            g,
            xp,
            y,
            winners,
            affine,
            weight,
            products,
        })
    });
    Forward {
        output,
        stats,
        saved,
    }
}

/// The gradients of the block's input (when `need_x`), weight, γ and β from its output's.
pub(crate) struct Grads {
    pub x: Option<FlexTensor>,
    pub weight: FlexTensor,
    pub gamma: FlexTensor,
    pub beta: FlexTensor,
}

/// The block's backward pass (batch statistics: the forward pass was [`Stats::Batch`]).
pub(crate) fn backward(saved: &Saved, output_grad: &FlexTensor, need_x: bool) -> Grads {
    let g = &saved.g;
    // The output gradient in place, channels-last (the next block's input gradient) or NCHW
    // (Burn's own ops'); a channels-last copy of a broadcast or flipped view.
    let view = view4(output_grad);
    let copy;
    let dp = match view.pixel_rows() {
        Some(rows) => rows,
        None => {
            copy = view.to_nhwc();
            PixelRows::contiguous(&copy, [g.hp(), g.wp(), g.cout])
        }
    };
    let routed = norm_pool::route(g, &saved.affine, &saved.winners, dp);
    let (dw, x) = if need_x {
        let dy = routed.padded_grad(&saved.y, g, &saved.winners);
        let dw = weight_grad_by(&saved.xp, &dy, g, saved.products);
        // dy is padded like the input: the transposed convolution reads it in place.
        let wt = repack_transposed(&saved.weight, g.cin, g.cout);
        let dx = conv_pixels_by(&dy, g.cout, &wt, g.cin, g, saved.products);
        (dw, Some(channels_last(dx, [g.n, g.cin, g.h, g.w], g.wp2())))
    } else {
        // Only the weight gradient reads ∂y: each row is computed where the product uses it
        // (the same values, the same sums), and ∂y is never stored whole.
        let fill = |segment: usize, cols: (usize, usize), out: &mut [f32]| {
            routed.grad_rows(&saved.y, g, &saved.winners, segment, cols, out)
        };
        (weight_grad_computed(&saved.xp, &fill, g), None)
    };
    Grads {
        x,
        weight: tensor(dw, &[g.cout, g.cin, 3, 3]),
        gamma: tensor(routed.dgamma, &[g.cout]),
        beta: tensor(routed.dbeta, &[g.cout]),
    }
}

/// A rank-4 f32 flex tensor as memory.
fn view4(t: &FlexTensor) -> View4<'_> {
    let layout = t.layout();
    let dims = layout.shape().to_vec();
    assert_eq!(
        dims.len(),
        4,
        "fused conv block: expected [N, C, H, W], got {dims:?}"
    );
    let s = layout.strides();
    View4 {
        data: t.storage::<f32>(),
        dims: [dims[0], dims[1], dims[2], dims[3]],
        strides: [s[0], s[1], s[2], s[3]],
        offset: layout.start_offset(),
    }
}

/// The values of a float tensor in row-major order.
fn values(t: &FlexTensor) -> Vec<f32> {
    let t = t.to_contiguous();
    let (start, end) = t
        .layout()
        .contiguous_offsets()
        .expect("to_contiguous gives a contiguous layout");
    t.storage::<f32>()[start..end].to_vec()
}

/// A contiguous tensor of `shape`.
fn tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}

/// `[N, C, H, W]` over channels-last memory whose image rows are `row_len ≥ W` pixels apart
/// (`W + 2` for the GEMM-row layout, whose scratch columns are then skipped).
fn channels_last(values: Vec<f32>, [n, c, h, w]: [usize; 4], row_len: usize) -> FlexTensor {
    let len = values.len();
    let strides = vec![
        (h * row_len * c) as isize,
        1,
        (row_len * c) as isize,
        c as isize,
    ];
    FlexTensor::from_data(TensorData::new(values, vec![len])).with_layout(Layout::new(
        Shape::from(vec![n, c, h, w]),
        strides,
        0,
    ))
}
