"""The precision policy (``D2L_PRECISION``, d2l_helpers/precision.py) and the
bf16 training step of the PyTorch tab.

The capability questions (does this CPU compute bf16 natively, does this GPU
have bf16) are monkeypatched, so every branch runs on any machine; the bf16
steps themselves run on the CPU, where bf16 autocast works everywhere (emulated
where it is not native: slower, but the same numbers)."""
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402


@pytest.fixture(autouse=True)
def _no_precision_env(monkeypatch):
    monkeypatch.delenv("D2L_PRECISION", raising=False)


def _lstm(hidden=16, layers=2, cell=nn.LSTM, vocab=28):
    from d2l_helpers import torch as d2l
    torch.manual_seed(0)
    return d2l.RNNModel(cell(vocab, hidden, layers), vocab)


# ------------------------------------------------------------ D2L_PRECISION

@pytest.mark.parametrize("value, expected", [
    (None, "auto"), ("", "auto"), ("auto", "auto"), ("fp32", "fp32"),
    (" BF16 ", "bf16"), ("Fp32", "fp32")])
def test_the_variable_is_read_case_and_space_insensitively(monkeypatch, value, expected):
    from d2l_helpers import precision
    if value is not None:
        monkeypatch.setenv("D2L_PRECISION", value)
    assert precision.requested() == expected


@pytest.mark.parametrize("bad", ["fp16", "bfloat16", "1", "float32"])
def test_a_bad_value_is_a_clear_error_naming_the_choices(monkeypatch, bad):
    from d2l_helpers import precision
    from d2l_helpers.errors import ConfigError
    monkeypatch.setenv("D2L_PRECISION", bad)
    with pytest.raises(ConfigError) as e:
        precision.requested()
    msg = str(e.value)
    assert f"D2L_PRECISION={bad!r}" in msg
    for choice in ("auto", "fp32", "bf16"):
        assert choice in msg
    assert "unset" in msg


def test_a_bad_value_stops_train_ch8_before_it_trains(monkeypatch, capsys):
    from d2l_helpers import precision
    from d2l_helpers import torch as d2l
    it, vocab = d2l.load_data_time_machine(4, 5, max_tokens=300)  # (would stop too)
    monkeypatch.setenv("D2L_PRECISION", "half")
    net = _lstm(vocab=len(vocab))
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(precision.PrecisionError, match="D2L_PRECISION='half'"):
        d2l.train_ch8(net, it, vocab, 1, 2, "cpu")
    for p, b in zip(net.parameters(), before):
        assert torch.equal(p, b)  # not one step was taken


# ------------------------------------------------------------ the CPU's answer

def _cpu(monkeypatch, *, mkldnn=True, amx=False, avx512_bf16=False, machine="x86_64"):
    """Pretend to be a CPU with these capabilities (as PyTorch reports them)."""
    from d2l_helpers import torch as d2l
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: mkldnn)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16,
                        raising=False)
    monkeypatch.setattr(d2l.platform, "machine", lambda: machine)


@pytest.mark.parametrize("caps, native", [
    (dict(amx=True), True),
    (dict(avx512_bf16=True), True),
    (dict(amx=True, avx512_bf16=True), True),
    (dict(), False),                        # AVX-512 without BF16: emulated
    (dict(mkldnn=False, amx=True), False),  # oneDNN says no
    (dict(machine="aarch64"), True),        # Arm: oneDNN's answer is the answer
    (dict(machine="aarch64", mkldnn=False), False),
], ids=["amx", "avx512-bf16", "both", "emulated", "no-onednn", "arm", "arm-no"])
def test_native_bf16_is_what_pytorch_and_onednn_report(monkeypatch, caps, native):
    from d2l_helpers import torch as d2l
    _cpu(monkeypatch, **caps)
    assert d2l._cpu_bf16_native() is native


def test_auto_on_a_native_cpu_picks_bf16_for_an_lstm_only(monkeypatch):
    from d2l_helpers import torch as d2l
    _cpu(monkeypatch, amx=True)
    dtype, why = d2l.choose_precision("cpu", _lstm())
    assert dtype == "bf16"
    assert "natively" in why and "D2L_PRECISION=fp32" in why
    for cell in (nn.GRU, nn.RNN):
        dtype, why = d2l.choose_precision(torch.device("cpu"), _lstm(cell=cell))
        assert dtype == "fp32"
        assert "LSTM" in why  # says why a GRU/RNN stays fp32 on this CPU
    # a from-scratch model (no nn.Module holding an nn.LSTM): fp32
    assert d2l.choose_precision("cpu", object())[0] == "fp32"


def test_auto_on_a_cpu_without_native_bf16_keeps_fp32(monkeypatch):
    from d2l_helpers import torch as d2l
    _cpu(monkeypatch)  # AVX-512 but no BF16, no AMX
    dtype, why = d2l.choose_precision("cpu", _lstm())
    assert dtype == "fp32"
    assert "no native bf16" in why and "D2L_PRECISION=bf16" in why


def test_fp32_and_bf16_override_auto_either_way(monkeypatch):
    from d2l_helpers import torch as d2l
    _cpu(monkeypatch, amx=True)
    monkeypatch.setenv("D2L_PRECISION", "fp32")
    assert d2l.choose_precision("cpu", _lstm())[0] == "fp32"
    _cpu(monkeypatch)  # not native: forced bf16 is allowed, and said to be slow
    monkeypatch.setenv("D2L_PRECISION", "bf16")
    dtype, why = d2l.choose_precision("cpu", _lstm(cell=nn.GRU))
    assert dtype == "bf16" and "slower" in why


