"""Signals computed from content: cryptographic and perceptual hashes."""
