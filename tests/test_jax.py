"""The JAX tab (d2l_helpers/jax.py) against the equations and against PyTorch.

d2l 0.17.6 has no JAX module, so there is no parity test with the reference.
Instead: (a) the hand-written stacking of flax cells against notebook 01's
equations, computed in NumPy from the model's own weights; (b) a few training
steps of the JAX model and of the PyTorch model (d2l_helpers.torch) started
from the same weights: the same losses and the same weights after clipping
and SGD.  Skipped with the reason where JAX is not installed (Python 3.11).
"""
import numpy as np
import pytest

from d2l_helpers import frameworks

if not frameworks.available("jax"):
    pytest.skip(f"the jax tab is not available here: {frameworks.TABS['jax'].install_hint}",
                allow_module_level=True)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402

from d2l_helpers import jax as d2l  # noqa: E402

n, d, h, T, V = 3, 5, 4, 6, 7   # examples, inputs, hidden units, time steps, vocabulary


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def weights(cell):
    """(W_x, W_h, b) of one flax cell as NumPy arrays: W_x (d_l, g*h), W_h (h, g*h)."""
    if isinstance(cell, nnx.OptimizedLSTMCell):
        return (np.asarray(cell.dense_i.kernel[...]), np.asarray(cell.dense_h.kernel[...]),
                np.asarray(cell.dense_h.bias[...]))
    return (np.asarray(cell.dense_i.kernel[...]), np.asarray(cell.dense_h.kernel[...]),
            np.asarray(cell.dense_i.bias[...]))


def step_by_hand(kind, W_x, W_h, b, X, H, C=None):
    """One time step of one layer: notebook 01's equations (GRU and LSTM: the
    book's 9.1/9.2, with flax's biases)."""
    if kind == "rnn":
        return np.tanh(X @ W_x + H @ W_h + b), None
    if kind == "gru":
        xr, xz, xn = np.split(X @ W_x + b, 3, axis=-1)
        hr, hz, hn = np.split(H @ W_h, 3, axis=-1)
        R, Z = sigmoid(xr + hr), sigmoid(xz + hz)
        H_tilde = np.tanh(xn + R * hn)  # flax: no bias inside the reset gate's product
        return Z * H + (1 - Z) * H_tilde, None
    i, f, g, o = np.split(X @ W_x + H @ W_h + b, 4, axis=-1)
    C = sigmoid(f) * C + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(C), C


def deep_by_hand(kind, layer, X, H0, C0=None):
    """Outer loop over time, inner loop up through depth: layer l reads
    H_t^(l-1) (layer 1 reads X_t).  Returns Y (T, n, h), H_T (L, n, h), C_T."""
    params = [weights(cell) for cell in layer.cells]
    H = [H0[l] for l in range(len(params))]
    C = [None if C0 is None else C0[l] for l in range(len(params))]
    Y = []
    for t in range(X.shape[0]):
        below = X[t]
        for l, (W_x, W_h, b) in enumerate(params):
            H[l], C[l] = step_by_hand(kind, W_x, W_h, b, below, H[l], C[l])
            below = H[l]
        Y.append(below)
    return np.stack(Y), np.stack(H), None if C0 is None else np.stack(C)


