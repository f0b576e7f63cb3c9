"""PyTorch reference for `seedlings bench`: the same CNN (4 x [conv 3x3 no bias -> batch norm ->
ReLU -> 2x2 max-pool], 32/64/128/256 channels, global average pooling, linear head), the same
batch (32 at 64x64, 12 classes) and optimizer (AdamW, lr 1e-3, weight decay 0.1, betas 0.9/0.999,
eps 1e-8), timed per training step (forward, cross-entropy, backward, optimizer step) on random
images, in NCHW and in channels_last, on 2 threads by default.

    python3 examples/seedlings/bench/torch_reference.py [--threads 2] [--steps 15] [--warmup 3]
        [--batch-size 32] [--image-size 64] [--channels 32,64,128,256] [--classes 12] [--json]

`seedlings bench --torch-python PYTHON` passes --channels and --classes from the network it
times; the defaults below are a copy of seedlings' `CnnConfig` for running this script alone,
checked against it by examples/seedlings/tests/bench_cnn_copy.rs.

Prints images/s per layout; run it next to `seedlings bench` (alternating, on a quiet machine)
and divide. Without torch installed it says so and exits 0:
`python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch numpy` gives one.
"""
import argparse
import json
import statistics
import sys
import time

# Defaults of --channels and --classes: seedlings' CnnConfig channels and its 12 species.
CHANNELS = [32, 64, 128, 256]
CLASSES = 12


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--channels", default=",".join(map(str, CHANNELS)),
                   help="output channels of each conv block, comma-separated")
    p.add_argument("--classes", type=int, default=CLASSES)
    p.add_argument("--layouts", default="nchw,channels_last")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    try:
        import torch
        import torch.nn as nn
    except ImportError:
        print("torch_reference: torch is not importable here; skipped "
              "(python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch numpy)")
        return 0
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    channels = [int(c) for c in args.channels.split(",")]

    def network():
        layers, cin = [], 3
        for cout in channels:
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU(), nn.MaxPool2d(2, 2)]
            cin = cout
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, args.classes)]
        return nn.Sequential(*layers)

    results = {}
    for layout in args.layouts.split(","):
        model = network()
        x = torch.randn(args.batch_size, 3, args.image_size, args.image_size)
        y = torch.randint(0, args.classes, (args.batch_size,))
        if layout == "channels_last":
            model = model.to(memory_format=torch.channels_last)
            x = x.to(memory_format=torch.channels_last)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1,
                                betas=(0.9, 0.999), eps=1e-8)
        loss_fn = nn.CrossEntropyLoss()
        times = []
        for step in range(args.warmup + args.steps):
            t = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            loss.item()
            if step >= args.warmup:
                times.append(time.perf_counter() - t)
        results[layout] = args.batch_size / statistics.median(times)
    if args.json:
        print(json.dumps({"torch": torch.__version__, "threads": args.threads,
                          "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                          "images_per_second": results}))
    else:
        print(f"PyTorch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}), "
              f"{args.threads} threads, batch {args.batch_size}, "
              f"{args.image_size}x{args.image_size}, median of {args.steps} steps after {args.warmup}")
        for layout, ips in results.items():
            print(f"  {layout:<14} {ips:8.1f} images/s")
        print(f"  best           {max(results.values()):8.1f} images/s ({max(results, key=results.get)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
