"""d2l_helpers: the parts of the `d2l` package that chapter 9.3 (deep RNNs) uses.

Import the framework of your tab with::

    from d2l_helpers import torch as d2l     # PyTorch
    from d2l_helpers import mxnet as d2l     # MXNet 1.9

Both modules expose the book's names and signatures (``load_data_time_machine``,
``RNNModel``, ``train_ch8``, ...), read data offline through
:mod:`d2l_helpers.corpora`, and add validation perplexity, a history and plots.
docs/ARCHITECTURE.md maps the modules.

Importing the package itself changes nothing in the process: no environment
variable, no file.  The settings of a tab (MXNet's threads and engine, which
must precede ``import mxnet``; PyTorch's threads) are applied when its module
is imported (``d2l_helpers.torch``/``.mxnet``, through :func:`cpu.configure`),
or by ``%load_ext d2l_helpers.tab`` for the active tab.
"""
__version__ = "0.1.0"