@pytest.mark.parametrize("num_layers,num_inputs", [(2, d), (3, d), (3, h)])
@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_stacked_layers_follow_the_equations(kind, num_layers, num_inputs):
    """Inputs with d != h, and d == h (where feeding the raw input to every
    layer, d2l-en's JAX bug, would run without a shape error)."""
    layer = d2l.CELLS[kind](num_inputs, h, num_layers, rngs=nnx.Rngs(1))
    for p in d2l.BACKEND.params(layer):  # non-zero biases, so that they are checked too
        p[...] = p[...] + 0.3 * jax.random.normal(d2l.next_key(), p[...].shape)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(T, n, num_inputs)).astype(np.float32)
    H0 = rng.normal(size=(num_layers, n, h)).astype(np.float32)
    C0 = rng.normal(size=(num_layers, n, h)).astype(np.float32) if kind == "lstm" else None
    state = (H0, C0) if kind == "lstm" else H0
    Y, new_state = layer(jnp.asarray(X), jax.tree.map(jnp.asarray, state))
    Y_hand, H_hand, C_hand = deep_by_hand(kind, layer, X, H0, C0)
    H_T = new_state[0] if kind == "lstm" else new_state
    assert Y.shape == (T, n, h) and H_T.shape == (num_layers, n, h)
    np.testing.assert_allclose(Y, Y_hand, rtol=1e-5, atol=1e-5)   # top layer, every step
    np.testing.assert_allclose(H_T, H_hand, rtol=1e-5, atol=1e-5)  # every layer, last step
    if kind == "lstm":
        np.testing.assert_allclose(new_state[1], C_hand, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(Y[-1], H_T[-1])


@pytest.mark.parametrize("kind,gates", [("rnn", 1), ("gru", 3), ("lstm", 4)])
def test_parameter_count_has_one_bias_per_gate_block(kind, gates):
    net = d2l.make_model(kind, 2, h, V)
    layers = gates * h * (V + h) + gates * h + gates * h * (h + h) + gates * h
    assert d2l.num_params(net) == layers + h * V + V


def test_model_shapes_and_begin_state():
    net = d2l.make_model("lstm", 2, h, V)
    X = jnp.zeros((n, T), dtype=jnp.int32)
    out, (H, C) = net(X, net.begin_state(batch_size=n))
    assert out.shape == (T * n, V) and H.shape == C.shape == (2, n, h)
    out, H = d2l.make_model("gru", 2, h, V)(X, jnp.zeros((2, n, h)))
    assert H.shape == (2, n, h)


def test_normal_init_and_dropout_only_while_training():
    net = d2l.make_model("lstm", 2, h, V, init="normal", dropout=0.5)
    for path, v in nnx.iter_graph(net):
        if isinstance(v, nnx.Param):
            w = np.asarray(v[...])
            assert (w == 0).all() if path[-1] == "bias" else 0.005 < w.std() < 0.02
    X, state = jnp.ones((n, T), dtype=jnp.int32), net.begin_state(batch_size=n)
    a, _ = net(X, state)
    b, _ = net(X, state)
    np.testing.assert_array_equal(a, b)  # evaluation: no dropout
    c, _ = net(X, state, train=True)
    assert not np.allclose(a, c)


def test_grad_clipping_and_sgd_are_the_optax_step():
    """The book's two functions, step by step, against the fused optax chain."""
    grads = {"a": jnp.array([3.0, 4.0]), "b": jnp.array([[12.0]])}  # norm 13
    params = {"a": jnp.array([1.0, 1.0]), "b": jnp.array([[1.0]])}
    clipped = d2l.grad_clipping(grads, 1)
    np.testing.assert_allclose(clipped["a"], [3 / 13, 4 / 13], rtol=1e-6)
    small = d2l.grad_clipping({"a": jnp.array([0.3, 0.4])}, 1)  # norm 0.5: unchanged
    np.testing.assert_allclose(small["a"], [0.3, 0.4], rtol=1e-6)
    by_hand = d2l.sgd(params, clipped, 0.5, 1)
    tx = d2l.clip_sgd(0.5)
    updates, _ = tx.update(grads, tx.init(params), params)
    fused = jax.tree.map(lambda p, u: p + u, params, updates)
    for k in params:
        np.testing.assert_allclose(fused[k], by_hand[k], rtol=1e-6)


# ------------------------------------------------------------ against PyTorch

def torch_twin(kind, num_layers, num_hiddens, vocab_size, jax_net):
    """The PyTorch model with the JAX model's weights.  PyTorch keeps two
    biases per gate block; its hidden-side ones are set to zero and frozen,
    so that both models have the same trainable numbers (flax keeps one
    bias, and its GRU has none inside the reset gate's product)."""
    import torch
    from torch import nn
    from d2l_helpers import torch as d2l_torch
    layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind](
        vocab_size, num_hiddens, num_layers)
    net = d2l_torch.RNNModel(layer, vocab_size)
    t = lambda a: torch.tensor(np.asarray(a))  # noqa: E731
    with torch.no_grad():
        for l, cell in enumerate(jax_net.rnn.cells):
            W_x, W_h, b = weights(cell)
            getattr(layer, f"weight_ih_l{l}").copy_(t(W_x.T))
            getattr(layer, f"weight_hh_l{l}").copy_(t(W_h.T))
            getattr(layer, f"bias_ih_l{l}").copy_(t(b))
            getattr(layer, f"bias_hh_l{l}").zero_()
            getattr(layer, f"bias_hh_l{l}").requires_grad_(False)
        net.linear.weight.copy_(t(np.asarray(jax_net.linear.kernel[...]).T))
        net.linear.bias.copy_(t(jax_net.linear.bias[...]))
    return net, d2l_torch


def jax_weights_as_torch(net):
    out = []
    for cell in net.rnn.cells:
        W_x, W_h, b = weights(cell)
        out += [W_x.T, W_h.T, b]
    return out + [np.asarray(net.linear.kernel[...]).T, np.asarray(net.linear.bias[...])]


