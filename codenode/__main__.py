"""``python -m codenode``: the same as the ``codenode`` command."""

from codenode.cli import main

main()
