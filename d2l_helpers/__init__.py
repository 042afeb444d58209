"""d2l_helpers: the parts of the `d2l` package that chapter 9.3 (deep RNNs) uses.

Import the framework of your tab with::

    from d2l_helpers import torch as d2l     # PyTorch
    from d2l_helpers import mxnet as d2l     # MXNet 1.9

Both modules expose the book's names and signatures (``load_data_time_machine``,
``RNNModel``, ``train_ch8``, ...), read data offline through
:mod:`d2l_helpers.corpora`, and add validation perplexity, a history and plots.
docs/ARCHITECTURE.md maps the modules.
"""
__version__ = "0.1.0"

from .cpu import set_mxnet_threads as _set_mxnet_threads

_set_mxnet_threads(notice=False)  # must precede `import mxnet`; see cpu.py
