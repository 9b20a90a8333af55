"""Defaults shared by the CLI, the HTTP service and the domain, kept free of heavy imports.

The CLI builds its help from these without loading faiss, PyAV or scikit-learn.
"""

PDQ_RADIUS = 31  # Hamming bits
PDQ_MIN_QUALITY = 50  # below this a PDQ hash is too flat to match on
VIDEO_MATCH_PERCENT = 80.0  # share of query or known frames that makes a video match
REQUIRED_VOTES = 2  # agreeing reviewers per decision (3 for IWF-, Arachnid- or CAID-style practice)
EARLY_K = 20  # chat early warning: within this many messages
FINANCE_THRESHOLD = 0.6  # customer score that puts a ledger customer in front of an analyst
MAX_PIXELS = 120_000_000  # about 2x a 50 MP camera; bigger images keep their exact hashes only
MAX_RATIO = 100.0  # archive inflated:compressed ratio that counts as a decompression bomb
ITEM_TIMEOUT = 300.0  # seconds a scan item may go without progress before it counts as hung
ITEM_MEMORY_MIB = 1536  # resident MiB a hashing process may use before its item counts as out of memory
