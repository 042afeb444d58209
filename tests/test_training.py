"""train_ch8 beyond the book: checks, history, quick mode, divergence and
Ctrl-C handling, device fallback and prediction input, in every framework
(the jax tab's tests skip where JAX is not installed: Python 3.11)."""
import json
import math
import random

import numpy as np
import pytest

from d2l_helpers import modes, notices, results, training


# ------------------------------------------------------------ helpers

def torch_setup(hidden=16, max_tokens=1500):
    import torch
    from torch import nn
    from d2l_helpers import torch as d2l
    torch.manual_seed(0)
    random.seed(0)
    train_iter, vocab = d2l.load_data_time_machine(4, 10, max_tokens=max_tokens)
    net = d2l.RNNModel(nn.GRU(len(vocab), hidden), len(vocab))
    return d2l, net, train_iter, vocab


def mx_setup(hidden=16, max_tokens=1500):
    import mxnet as mx
    from mxnet.gluon import rnn
    from d2l_helpers import mxnet as d2l
    mx.random.seed(0)
    random.seed(0)
    train_iter, vocab = d2l.load_data_time_machine(4, 10, max_tokens=max_tokens)
    net = d2l.RNNModel(rnn.GRU(hidden), len(vocab))
    return d2l, net, train_iter, vocab


def jax_setup(hidden=16, max_tokens=1500):
    from d2l_helpers import jax as d2l
    d2l.seed(0)
    random.seed(0)
    train_iter, vocab = d2l.load_data_time_machine(4, 10, max_tokens=max_tokens)
    net = d2l.RNNModel(d2l.GRU(len(vocab), hidden), len(vocab))
    return d2l, net, train_iter, vocab


SETUPS = {"pytorch": torch_setup, "mxnet": mx_setup, "jax": jax_setup}
TABS = list(SETUPS)  # the tab names of d2l_helpers.frameworks


def params_np(tab, net):
    if tab == "pytorch":
        return [p.detach().numpy().copy() for p in net.parameters()]
    if tab == "jax":
        from d2l_helpers import jax as d2l
        return [np.array(p[...]) for p in d2l.BACKEND.params(net)]
    return [p.data().asnumpy().copy() for p in net.collect_params().values()]


class Trap:
    """Wraps a model's forward: after `after` training steps it poisons the output
    with nan, blows it up to a huge but finite loss ("huge"), or raises
    KeyboardInterrupt, and remembers the weights then."""

    def __init__(self, tab, net, after, action, monkeypatch=None):
        self.tab, self.net, self.after, self.action = tab, net, after, action
        self.calls, self.weights_then = 0, None
        if tab == "jax":  # the forward runs once, when the step compiles: wrap the step
            from d2l_helpers import jax as d2l
            self.orig = d2l._jit_step
            monkeypatch.setattr(d2l, "_jit_step", self.jax_step)
            return
        self.orig = net.forward
        net.forward = self

    def jax_step(self, net, optimizer, X, Y, state):
        if net is not self.net:  # another model, e.g. the fresh run compared with
            return self.orig(net, optimizer, X, Y, state)
        self.calls += 1
        if self.calls <= self.after:
            return self.orig(net, optimizer, X, Y, state)
        if self.weights_then is None:
            self.weights_then = params_np(self.tab, self.net)
        if self.action == "interrupt" and self.calls == self.after + 1:
            raise KeyboardInterrupt
        l, state = self.orig(net, optimizer, X, Y, state)
        if self.action == "huge":
            return l * 1e6, state
        for p in params_of(net):  # what a nan loss does to the weights
            p[...] = p[...] * float("nan")
        return l * float("nan"), state

    def _training(self):
        if self.tab == "pytorch":
            import torch
            return torch.is_grad_enabled()
        from mxnet import autograd
        return autograd.is_recording()

    def __call__(self, X, state):
        out, state = self.orig(X, state)
        if not self._training():     # validation, prediction, initialisation
            return out, state
        self.calls += 1
        if self.calls > self.after:
            if self.weights_then is None:
                self.weights_then = params_np(self.tab, self.net)
            if self.action == "interrupt" and self.calls == self.after + 1:
                raise KeyboardInterrupt  # once, like one press of Ctrl-C
            out = out * (1e6 if self.action == "huge" else float("nan"))
        return out, state


def params_of(net):
    from d2l_helpers import jax as d2l
    return d2l.BACKEND.params(net)


