"""Network architectures used by the detectors."""
