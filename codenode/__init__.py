"""Codenode: a notebook server whose engines run in backends anywhere on the network."""

__version__ = "0.1.0"