def device(tab):
    if tab == "jax":
        return __import__("jax").devices("cpu")[0]
    return "cpu" if tab == "pytorch" else __import__("mxnet").npx.cpu()


# ------------------------------------------------------------ bad hyper-parameters

@pytest.mark.parametrize("lr", [0, -1, float("nan")])
def test_bad_lr_states_the_number(lr):
    d2l, net, it, vocab = torch_setup()
    with pytest.raises(ValueError, match=f"lr={lr!r} must be a positive"):
        d2l.train_ch8(net, it, vocab, lr, 1, "cpu")


@pytest.mark.parametrize("epochs", [-1, 2.5])
def test_bad_num_epochs_states_the_number(epochs):
    d2l, net, it, vocab = torch_setup()
    with pytest.raises(ValueError, match=f"num_epochs={epochs!r}"):
        d2l.train_ch8(net, it, vocab, 1, epochs, "cpu")


# ------------------------------------------------------------ history and output

@pytest.mark.parametrize("tab", TABS)
def test_history_records_every_epoch_and_validation(tab, capsys):
    d2l, net, it, vocab = SETUPS[tab]()
    h = d2l.train_ch8(net, it, vocab, 1, 4, device(tab), valid_every=2)
    assert h.epoch == [1, 2, 3, 4]
    assert len(h.train_ppl) == len(h.tokens_per_sec) == len(h.wall_time) == 4
    assert math.isnan(h.valid_ppl[0]) and math.isnan(h.valid_ppl[2])
    assert 1 < h.valid_ppl[1] < 40 and 1 < h.valid_ppl[3] < 40
    assert h.train_ppl[-1] < h.train_ppl[0]
    assert h.tokens_seen[-1] == 4 * len(it) * 4 * 10
    assert h.wall_time == sorted(h.wall_time) and h.device.startswith("CPU: ")
    out = capsys.readouterr().out
    assert f"perplexity {h.final_train_ppl:.1f}," in out and "tokens/sec on cpu" in out
    assert "validation perplexity" in out
    assert set(h.samples) == {"time traveller", "traveller"}
    assert h.samples["traveller"].startswith("traveller") and len(h.samples["traveller"]) == 59
    s = h.summary()
    assert s["tab"] == tab and s["epochs"] == 4
    json.loads(h.to_json())


def test_quick_mode_caps_epochs_with_a_banner(monkeypatch, capsys):
    monkeypatch.setenv("D2L_QUICK", "1")
    notices.forget()
    d2l, net, it, vocab = torch_setup()
    quick2 = modes.Mode("quick", max_epochs=2, live_plot=False)
    h = d2l.train_ch8(net, it, vocab, 1, 500, "cpu", mode=quick2)
    assert h.epoch == [1, 2] and h.mode == "quick" and h.summary()["quick_mode"]
    assert "[quick mode] train_ch8: 500 epochs cut to 2" in capsys.readouterr().out
    h = d2l.train_ch8(net, it, vocab, 1, 500, "cpu", mode="quick")  # the environment's
    assert h.epoch == list(range(1, 11))


def test_class_mode_keeps_forty_percent_of_the_epochs(monkeypatch, capsys):
    monkeypatch.setenv("D2L_QUICK", "class")
    notices.forget()
    assert modes.current() is modes.CLASS
    assert [modes.CLASS.epochs(n) for n in (500, 268, 16, 2, 1, 0)] == [200, 107, 6, 1, 1, 0]
    d2l, net, it, vocab = torch_setup()
    h = d2l.train_ch8(net, it, vocab, 1, 5, "cpu")
    assert h.epoch == [1, 2] and h.mode == "class"
    assert "[class mode] train_ch8: 5 epochs cut to 2 (D2L_QUICK=class" in capsys.readouterr().out
    # class mode keeps all text: corpora stay different
    it2, _ = d2l.load_data_books(4, 10, ["time_machine", "war_of_the_worlds"])
    assert len(it2.corpus) > 400_000 and len(it2.valid_corpus) > 17_000


@pytest.mark.parametrize("value,mode", [("1", "quick"), ("true", "quick"), ("YES", "quick"),
                                        ("quick", "quick"), ("class", "class"),
                                        ("0", "full"), ("", "full"), ("off", "full")])
def test_mode_values(monkeypatch, value, mode):
    monkeypatch.setenv("D2L_QUICK", value)
    assert modes.current().name == mode


