"""Decisions: the four layers, the analyzers they use, and the policy language."""
