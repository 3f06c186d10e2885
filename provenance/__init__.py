"""Hashes, perceptual hashes, metadata, C2PA, the audit log and signed reports."""
