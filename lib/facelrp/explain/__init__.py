"""Explanations: LRP maps, relevance by face part, sanity checks, the planted-ground-truth control."""
