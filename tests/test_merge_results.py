import json

from d2l_helpers import results
from tools import merge_results


def test_merge_copies_runs_replacing_the_same_key_and_tab(tmp_path):
    into, src = tmp_path / "full.json", tmp_path / "conv.json"
    into.write_text(json.dumps([dict(key="depth-conv/a", tab="pytorch", test_ppl=9.0),
                                dict(key="ex2/gru/seed0", tab="pytorch", test_ppl=8.0)]))
    src.write_text(json.dumps([dict(key="depth-conv/a", tab="pytorch", test_ppl=5.0),
                               dict(key="depth-conv/a", tab="mxnet", test_ppl=6.0),
                               dict(key="other/x", tab="pytorch", test_ppl=1.0)]))
    assert merge_results.merge([src], into, prefix="depth-conv/") == 2
    got = {(e["key"], e["tab"]): e["test_ppl"] for e in results.load(into)}
    assert got == {("depth-conv/a", "pytorch"): 5.0, ("depth-conv/a", "mxnet"): 6.0,
                   ("ex2/gru/seed0", "pytorch"): 8.0}
