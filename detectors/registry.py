"""The one registry of detectors, by name (like timm's model registry).

Detectors register with ``@register_detector``; the pipeline asks
``detectors_for(media_type)`` and ``create_detector(name)`` and never imports
a detector class directly.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from detectors.base import Detector, MediaType

_REGISTRY: dict[str, type[Detector]] = {}
# Modules whose import registers the shipped detectors; one place to add one.
BUILTIN_DETECTOR_MODULES: tuple[str, ...] = (
    "detectors.synthetic_image",
    "detectors.faces",
    "detectors.video",
    "detectors.watermark.image_invisible",
    "detectors.watermark.text_greenlist",
    "detectors.text.supervised",
    "detectors.text.binoculars",
    "detectors.text.lm_detector",
)

D = TypeVar("D", bound=type[Detector])


def register_detector(cls: D) -> D:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"detector name {cls.name!r} is already registered by {existing.__module__}")
    _REGISTRY[cls.name] = cls
    return cls


def unregister_detector(name: str) -> None:
    """Remove a detector (used by tests that register temporary detectors)."""
    _REGISTRY.pop(name, None)


_extra_modules: list[str] = []


def add_detector_modules(modules: list[str]) -> None:
    """Import extra modules that register detectors (a deployer's own plugins)."""
    for module in modules:
        if module not in _extra_modules:
            importlib.import_module(module)
            _extra_modules.append(module)


def load_builtin_detectors() -> None:
    for module in BUILTIN_DETECTOR_MODULES:
        importlib.import_module(module)


def registered_names() -> list[str]:
    load_builtin_detectors()
    return sorted(_REGISTRY)


def detectors_for(media_type: MediaType, enabled: Callable[[str], bool] | None = None) -> list[str]:
    """Names of the registered detectors that accept ``media_type``."""
    load_builtin_detectors()
    return sorted(
        name
        for name, cls in _REGISTRY.items()
        if media_type in cls.media_types and (enabled is None or enabled(name))
    )


def create_detector(name: str, **kwargs: Any) -> Detector:
    """Instantiate a registered detector by name."""
    load_builtin_detectors()
    try:
        cls = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"unknown detector {name!r}; registered: {known}") from None
    return cls(**kwargs)
