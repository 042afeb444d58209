import time, torch
from torch import nn
from d2l_helpers import torch as d2l
torch.manual_seed(0)
V=28
def bench(cell, L, h, dtype, n=20):
    layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](V, h, L)
    net = d2l.RNNModel(layer, V)
    params = [p for p in net.parameters()]
    step = d2l._train_step(net, params, 1.0, dtype, "cpu")
    X = torch.randint(0, V, (32, 35)); Y = torch.randint(0, V, (32, 35))
    st = net.begin_state(batch_size=32, device="cpu")
    for _ in range(3): step(X, Y, st)
    t = time.perf_counter()
    for _ in range(n): step(X, Y, st)
    return n*32*35/(time.perf_counter()-t)
for cell, L, h in [("lstm",1,256),("lstm",2,256),("lstm",4,256),("gru",1,256),("gru",2,256),("rnn",1,256),("rnn",2,256)]:
    r = {}
    for rep in range(2):
        for d in ("fp32","bf16"):
            r.setdefault(d, []).append(bench(cell, L, h, d))
    f, b = max(r["fp32"]), max(r["bf16"])
    print(f"{cell} {L}x{h}: fp32 {f:,.0f}  bf16 {b:,.0f}  ratio {b/f:.2f}", flush=True)
