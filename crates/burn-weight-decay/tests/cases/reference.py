#!/usr/bin/env python3
"""Independent reference for the replay cases: PyTorch's SGD and Adam(W) update rules,
transcribed term by term from torch/optim/sgd.py and adam.py (`_single_tensor_*`), in float64
pure Python (no PyTorch or NumPy needed), plus the decoupled/cautious decay rules of this crate's
docs. Run `python3 reference.py` to (re)write `expected` in every `*.json` case here; the Rust
golden test compares the crate's f32 trajectory with it.

The decay variants, with u_t = w_t - lr_t * step_t the inner optimizer's update, d_t the
displacement being decayed (w_t toward zero, w_t - w0 toward the initial weights w0 = "param",
(1 - r / |w_t|) * w_t toward the target norm r = "target_norm" or r = "target_norm_ratio" * |w0|,
Loshchilov's Weight Norm Control, arXiv 2311.11446, eq. 3; d_t = w_t when |w_t| = 0),
lam_t = rates[t] (or rate) and f_t = s_t * lam_t:

  s_t:          "lr": lr_t      "schedule": lr_t / lr_max      "corrected": lr_t**2 / lr_max
  coupled:      g <- g + lam_t * d_t, before the optimizer's transform
                cautious: only where d_t * g > 0
  decoupled:    multiplicative  w_{t+1} = u_t - f_t * d_t
                                (PyTorch's "shrink then update": w_t - f_t * d_t - lr_t * step_t)
                proximal        w_{t+1} = u_t / (1 + f_t)            toward zero
                                w_{t+1} = (u_t + f_t * w0) / (1 + f_t)  toward w0
                cautious: the decayed value only where d_t * (w_t - u_t) > 0, else u_t
  stable:       f_t = s_t * lam_t / sqrt(mean(v_hat_t)), Adam only (AdamS, Xie et al. 2023, as
                zeke-xie/stable-weight-decay-regularization's swd_optim/adams.py): v_hat_t the
                bias-corrected second moment after this step's update (AMSGrad: its running
                maximum), the mean over the case's one tensor (the reference's mean over every
                parameter, for a model of one tensor); no decay while it is 0
"""
import glob
import json
import math
import os
import random


def sgd_direction(grad, state, o):
    """The step direction of torch.optim.SGD after (coupled) decay has been added to grad."""
    mu, damp, nesterov = o.get("momentum", 0.0), o.get("dampening", 0.0), o.get("nesterov", False)
    if mu == 0:
        return grad
    buf = state.get("buf")
    if buf is None:
        buf = list(grad)
    else:
        buf = [mu * b + (1 - damp) * g for b, g in zip(buf, grad)]
    state["buf"] = buf
    return [g + mu * b for g, b in zip(grad, buf)] if nesterov else buf


def adam_direction(grad, state, o):
    """lr-free Adam step: (m / bc1) / (sqrt(v) / sqrt(bc2) + eps), as torch.optim.Adam."""
    b1, b2 = o.get("beta1", 0.9), o.get("beta2", 0.999)
    eps, ams = o.get("epsilon", 1e-8), o.get("amsgrad", False)
    n = len(grad)
    m = state.get("m", [0.0] * n)
    v = state.get("v", [0.0] * n)
    t = state.get("t", 0) + 1
    m = [mi + (g - mi) * (1 - b1) for mi, g in zip(m, grad)]  # exp_avg.lerp_(grad, 1 - beta1)
    v = [vi * b2 + (1 - b2) * g * g for vi, g in zip(v, grad)]
    state.update(m=m, v=v, t=t)
    bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
    if ams:
        vmax = [max(a, b) for a, b in zip(state.get("vmax", [0.0] * n), v)]
        state["vmax"] = vmax
        v = vmax
    return [mi / bc1 / (math.sqrt(vi) / math.sqrt(bc2) + eps) for mi, vi in zip(m, v)]


def decay_scale(d, lr):
    """s_t of decoupled decay. Without "scale", "lr_max" alone means "schedule"."""
    lr_max = d.get("lr_max")
    scale = d.get("scale", "schedule" if lr_max else "lr")
    if scale == "lr":
        return lr
    if scale == "schedule":
        return lr / lr_max
    if scale == "corrected":
        return lr * lr / lr_max
    raise ValueError(f"unknown scale {scale}")


