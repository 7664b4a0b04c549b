"""Memory of a process, from Linux's /proc: resident (RSS) and unique (USS) set sizes."""

from __future__ import annotations

import glob
from dataclasses import dataclass

MIB_IN_KIB = 1024


@dataclass(frozen=True)
class Memory:
    """A process's memory in MiB (or a tree's, summed). USS counts only pages no other process
    shares."""

    rss: float
    uss: float
    processes: int = 1


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


def children_of(pid: int) -> list[int]:
    """The children of pid, forked by any of its threads (/proc/PID/task/TID/children)."""
    found: list[int] = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(path) as children:
                found += [int(child) for child in children.read().split()]
        except OSError:
            continue  # the thread ended meanwhile
    return found


def descendants_of(pid: int) -> list[int]:
    """pid's children, their children, and so on."""
    found: list[int] = []
    waiting = children_of(pid)
    while waiting:
        child = waiting.pop()
        found.append(child)
        waiting += children_of(child)
    return found


def memories_of_tree(pid: int) -> list[Memory]:
    """The memory of pid, then of each of its descendants, parents before their children;
    processes that end meanwhile are left out."""
    found = []
    for member in [pid, *descendants_of(pid)]:
        try:
            found.append(memory_of(member))
        except (OSError, KeyError):  # gone, or a zombie (its rollup is empty)
            continue
    return found


def memory_of_tree(pid: int) -> Memory:
    """RSS and USS summed over pid and its descendants: a sandboxed engine is its namespace's
    init (the pid the backend lists) and the engine, its child; exec'd, the launcher too."""
    members = memories_of_tree(pid)
    if not members:
        raise ProcessLookupError(f"no process {pid}")
    return total(members)


def total(members: list[Memory]) -> Memory:
    """Several processes' memory, summed."""
    return Memory(
        rss=sum(m.rss for m in members),
        uss=sum(m.uss for m in members),
        processes=sum(m.processes for m in members),
    )


KERNEL_FIELDS = ("PageTables", "KernelStack", "SUnreclaim")


def kernel_mib() -> float:
    """The kernel's own memory for processes (MiB, from /proc/meminfo): page tables, kernel
    stacks and unreclaimable slab (namespaces, mounts, sockets, pids) — what no USS counts."""
    found = {}
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            name, _, rest = line.partition(":")
            if name in KERNEL_FIELDS:
                found[name] = int(rest.split()[0])
    if len(found) != len(KERNEL_FIELDS):
        raise OSError(f"/proc/meminfo lacks some of {', '.join(KERNEL_FIELDS)}")
    return sum(found.values()) / MIB_IN_KIB
