"""Memory of a process, from Linux's /proc: resident (RSS) and unique (USS) set sizes."""

from __future__ import annotations

from dataclasses import dataclass

MIB_IN_KIB = 1024


@dataclass(frozen=True)
class Memory:
    """A process's memory in MiB. USS counts only pages no other process shares."""

    rss: float
    uss: float


def memory_of(pid: int) -> Memory:
    """RSS and USS (Private_Clean + Private_Dirty) of pid, from /proc/PID/smaps_rollup."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                fields[name] = int(parts[0])
    uss = fields["Private_Clean"] + fields["Private_Dirty"]
    return Memory(rss=fields["Rss"] / MIB_IN_KIB, uss=uss / MIB_IN_KIB)
