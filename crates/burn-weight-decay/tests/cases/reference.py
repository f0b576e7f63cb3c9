#!/usr/bin/env python3
"""Independent reference for the replay cases: PyTorch's SGD and Adam(W) update rules,
transcribed term by term from torch/optim/sgd.py and adam.py (`_single_tensor_*`), in float64
pure Python (no PyTorch or NumPy needed), plus the decoupled/cautious decay rules of this crate's
docs. Run `python3 reference.py` to (re)write `expected` in every `*.json` case here; the Rust
golden test compares the crate's f32 trajectory with it."""
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


def run(case):
    o, d = case["optimizer"], case["decay"]
    w = [float(x) for x in case["param"]]
    mode, lam = d["mode"], d.get("rate", 0.0)
    decays = mode != "none" and lam != 0 and (len(case["shape"]) > 1 or not d.get("exclude_rank_le_1", True))
    cautious, lr_max = d.get("cautious", False), d.get("lr_max")
    direction = sgd_direction if o["kind"] == "sgd" else adam_direction
    state, out = {}, []
    for grad, lr in zip(case["grads"], case["lr"]):
        g = [float(x) for x in grad]
        if decays and mode == "coupled":
            if cautious:
                g = [gi + lam * wi if wi * gi > 0 else gi for gi, wi in zip(g, w)]
            else:
                g = [gi + lam * wi for gi, wi in zip(g, w)]
        step = direction(g, state, o)
        u = [wi - lr * si for wi, si in zip(w, step)]
        if decays and mode == "decoupled":
            f = (lr / lr_max if lr_max else lr) * lam
            if cautious:
                u = [ui - f * wi if wi * (wi - ui) > 0 else ui for ui, wi in zip(u, w)]
            else:
                u = [ui - f * wi for ui, wi in zip(u, w)]
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
         {"mode": "decoupled", "rate": 0.1, "exclude_rank_le_1": True}, [4, 3], 10, 5),
    make("adamw_amsgrad_custom_betas", {"kind": "adam", "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6, "amsgrad": True},
         {"mode": "decoupled", "rate": 1.0}, [3, 3], 10, 6),
    make("adam_grad_scales", {"kind": "adam"}, {"mode": "coupled", "rate": 0.5}, [1, 4], 10, 7,
         lr=[0.01] * 10, grad_scale=[1000.0, 1.0, 0.01, 0.0001]),
    make("adamw_grad_scales", {"kind": "adam"}, {"mode": "decoupled", "rate": 0.5}, [1, 4], 10, 7,
         lr=[0.01] * 10, grad_scale=[1000.0, 1.0, 0.01, 0.0001]),
    make("bias_excluded", {"kind": "sgd", "momentum": 0.9}, {"mode": "decoupled", "rate": 0.5, "exclude_rank_le_1": True}, [5], 5, 8),
    make("bias_included", {"kind": "sgd", "momentum": 0.9}, {"mode": "decoupled", "rate": 0.5, "exclude_rank_le_1": False}, [5], 5, 8),
    make("none", {"kind": "adam"}, {"mode": "none", "rate": 10.0}, [2, 2], 5, 9),
    make("adamw_cautious", {"kind": "adam"}, {"mode": "decoupled", "rate": 0.5, "cautious": True}, [3, 4], 8, 10),
    make("sgd_coupled_cautious", {"kind": "sgd", "momentum": 0.5}, {"mode": "coupled", "rate": 0.5, "cautious": True}, [3, 4], 8, 11),
    make("adamw_schedule_scale", {"kind": "adam"}, {"mode": "decoupled", "rate": 0.05, "lr_max": 0.1}, [2, 2, 1, 3], 8, 12),
]

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for case in CASES:
        case["expected"] = run(case)
        with open(os.path.join(here, case["name"] + ".json"), "w") as f:
            json.dump(case, f, indent=1)
            f.write("\n")
    print(f"wrote {len(CASES)} cases")
