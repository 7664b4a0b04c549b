"""A tab that stops reading while another prints a flood: the frontend's memory stays bounded.

Found by trying: each 20 MB print cost ~25 MB more, held with no end, because a tab's queue
counted messages, not bytes. Now a tab falls behind by 16 MiB at most, and is then closed
(4008); reconnecting, it gets the notebook with the stored outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

from websockets.exceptions import ConnectionClosed

from tests.frontend.live import LiveFrontend
from tests.frontend.test_bus import opened, run

FLOOD = "print('x' * 20_000_000)"
RUNS = 8


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(pid)


def test_a_stalled_tab_costs_bounded_memory_and_is_closed(frontend: LiveFrontend) -> None:
    assert frontend.process is not None
    owner = frontend.user()
    notebook = frontend.notebook(owner.user["username"])  # type: ignore[index]
    cell = notebook["cells"][0]
    with opened(owner, notebook["id"]) as (reader, _), owner.bus(notebook["id"]) as stalled:
        stalled.recv(timeout=10)  # the notebook; then it reads nothing more
        run(reader, cell, "1")  # the engine is up: what follows is the flood alone
        sizes = []
        for _ in range(RUNS):
            answer = run(reader, cell, FLOOD, timeout=120)
            assert "error" not in answer[-1], answer[-1]
            sizes.append(rss_mib(frontend.process.pid))
        # The first floods raise the allocator's high-water mark; a leak is what keeps growing
        # after that. Unbounded, the stalled tab held ~25 MiB more per flood: ~100 MiB here.
        grown = sizes[-1] - sizes[RUNS // 2 - 1]
        assert grown < 40, f"the frontend grew by {grown:.0f} MiB over the last floods: {sizes}"
        code = None
        try:
            while True:
                stalled.recv(timeout=30)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
        assert code == 4008
    # Reconnecting, the tab gets the notebook as stored (the output is capped, not lost).
    with opened(owner, notebook["id"]) as (_, first):
        stored = next(c for c in first["cells"] if c["id"] == cell)
        assert json.dumps(stored["outputs"]).count("x") > 1_000_000
