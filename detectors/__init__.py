"""Detectors, generators, training and evaluation: plain PyTorch, never Django.

The pipeline in ``forensics`` talks to this package only through
:mod:`detectors.registry` and the types in :mod:`detectors.base`.
"""
