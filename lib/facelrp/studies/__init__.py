"""The related studies: attribute probing (Diniz & Schwartz), gated inference graphs (Garg et al.)."""
