"""Validation, test perplexity and generation see no dropout (PyTorch keeps a
module in training mode, dropout on, until ``net.eval()``): the measured
perplexity of a model with dropout is deterministic and equals that of the
same weights without dropout, and training mode comes back afterwards."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from d2l_helpers import torch as d2l  # noqa: E402


def _models(dropout=0.5):
    torch.manual_seed(0)
    net = d2l.BACKEND.make_model("lstm", 2, 16, 28, dropout=dropout)
    plain = d2l.BACKEND.make_model("lstm", 2, 16, 28, dropout=0.0)
    plain.load_state_dict(net.state_dict())
    return net, plain


def test_evaluate_ppl_sees_no_dropout_and_keeps_training_mode():
    net, plain = _models()
    corpus = np.random.default_rng(0).integers(0, 28, 2000).tolist()
    first = d2l.evaluate_ppl(net, corpus, "cpu", batch_size=4, num_steps=10)
    again = d2l.evaluate_ppl(net, corpus, "cpu", batch_size=4, num_steps=10)
    assert first == again == pytest.approx(d2l.evaluate_ppl(plain, corpus, "cpu", 4, 10), rel=1e-6)
    assert net.training  # train_ch8's next epoch trains with dropout again


def test_generation_sees_no_dropout():
    net, plain = _models(dropout=0.9)
    vocab = d2l.Vocab(list("time traveller abcdefghijklmnopqrsuvwxyz"))
    outs = {d2l.predict_ch8("time traveller", 30, net, vocab, "cpu") for _ in range(3)}
    assert outs == {d2l.predict_ch8("time traveller", 30, plain, vocab, "cpu")}
    assert net.training