def decay_rank_le_1(d):
    """Whether parameters of rank <= 1 decay: "decay_rank_le_1", else the older field
    "exclude_rank_le_1" inverted, else no. Both given must agree."""
    decay, exclude = d.get("decay_rank_le_1"), d.get("exclude_rank_le_1")
    if decay is not None and exclude is not None and decay == exclude:
        raise ValueError(f"decay_rank_le_1 {decay} contradicts exclude_rank_le_1 {exclude}")
    if decay is not None:
        return decay
    return exclude is not None and not exclude


def run(case):
    o, d = case["optimizer"], case["decay"]
    w = [float(x) for x in case["param"]]
    w0 = list(w)
    steps = len(case["grads"])
    mode = d["mode"]
    lams = [float(x) for x in d["rates"]] if "rates" in d else [d.get("rate", 0.0)] * steps
    decays = mode != "none" and any(lam != 0 for lam in lams) and (
        len(case["shape"]) > 1 or decay_rank_le_1(d))
    cautious = d.get("cautious", False)
    toward = d.get("toward", "zero")
    initial = toward == "initial"
    norm0 = math.sqrt(sum(x * x for x in w))
    target = {"norm": d.get("target_norm"), "norm_ratio": d.get("target_norm_ratio", 0.0) * norm0}.get(toward, 0.0)
    proximal = d.get("form", "multiplicative") == "proximal"
    direction = sgd_direction if o["kind"] == "sgd" else adam_direction
    stable = d.get("stable", False)
    state, out = {}, []
    for grad, lr, lam in zip(case["grads"], case["lr"], lams):
        g = [float(x) for x in grad]
        disp = [wi - ri for wi, ri in zip(w, w0)] if initial else list(w)
        norm = math.sqrt(sum(x * x for x in w))
        if target and norm > 0:
            disp = [(1 - target / norm) * wi for wi in w]
        if decays and mode == "coupled":
            if cautious:
                g = [gi + lam * di if di * gi > 0 else gi for gi, di in zip(g, disp)]
            else:
                g = [gi + lam * di for gi, di in zip(g, disp)]
        step = direction(g, state, o)
        u = [wi - lr * si for wi, si in zip(w, step)]
        if decays and mode == "decoupled":
            f = decay_scale(d, lr) * lam
            if stable:
                bc2 = 1 - o.get("beta2", 0.999) ** state["t"]
                v = state["vmax"] if o.get("amsgrad", False) else state["v"]
                mean_v_hat = sum(vi / bc2 for vi in v) / len(v)
                f = f / math.sqrt(mean_v_hat) if mean_v_hat > 0 else 0.0
            if proximal and initial:
                decayed = [(ui + f * ri) / (1 + f) for ui, ri in zip(u, w0)]
            elif proximal:
                decayed = [ui / (1 + f) for ui in u]
            else:
                decayed = [ui - f * di for ui, di in zip(u, disp)]
            if cautious:
                u = [dv if di * (wi - ui) > 0 else ui for dv, ui, wi, di in zip(decayed, u, w, disp)]
            else:
                u = decayed
        w = u
        out.append(w)
    return out


def make(name, optimizer, decay, shape, steps, seed, lr=None, grad_scale=None):
    rng = random.Random(seed)
    n = 1
    for s in shape:
        n *= s
    scale = grad_scale or [1.0] * n
    case = {
        "name": name,
        "optimizer": optimizer,
        "decay": decay,
        "shape": shape,
        "param": [round(rng.uniform(-2, 2), 4) for _ in range(n)],
        "grads": [[round(rng.gauss(0, 1), 4) * scale[i] for i in range(n)] for _ in range(steps)],
        "lr": lr or [round(0.1 * (1 - t / (2 * steps)), 6) for t in range(steps)],
    }
    return case