def torch_weights(net):
    out = []
    for l in range(net.rnn.num_layers):
        out += [getattr(net.rnn, f"{name}_l{l}").detach().numpy()
                for name in ("weight_ih", "weight_hh", "bias_ih")]
    return out + [net.linear.weight.detach().numpy(), net.linear.bias.detach().numpy()]


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_training_steps_match_pytorch_from_the_same_weights(kind):
    pytest.importorskip("torch")
    import torch
    L, hidden, vocab_size, batch, steps, lr = 2, 16, V, 4, 8, 1.0
    d2l.seed(0)
    jnet = d2l.make_model(kind, L, hidden, vocab_size)
    for p in d2l.BACKEND.params(jnet):  # non-zero biases
        p[...] = p[...] + 0.1
    jnet.linear.kernel[...] = 10 * jnet.linear.kernel[...]  # gradients above theta = 1
    tnet, d2l_torch = torch_twin(kind, L, hidden, vocab_size, jnet)
    tparams = d2l_torch.BACKEND.params(tnet)
    assert len(tparams) == 3 * L + 2  # the frozen biases are not trained
    jstep = d2l.BACKEND.make_step(jnet, d2l.BACKEND.params(jnet), lr)
    tstep = d2l_torch.BACKEND.make_step(tnet, tparams, lr)
    rng = np.random.default_rng(0)
    jstate = d2l.BACKEND.begin_state(jnet, batch, None)
    tstate = d2l_torch.BACKEND.begin_state(tnet, batch, "cpu")
    clipped = 0
    for _ in range(3):
        X = rng.integers(0, vocab_size, (batch, steps))
        Y = rng.integers(0, vocab_size, (batch, steps))
        # the gradient norm before this step, to see that clipping is exercised
        y_hat, _ = tnet(torch.tensor(X), tstate)
        loss = torch.nn.functional.cross_entropy(y_hat, torch.tensor(Y).T.reshape(-1))
        norm = torch.sqrt(sum((g ** 2).sum() for g in torch.autograd.grad(loss, tparams)))
        clipped += float(norm) > d2l.CLIP_THETA
        jl, jstate = jstep(jnp.asarray(X), jnp.asarray(Y), jstate)
        tl, tstate = tstep(torch.tensor(X), torch.tensor(Y), tstate)
        np.testing.assert_allclose(float(jl), float(tl), rtol=1e-4, atol=1e-5)
        for a, b in zip(jax_weights_as_torch(jnet), torch_weights(tnet)):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
        jH = jstate[0] if kind == "lstm" else jstate
        tH = tstate[0] if kind == "lstm" else tstate
        np.testing.assert_allclose(jH, tH.numpy(), rtol=1e-4, atol=1e-4)
    assert clipped >= 1, "no step clipped: the test would not see a clipping bug"


def test_scratch_model_trains_and_keeps_its_params():
    """RNNModelScratch: plain arrays as nnx.Param, the book's three functions."""
    def get_params(vocab_size, num_hiddens, device):
        normal = lambda shape: 0.01 * jax.random.normal(d2l.next_key(), shape)  # noqa: E731
        return [normal((vocab_size, num_hiddens)), normal((num_hiddens, num_hiddens)),
                jnp.zeros(num_hiddens), normal((num_hiddens, vocab_size)), jnp.zeros(vocab_size)]

    def init_state(batch_size, num_hiddens, device):
        return (jnp.zeros((batch_size, num_hiddens)),)

    def rnn(inputs, state, params):
        W_xh, W_hh, b_h, W_hq, b_q = params
        H, = state
        outputs = []
        for X in inputs:
            H = jnp.tanh(X @ W_xh + H @ W_hh + b_h)
            outputs.append(H @ W_hq + b_q)
        return jnp.concatenate(outputs, axis=0), (H,)

    train_iter, vocab = d2l.load_data_time_machine(4, 10, max_tokens=600)
    net = d2l.RNNModelScratch(len(vocab), 16, None, get_params, init_state, rnn)
    before = [np.array(p[...]) for p in net.params]
    h = d2l.train_ch8(net, train_iter, vocab, 1, 2, d2l.try_gpu())
    assert len(h.epoch) == 2 and np.isfinite(h.final_train_ppl)
    assert all(not np.array_equal(a, p[...]) for a, p in zip(before, net.params))
    assert d2l.num_params(net) == sum(a.size for a in before)


def test_layer_signals_per_layer():
    rng = np.random.default_rng(0)
    b = d2l.BACKEND
    X, Y = (b.to_device(rng.integers(0, V, (4, 6)), None) for _ in range(2))
    net = b.make_model("lstm", 3, 8, V, init="normal")
    s = b.layer_signals(net, X, Y, b.begin_state(net, 4, None))
    assert len(s) == 3 and all(layer["grad_norm"] > 0 for layer in s)
    assert all(0 < layer["state_rms"] < 0.01 for layer in s)
    assert 0 < s[-1]["output_rms"] < 0.01  # N(0, 0.01^2) weights: a tiny signal at the top
    assert "output_rms" not in s[0]


def test_contract_fields_for_the_experiments():
    b = d2l.BACKEND
    b.seed(3)
    a = b.make_model("gru", 2, h, V)
    b.seed(3)
    c = b.make_model("gru", 2, h, V)
    for p, q in zip(b.params(a), b.params(c)):  # seeded: the same start
        np.testing.assert_array_equal(p[...], q[...])
    assert b.num_params(a) == d2l.num_params(a) and isinstance(b.to_numpy(p[...]), np.ndarray)
    assert b.move_model(a, b.cpu()) is a and b.get_threads() >= 1
    with pytest.raises(ValueError, match="cell='cnn'"):
        b.make_model("cnn", 2, h, V)
