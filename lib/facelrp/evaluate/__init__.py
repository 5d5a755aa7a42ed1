"""Evaluation of the maps: masking and its fills, comparison bins, statistics, verdicts, rank-2."""
