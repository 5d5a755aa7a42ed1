"""Reproduction of Crawford et al. (2020): validation and generalization of pixel-wise relevance
in CNNs trained for face classification, as a Jupyter Book with live results."""

__version__ = "0.1.0"
