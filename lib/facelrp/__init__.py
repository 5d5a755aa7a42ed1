"""Reproduction of Crawford et al. (2020): validation and generalization of pixel-wise relevance
in CNNs trained for face classification, as a Jupyter Book with live results."""

__version__ = "0.1.0"

import os as _os

if _os.environ.get("FACELRP_RECORD_READS"):  # tests/test_book.py: which files a page opens
    from .book.reads import record_reads as _record_reads

    _record_reads(_os.environ["FACELRP_RECORD_READS"])
