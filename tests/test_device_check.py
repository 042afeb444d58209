"""A model whose weights are not on ``device``: every entry of the book's API
that takes a model says so and names ``net.to(device)`` (issue 20, item 3).

There is no GPU here, so the tests ask for devices the weights are not on
and never compute there: ``cuda:0`` (a device object needs no GPU to exist)
and PyTorch's ``meta`` device; MXNet's ``gpu(0)`` context likewise."""
import numpy as np
import pytest

from d2l_helpers import backend
from experiments import study


def _torch_setup():
    torch = pytest.importorskip("torch")
    from d2l_helpers import torch as d2l
    rng = np.random.default_rng(0)
    vocab = d2l.Vocab(list("time traveller"))
    corpus = rng.integers(1, len(vocab), 600)
    heldout = rng.integers(1, len(vocab), 200)
    train_iter = d2l.make_loader(corpus, vocab, 4, 5, valid_corpus=heldout)
    return torch, d2l, vocab, heldout, train_iter


@pytest.mark.parametrize("device", ["cuda:0", "cuda", "meta"])
def test_torch_model_on_the_cpu_with_another_device_names_net_to_device(device):
    torch, d2l, vocab, heldout, train_iter = _torch_setup()
    net = study.make_model(d2l, "gru", 1, 8, len(vocab), torch.device("cpu"))
    dev = torch.device(device)
    calls = {
        "train_ch8": lambda: d2l.train_ch8(net, train_iter, vocab, 1, 1, dev),
        "predict_ch8": lambda: d2l.predict_ch8("time ", 5, net, vocab, dev),
        "evaluate_ppl": lambda: d2l.evaluate_ppl(net, heldout, dev),
    }
    for where, call in calls.items():
        with pytest.raises(backend.DeviceMismatchError,
                           match=rf"{where}: the model's weights are on cpu, but device is "
                                 rf"{device}; move it there first with net\.to\(device\)"):
            call()


def test_torch_model_elsewhere_with_the_cpu_as_device_is_refused_too():
    torch, d2l, vocab, heldout, train_iter = _torch_setup()
    net = study.make_model(d2l, "gru", 1, 8, len(vocab), torch.device("cpu")).to("meta")
    with pytest.raises(backend.DeviceMismatchError, match=r"on meta, but device is cpu"):
        d2l.evaluate_ppl(net, heldout, torch.device("cpu"))


def test_torch_same_device_spellings_pass():
    torch, d2l, vocab, heldout, train_iter = _torch_setup()
    net = study.make_model(d2l, "gru", 1, 8, len(vocab), torch.device("cpu"))
    for dev in ("cpu", torch.device("cpu")):
        assert np.isfinite(d2l.evaluate_ppl(net, heldout, dev))
    same = backend._same_device
    assert same(torch.device("cuda:0"), "cuda") and same(torch.device("cuda:0"), "cuda:0")
    assert not same(torch.device("cuda:0"), "cuda:1") and not same(torch.device("cpu"), "cuda")


def test_mxnet_model_on_the_cpu_with_a_gpu_as_device_names_the_remedy(monkeypatch):
    # (conftest skips this test, by its name, where MXNet is not installed)
    monkeypatch.setenv("D2L_TAB", "mxnet")
    from d2l_helpers import mxnet as d2l
    import mxnet as mx
    vocab = d2l.Vocab(list("time traveller"))
    heldout = np.random.default_rng(0).integers(1, len(vocab), 200)
    net = study.make_model(d2l, "gru", 1, 8, len(vocab), mx.cpu())
    net.initialize(ctx=mx.cpu())
    d2l.predict_ch8("time ", 2, net, vocab, mx.cpu())  # weights created on the cpu
    for where, call in {
            "predict_ch8": lambda: d2l.predict_ch8("time ", 5, net, vocab, mx.gpu(0)),
            "evaluate_ppl": lambda: d2l.evaluate_ppl(net, heldout, mx.gpu(0))}.items():
        with pytest.raises(backend.DeviceMismatchError,
                           match=rf"{where}: the model's weights are on cpu\(0\), but "
                                 rf"device is gpu\(0\); .*reset_ctx\(device\)"):
            call()
