"""LLM-generated text detectors (zero-shot and supervised) and their data."""
