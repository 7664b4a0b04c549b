"""Codenode's benchmarks: programs that measure Codenode side by side with the incumbents.

Each benchmark module runs both contenders in one process, on one machine, and returns
Markdown tables that can be pasted into docs/benchmarks.md. ``python -m bench`` runs them all;
``make bench`` installs what they need first. Tests never assert on wall time: these do not
pass or fail, they report.
"""