CASES = [
    make("sgd_coupled", {"kind": "sgd"}, {"mode": "coupled", "rate": 0.1}, [3, 2], 6, 1),
    make("sgd_momentum_decoupled", {"kind": "sgd", "momentum": 0.9, "dampening": 0.0, "nesterov": False},
         {"mode": "decoupled", "rate": 0.5}, [2, 3], 8, 2),
    make("sgd_nesterov_dampening_coupled", {"kind": "sgd", "momentum": 0.8, "dampening": 0.2, "nesterov": True},
         {"mode": "coupled", "rate": 0.3}, [2, 2, 2], 8, 3),
    make("adam_coupled", {"kind": "adam"}, {"mode": "coupled", "rate": 0.1}, [4, 3], 10, 4, lr=[0.01] * 10),
    make("adamw", {"kind": "adam", "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "amsgrad": False},
         {"mode": "decoupled", "rate": 0.1, "decay_rank_le_1": False}, [4, 3], 10, 5),
    make("adamw_amsgrad_custom_betas", {"kind": "adam", "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6, "amsgrad": True},
         {"mode": "decoupled", "rate": 1.0}, [3, 3], 10, 6),
    make("adam_grad_scales", {"kind": "adam"}, {"mode": "coupled", "rate": 0.5}, [1, 4], 10, 7,
         lr=[0.01] * 10, grad_scale=[1000.0, 1.0, 0.01, 0.0001]),
    make("adamw_grad_scales", {"kind": "adam"}, {"mode": "decoupled", "rate": 0.5}, [1, 4], 10, 7,
         lr=[0.01] * 10, grad_scale=[1000.0, 1.0, 0.01, 0.0001]),
    # bias_excluded and adamw_l2sp_bias_excluded keep the older name, exclude_rank_le_1 (inverted),
    # so that the replay's reading of it stays tested.
    make("bias_excluded", {"kind": "sgd", "momentum": 0.9}, {"mode": "decoupled", "rate": 0.5, "exclude_rank_le_1": True}, [5], 5, 8),
    make("bias_included", {"kind": "sgd", "momentum": 0.9}, {"mode": "decoupled", "rate": 0.5, "decay_rank_le_1": True}, [5], 5, 8),
    make("none", {"kind": "adam"}, {"mode": "none", "rate": 10.0}, [2, 2], 5, 9),
    make("adamw_cautious", {"kind": "adam"}, {"mode": "decoupled", "rate": 0.5, "cautious": True}, [3, 4], 8, 10),
    make("sgd_coupled_cautious", {"kind": "sgd", "momentum": 0.5}, {"mode": "coupled", "rate": 0.5, "cautious": True}, [3, 4], 8, 11),
    make("adamw_schedule_scale", {"kind": "adam"}, {"mode": "decoupled", "rate": 0.05, "lr_max": 0.1}, [2, 2, 1, 3], 8, 12),
    # The decay variants: scale, per-step rates, toward the initial weights, proximal form.
    make("adamw_corrected", {"kind": "adam"}, {"mode": "decoupled", "rate": 5.0, "scale": "corrected", "lr_max": 0.02},
         [4, 3], 8, 13, lr=[0.005, 0.01, 0.02, 0.02, 0.015, 0.01, 0.005, 0.001]),
    make("sgd_momentum_schedule_scale", {"kind": "sgd", "momentum": 0.9},
         {"mode": "decoupled", "rate": 0.2, "scale": "schedule", "lr_max": 0.1}, [3, 2], 6, 14),
    make("adamw_rate_schedule", {"kind": "adam"},
         {"mode": "decoupled", "rate": 0.5, "scale": "lr", "rates": [0.0, 0.25, 0.5, 1.0, 1.0, 0.8, 0.5, 0.2, 0.05, 0.0]},
         [3, 4], 10, 15),
    make("sgd_coupled_rate_schedule", {"kind": "sgd", "momentum": 0.9, "nesterov": True},
         {"mode": "coupled", "rate": 0.1, "rates": [0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.1]}, [2, 3], 7, 16),
    make("adamw_l2sp", {"kind": "adam"}, {"mode": "decoupled", "rate": 2.0, "toward": "initial"}, [3, 4], 8, 17),
    make("adam_coupled_l2sp", {"kind": "adam"}, {"mode": "coupled", "rate": 5.0, "toward": "initial"}, [4, 3], 10, 18,
         lr=[0.05, 0.05, 0.04, 0.04, 0.03, 0.03, 0.02, 0.02, 0.01, 0.01]),
    make("sgd_momentum_l2sp", {"kind": "sgd", "momentum": 0.9},
         {"mode": "coupled", "rate": 0.5, "toward": "initial"}, [3, 3], 8, 19),
    make("sgd_l2sp_bias_included", {"kind": "sgd", "momentum": 0.9},
         {"mode": "decoupled", "rate": 2.0, "toward": "initial", "decay_rank_le_1": True}, [5], 6, 20),
    make("adamw_l2sp_bias_excluded", {"kind": "adam"},
         {"mode": "decoupled", "rate": 2.0, "toward": "initial", "exclude_rank_le_1": True}, [5], 6, 21),
    # Steps 3 and 5 have f_t = s_t * lam_t = 2 and 1.5: the multiplicative form would flip signs there.
    make("adamw_proximal", {"kind": "adam"},
         {"mode": "decoupled", "rate": 1.0, "form": "proximal", "rates": [1.0, 1.0, 100.0, 1.0, 150.0, 2.0, 2.0, 2.0]},
         [4, 3], 8, 22, lr=[0.01, 0.02, 0.02, 0.015, 0.01, 0.005, 0.005, 0.002]),
    make("sgd_proximal_l2sp", {"kind": "sgd", "momentum": 0.9},
         {"mode": "decoupled", "rate": 5.0, "form": "proximal", "toward": "initial"}, [3, 4], 8, 23),
    make("adamw_cautious_l2sp", {"kind": "adam"},
         {"mode": "decoupled", "rate": 2.0, "cautious": True, "toward": "initial"}, [3, 4], 8, 24),
    make("adamw_cautious_proximal", {"kind": "adam"},
         {"mode": "decoupled", "rate": 1.0, "cautious": True, "form": "proximal"}, [3, 4], 8, 25),
    make("sgd_cautious_proximal_l2sp", {"kind": "sgd", "momentum": 0.5},
         {"mode": "decoupled", "rate": 5.0, "cautious": True, "form": "proximal", "toward": "initial"}, [3, 3], 8, 26),
    make("sgd_coupled_cautious_l2sp", {"kind": "sgd", "momentum": 0.5},
         {"mode": "coupled", "rate": 1.0, "cautious": True, "toward": "initial"}, [3, 4], 8, 27),
    # Stable weight decay (AdamS): gradients of scale 1, then of scale 0.01 (where AdamW's decay
    # would be the same, AdamS's is 100x as strong), then AMSGrad with other betas.
    make("adams_stable", {"kind": "adam"}, {"mode": "decoupled", "rate": 0.5, "stable": True}, [4, 3], 10, 28),
    make("adams_stable_small_grads", {"kind": "adam"}, {"mode": "decoupled", "rate": 0.05, "stable": True},
         [4, 3], 10, 29, lr=[0.01] * 10, grad_scale=[0.01] * 12),
    make("adams_stable_amsgrad", {"kind": "adam", "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6, "amsgrad": True},
         {"mode": "decoupled", "rate": 0.2, "stable": True, "decay_rank_le_1": True}, [6], 10, 30),
    # Toward a target norm (AdamWN): from above (|w0| about 4 here), from below (growing), with
    # the ratio to |w0|, coupled, cautious below the target (the displacement points inward),
    # and with stable decay.
    make("adamw_target_norm", {"kind": "adam"},
         {"mode": "decoupled", "rate": 2.0, "toward": "norm", "target_norm": 2.0}, [3, 4], 8, 31),
    make("sgd_target_norm_bias_included", {"kind": "sgd"},
         {"mode": "decoupled", "rate": 2.0, "toward": "norm", "target_norm": 4.0, "decay_rank_le_1": True},
         [5], 6, 32),
    make("sgd_momentum_target_norm_ratio", {"kind": "sgd", "momentum": 0.9},
         {"mode": "decoupled", "rate": 3.0, "toward": "norm_ratio", "target_norm_ratio": 0.5}, [3, 3], 8, 33),
    make("sgd_coupled_target_norm_ratio", {"kind": "sgd", "momentum": 0.9},
         {"mode": "coupled", "rate": 0.5, "toward": "norm_ratio", "target_norm_ratio": 1.5}, [3, 3], 8, 34),
    make("adam_coupled_target_norm", {"kind": "adam"},
         {"mode": "coupled", "rate": 5.0, "toward": "norm", "target_norm": 1.0}, [4, 3], 10, 35, lr=[0.01] * 10),
    make("adamw_cautious_target_norm", {"kind": "adam"},
         {"mode": "decoupled", "rate": 2.0, "cautious": True, "toward": "norm", "target_norm": 8.0}, [3, 4], 8, 36),
    make("sgd_coupled_cautious_target_norm", {"kind": "sgd", "momentum": 0.5},
         {"mode": "coupled", "rate": 1.0, "cautious": True, "toward": "norm", "target_norm": 8.0}, [3, 4], 8, 37),
    make("adams_stable_target_norm_ratio", {"kind": "adam"},
         {"mode": "decoupled", "rate": 0.5, "stable": True, "toward": "norm_ratio", "target_norm_ratio": 0.5},
         [4, 3], 10, 38),
]

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for case in CASES:
        case["expected"] = run(case)
        with open(os.path.join(here, case["name"] + ".json"), "w") as f:
            json.dump(case, f, indent=1)
            f.write("\n")
    print(f"wrote {len(CASES)} cases")
