"""Differentially private fine-tuning of detectors on a tenant's own data, its budget ledger and privacy audit."""
