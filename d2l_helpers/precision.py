"""The precision policy, in one place: ``D2L_PRECISION=auto|fp32|bf16``.

=========  ==================================================================
``auto``   (default) bf16 autocast for the forward pass and the loss where the
           device computes bf16 natively -- a CPU with AMX or AVX-512 BF16
           (as oneDNN reports it; on a CPU only for LSTM models, the one layer
           with a fast bf16 kernel there), or a CUDA GPU with bf16 -- and fp32
           everywhere else, where bf16 would be emulated and slower.
``fp32``   always fp32, as the book does (the parity tests against d2l 0.17.6
           use it).
``bf16``   bf16 autocast even where it is emulated (slow; for experiments).
=========  ==================================================================

Only the forward pass and the loss change: the weights, their gradients, the
clipping and the SGD update stay fp32, and so does everything recorded.  The
framework module answers whether bf16 is native (:func:`choose` takes the
answer) and applies the choice; MXNet's ``train_ch8`` always trains in fp32
(its AMP has no bf16 path for these recurrent layers on the CPU).
"""
from .settings import PRECISIONS as CHOICES, PrecisionError  # noqa: F401  (re-exported)
from .settings import current as settings_now

ENV = "D2L_PRECISION"


def requested(settings=None):
    """What ``D2L_PRECISION`` asks for (``auto`` when unset): ``settings.precision``,
    or the environment's now."""
    return settings_now(settings).precision


def choose(native, where, supported=True, why_not="has no native bf16", settings=None):
    """``(precision, reason)`` for a device where bf16 is ``native`` (fast) or not.

    ``where`` names the device in the reason ("this CPU", "cuda:0"), and
    ``why_not`` says why bf16 would not be fast there;
    ``supported=False`` means this framework cannot train in bf16 at all."""
    want = requested(settings)
    if not supported:
        return "fp32", f"this framework trains in fp32 only ({ENV}={want} ignored)"
    if want == "fp32":
        return "fp32", f"{ENV}=fp32"
    if want == "bf16":
        return "bf16", (f"{ENV}=bf16" + ("" if native else
                        f"; {where} {why_not}, so this is slower than fp32"))
    if native:
        return "bf16", (f"{where} computes bf16 natively; weights, clipping and SGD "
                        f"stay fp32 ({ENV}=fp32 turns it off)")
    return "fp32", f"{where} {why_not} ({ENV}=bf16 forces it)"
