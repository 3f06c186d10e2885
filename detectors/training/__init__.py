"""Training detectors against the in-repo generators' fakes (no Django)."""
