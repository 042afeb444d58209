"""bf16 autocast against fp32, per recurrent layer: training-step throughput.

A quick probe behind d2l_helpers.torch.choose_precision's CPU rule (bf16
only for nn.LSTM): the same step (d2l_helpers.torch._train_step, vocabulary
28, batch 32 x 35, random tokens) in fp32 and in bf16, alternating, best of
``--rounds`` timings of ``--steps`` steps each.  It measures steps only (no
data loading, validation or perplexity); ``make bench`` measures whole runs.

    python -m tools.bench_precision                 # the default configurations
    python -m tools.bench_precision --only lstm:2:256 gru:2:256 --steps 5
"""
import argparse
import time

CONFIGS = ["lstm:1:256", "lstm:2:256", "lstm:4:256", "gru:1:256", "gru:2:256",
           "rnn:1:256", "rnn:2:256"]
VOCAB, BATCH, STEPS = 28, 32, 35


def tokens_per_s(cell, layers, hidden, dtype, steps, device="cpu"):
    import torch
    from torch import nn
    from d2l_helpers import torch as d2l
    torch.manual_seed(0)
    layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](VOCAB, hidden, layers)
    net = d2l.RNNModel(layer, VOCAB).to(device)
    step = d2l._train_step(net, list(net.parameters()), 1.0, dtype, device)
    X = torch.randint(0, VOCAB, (BATCH, STEPS), device=device)
    Y = torch.randint(0, VOCAB, (BATCH, STEPS), device=device)
    state = net.begin_state(batch_size=BATCH, device=device)
    for _ in range(3):  # warm-up
        step(X, Y, state)
    start = time.perf_counter()
    for _ in range(steps):
        step(X, Y, state)
    return steps * BATCH * STEPS / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", default=CONFIGS, help="cell:layers:hidden ...")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args()
    from d2l_helpers import torch as d2l
    print(f"auto on this CPU for an LSTM: {d2l._cpu_bf16_native() and 'bf16' or 'fp32'} "
          f"(native bf16: {d2l._cpu_bf16_native()})")
    for config in a.only:
        cell, layers, hidden = config.split(":")
        best = {}
        for _ in range(a.rounds):  # alternate, so that noise hits both
            for dtype in ("fp32", "bf16"):
                r = tokens_per_s(cell, int(layers), int(hidden), dtype, a.steps)
                best[dtype] = max(best.get(dtype, 0.0), r)
        print(f"{cell} {layers}x{hidden}: fp32 {best['fp32']:,.0f}  bf16 {best['bf16']:,.0f} "
              f"tokens/s, ratio {best['bf16'] / best['fp32']:.2f}", flush=True)


if __name__ == "__main__":
    main()