@pytest.mark.parametrize("value", ["2", "maybe", "classroom"])
def test_mode_rejects_unclear_values(monkeypatch, value):
    monkeypatch.setenv("D2L_QUICK", value)
    with pytest.raises(modes.ModeError, match="names no run mode.*D2L_QUICK=class"):
        modes.current()


def test_results_are_recorded_atomically(tmp_path, monkeypatch):
    path = tmp_path / "out" / "results.json"
    monkeypatch.setenv("D2L_RESULTS", str(path))
    d2l, net, it, vocab = torch_setup()
    h = d2l.train_ch8(net, it, vocab, 1, 1, "cpu")
    results.record("test/run", h, note="x")
    results.record("test/run", h, note="y")      # same key + tab: replaced
    results.record("test/other", {"final_train_ppl": 3.0})
    runs = results.load(path)
    assert [r["key"] for r in runs] == ["test/run", "test/other"]
    assert runs[0]["note"] == "y" and runs[0]["tab"] == "pytorch"
    # no temporary files left; the lock file stays (deleting it would race)
    assert sorted(p.name for p in path.parent.iterdir()) == [".results.json.lock", "results.json"]


# ------------------------------------------------------------ divergence and Ctrl-C

@pytest.mark.parametrize("action,what", [("nan", "(nan)"),
                                         ("huge", "too large for a perplexity")])
