"""Test harnesses: lab web, fake clearinghouse, synthetic data generators. Never imported by the product."""
