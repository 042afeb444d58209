"""Experiments on top of the student's library (``d2l_helpers``): the depth
study of notebook 04 and the exercises (:mod:`experiments.study`), and the
corrections for families of tests (:mod:`experiments.stats`).

They reach a framework only through the ``d2l`` module they are given and
its ``BACKEND``; ``import d2l_helpers.torch`` (what a student runs) never
imports this package.  From a shell: ``python -m experiments.study --tab
pytorch --results results/full-mode.json`` (see docs/STUDY.md).
"""