@pytest.mark.parametrize("tab", TABS)
def test_divergence_stops_with_history_and_last_good_epoch_weights(tab, action, what, capsys,
                                                                  monkeypatch):
    d2l, net, it, vocab = SETUPS[tab]()
    steps = len(it)
    Trap(tab, net, after=steps + 3, action=action, monkeypatch=monkeypatch)   # blows up inside epoch 2
    h = d2l.train_ch8(net, it, vocab, 1, 5, device(tab))
    assert h.epoch == [1] and len(h.train_ppl) == 1
    assert "epoch 2" in h.stopped and "lower lr" in h.stopped
    out = capsys.readouterr().out
    assert f"diverged" in out and what in out and "in epoch 2" in out
    assert "end of epoch 1" in out
    after = params_np(tab, net)
    assert all(np.isfinite(p).all() for p in after)
    # The model went back to the end of epoch 1: the same weights as a
    # fresh run stopped cleanly after one epoch.
    d2l2, net2, it2, vocab2 = SETUPS[tab]()
    d2l2.train_ch8(net2, it2, vocab2, 1, 1, device(tab))
    for a, b in zip(after, params_np(tab, net2)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("tab", TABS)
def test_a_huge_lr_stops_training_without_a_crash(tab, capsys):
    d2l, net, it, vocab = SETUPS[tab]()
    h = d2l.train_ch8(net, it, vocab, 1e9, 3, device(tab))   # was: OverflowError
    assert h.epoch == [] and "diverged" in h.stopped and "epoch 1" in h.stopped
    assert "initial weights" in h.stopped and "lower lr than 1000000000.0" in h.stopped
    assert all(np.isfinite(p).all() for p in params_np(tab, net))
    assert set(h.samples) == {"time traveller", "traveller"}


def test_perplexity_never_overflows():
    assert training.perplexity(0.0) == 1.0
    assert training.perplexity(709.0) < float("inf")
    assert training.perplexity(1e9) == float("inf")


@pytest.mark.parametrize("tab", TABS)
def test_keyboard_interrupt_keeps_model_and_history_of_finished_epochs(tab, capsys,
                                                                      monkeypatch):
    d2l, net, it, vocab = SETUPS[tab]()
    steps = len(it)
    trap = Trap(tab, net, after=2 * steps + 2, action="interrupt", monkeypatch=monkeypatch)  # inside epoch 3
    h = d2l.train_ch8(net, it, vocab, 1, 5, device(tab))
    assert h.epoch == [1, 2]
    assert "interrupted during epoch 3" in h.stopped
    assert "history after epoch 2" in capsys.readouterr().out
    # weights_then was taken after 2 updates of epoch 3; the model went back
    # to the end of epoch 2, so it must differ from that...
    after = params_np(tab, net)
    assert any(not np.array_equal(a, b) for a, b in zip(after, trap.weights_then))
    # ...and equal a fresh run stopped cleanly after 2 epochs.
    d2l2, net2, it2, vocab2 = SETUPS[tab]()
    d2l2.train_ch8(net2, it2, vocab2, 1, 2, device(tab))
    for a, b in zip(after, params_np(tab, net2)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------ devices and prediction

@pytest.mark.parametrize("tab", TABS)
def test_try_gpu_beyond_count_falls_back_to_cpu_once(tab, capsys):
    d2l = SETUPS[tab]()[0]
    notices.forget(("try_gpu", 7))
    assert "cpu" in str(d2l.try_gpu(7))
    assert "cpu" in str(d2l.try_gpu(7))
    assert capsys.readouterr().out.count("try_gpu(7): no GPU 7 found") == 1
    assert len(d2l.try_all_gpus()) >= 1
    assert d2l.describe_device(d2l.try_gpu(7)).startswith("CPU: ")


@pytest.mark.parametrize("tab", TABS)
def test_predict_rejects_empty_prefix_and_warns_on_unknown_chars(tab):
    d2l, net, it, vocab = SETUPS[tab]()
    d2l.train_ch8(net, it, vocab, 1, 1, device(tab))
    with pytest.raises(ValueError, match="prefix=''"):
        d2l.predict_ch8("", 10, net, vocab, device(tab))
    for bad in (-3, 2.5, "5", True):
        with pytest.raises(ValueError, match=f"num_preds={bad!r} must be a whole number >= 0"):
            d2l.predict_ch8("time", bad, net, vocab, device(tab))
    assert d2l.predict_ch8("time", 0, net, vocab, device(tab)) == "time"
    notices.forget()
    with pytest.warns(UserWarning, match=r"outside the vocabulary \('!T'\).*<unk>"):
        out = d2l.predict_ch8("Time!", 5, net, vocab, device(tab))
    assert out.startswith("<unk>ime<unk>") and len(out) == len("<unk>ime<unk>") + 5


def test_plot_histories_draws_one_line_per_run():
    d2l, net, it, vocab = torch_setup()
    h1 = d2l.train_ch8(net, it, vocab, 1, 2, "cpu", valid_every=1, label="a")
    h2 = d2l.train_ch8(net, it, vocab, 1, 2, "cpu", valid_every=1, label="b")
    p = d2l.plot_histories([h1, h2], metric="both", xaxis="tokens")
    lines = p.fig.axes[0].get_lines()
    assert len(lines) == 5  # 2 runs x (train, validation), and the uniform guess
    assert lines[-1].get_label() == f"uniform guess ({len(vocab)})"
    assert list(lines[-1].get_ydata()) == [len(vocab)] * 2
    assert p._repr_svg_().lstrip().startswith("<?xml")
    assert "<svg" in h1.plot()._repr_svg_()


def test_every_perplexity_plot_shows_the_uniform_guess():
    from d2l_helpers import plot
    h = training.History(epoch=[1, 2], train_ppl=[30.0, 20.0], valid_ppl=[float("nan"), 25.0],
                         tokens_seen=[10, 20], wall_time=[1.0, 2.0], vocab_size=28)
    labels = lambda fig: [l.get_label() for l in fig.axes[0].get_lines()]
    assert "uniform guess (28)" in labels(plot.draw_history(h))          # the live plot
    assert "uniform guess (28)" in labels(h.plot().fig)
    unknown = training.History(epoch=[1], train_ppl=[5.0], valid_ppl=[4.0])
    assert not any("uniform" in x for x in labels(plot.draw_history(unknown)))
    other = training.History(epoch=[1], train_ppl=[5.0], valid_ppl=[4.0], vocab_size=30)
    mixed = plot.plot_histories([h, other], metric="valid_ppl")  # sizes differ: no line
    assert not any("uniform" in x for x in labels(mixed.fig))
    assert "vocab_size" not in h.summary()  # recorded fields stay as they were


def test_validation_schedule_keeps_its_cost_small():
    # the book's run: 20 validations, every 25 epochs
    assert training.default_valid_every(500, 9_730, 17_058) == 25
    # a short run on 10k characters: not every epoch, or validation (17k
    # held-out tokens) would cost more than half of the training
    every = training.default_valid_every(20, 9_730, 17_058)
    assert every == 12 and 17_058 / (3 * every * 9_730) <= training.VALIDATION_TIME_BUDGET
    # a big corpus: every epoch is cheap to validate
    assert training.default_valid_every(2, 1_200_000, 17_058) == 1
