"""Evaluation of detectors: metrics, reports and plots (no Django)."""