@pytest.mark.parametrize("supported", [True, False])
def test_cuda_asks_torch_whether_the_gpu_has_bf16(monkeypatch, supported):
    from d2l_helpers import torch as d2l
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: supported)
    # a GPU: bf16 for every model (no LSTM-only rule there)
    dtype, why = d2l.choose_precision(torch.device("cuda", 0), _lstm(cell=nn.GRU))
    assert dtype == ("bf16" if supported else "fp32")
    assert "cuda:0" in why
    monkeypatch.setenv("D2L_PRECISION", "fp32")
    assert d2l.choose_precision("cuda:0", _lstm())[0] == "fp32"


def test_mxnet_trains_in_fp32_whatever_is_asked(monkeypatch):
    from conftest import require_tab
    require_tab("mxnet")
    from d2l_helpers import backend
    from d2l_helpers import mxnet as d2l
    monkeypatch.setenv("D2L_PRECISION", "bf16")
    dtype, why = backend.choose_precision(d2l.BACKEND, "cpu")
    assert dtype == "fp32" and "fp32 only" in why


# ------------------------------------------------------------ the bf16 step

def _batch(seed=0, vocab=28, batch=4, steps=7):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, vocab, (batch, steps), generator=g),
            torch.randint(0, vocab, (batch, steps), generator=g))


def test_a_bf16_step_computes_in_bf16_and_keeps_weights_grads_state_fp32(monkeypatch):
    from d2l_helpers import torch as d2l
    net = _lstm()
    params = list(net.parameters())
    seen = {}
    net.linear.register_forward_hook(lambda m, i, o: seen.__setitem__("dense", o.dtype))
    real = d2l._clip_sgd
    monkeypatch.setattr(d2l, "_clip_sgd", lambda p, g, lr, th: (
        seen.setdefault("grads", {x.dtype for x in g}), real(p, g, lr, th)))
    step = d2l._train_step(net, params, 1.0, "bf16", "cpu")
    X, Y = _batch()
    loss, state = step(X, Y, net.begin_state("cpu", batch_size=4))
    assert seen["dense"] == torch.bfloat16            # autocast was applied
    assert seen["grads"] == {torch.float32}           # grads arrive in fp32
    assert {p.dtype for p in net.parameters()} == {torch.float32}
    assert loss.dtype == torch.float32
    assert all(s.dtype == torch.float32 for s in state)  # the carried state too
    # fp32 asks for no autocast at all
    seen.clear()
    d2l._train_step(net, params, 1.0, "fp32", "cpu")(X, Y, state)
    assert seen["dense"] == torch.float32


def test_a_bf16_step_matches_an_fp32_step_within_bf16_rounding():
    """The same weights and minibatches, five steps each way: the losses agree
    to about 1% (bf16 keeps 8 bits of mantissa), but are not identical."""
    from d2l_helpers import torch as d2l
    losses = {}
    for dtype in ("fp32", "bf16"):
        net = _lstm(hidden=32)
        step = d2l._train_step(net, list(net.parameters()), 1.0, dtype, "cpu")
        state, out = net.begin_state("cpu", batch_size=4), []
        for i in range(5):
            X, Y = _batch(i)
            loss, state = step(X, Y, state)
            out.append(float(loss))
        losses[dtype] = np.array(out)
    np.testing.assert_allclose(losses["bf16"], losses["fp32"], rtol=0.01)
    assert not np.array_equal(losses["bf16"], losses["fp32"])


def _tiny_run(monkeypatch, value, cell=nn.LSTM, epochs=2):
    from d2l_helpers import notices
    from d2l_helpers import torch as d2l
    notices.forget()
    if value is not None:
        monkeypatch.setenv("D2L_PRECISION", value)
    random.seed(0)
    it, vocab = d2l.load_data_time_machine(4, 5, max_tokens=400)
    net = _lstm(vocab=len(vocab), cell=cell)
    return d2l.train_ch8(net, it, vocab, 1, epochs, "cpu", mode="full")


@pytest.mark.parametrize("value", ["fp32", "bf16"])
def test_train_ch8_records_and_says_its_precision(monkeypatch, capsys, value):
    from d2l_helpers import results
    h = _tiny_run(monkeypatch, value)
    out = capsys.readouterr().out
    assert h.precision == value
    assert h.summary()["precision"] == value
    assert results.as_entry(h)["precision"] == value
    assert out.count(f"d2l_helpers: training in {value}: D2L_PRECISION={value}") == 1


def test_auto_trains_a_gru_in_fp32_and_an_lstm_in_bf16_on_a_native_cpu(monkeypatch, capsys):
    from d2l_helpers import torch as d2l
    monkeypatch.setattr(d2l, "_cpu_bf16_native", lambda: True)
    assert _tiny_run(monkeypatch, None, cell=nn.GRU, epochs=1).precision == "fp32"
    assert _tiny_run(monkeypatch, None, cell=nn.LSTM, epochs=1).precision == "bf16"
    monkeypatch.setattr(d2l, "_cpu_bf16_native", lambda: False)
    assert _tiny_run(monkeypatch, None, cell=nn.LSTM, epochs=1).precision == "fp32"
