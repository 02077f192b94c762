"""Analyzers turn payload text into facts (commands, paths, hosts, amounts).

They never decide; the layers map their facts to verdicts.
"""
