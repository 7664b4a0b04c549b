"""What a workspace size limit costs (codenode/backend/images.py): making a workspace's image,
mounting it again after a backend restart, growing it, and the disk it takes.

Run as root, in a child process with a mount namespace of its own, as `codenode backend` runs:
whatever the run mounts goes with that child. Without root the table says why it is empty.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Table, median, number, percentile

SIZE_MB = 10240  # the shipped types' limit
COLUMNS = ("measure", "median", "p99", "n")


def measure(count: int) -> dict[str, list[float]]:
    """In this (fresh) process: the timings, in ms, and the disk taken, in MiB."""
    from codenode.backend.images import Images, enter_own_mount_namespace, share_root

    if not enter_own_mount_namespace():
        raise SystemExit("no mount namespace of its own here")
    root = Path(tempfile.mkdtemp(prefix="codenode-bench-workspaces-"))
    share_root(root)
    images = Images(root)
    timings: dict[str, list[float]] = {"make": [], "remount": [], "grow": [], "disk": []}
    for number_ in range(count):
        key = f"bench-{number_}"
        (root / key).mkdir(mode=0o700)
        os.chown(root / key, 2_900_000 + number_, 2_900_000 + number_)
        started = time.perf_counter()
        images.limit(key, 2_900_000 + number_, 2_900_000 + number_, SIZE_MB)
        timings["make"].append((time.perf_counter() - started) * 1000)
        image = images.folder / f"{key}.ext4"
        timings["disk"].append(os.stat(image).st_blocks * 512 / (1 << 20))
        subprocess.run(["umount", str(root / key)], check=True)
        started = time.perf_counter()
        images.limit(key, 0, 0, SIZE_MB)  # as after a restart: mounted again
        timings["remount"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        images.limit(key, 0, 0, SIZE_MB * 2)
        timings["grow"].append((time.perf_counter() - started) * 1000)
    images.close()
    # Every image, and share_root's bind onto itself (this process's namespace goes anyway).
    subprocess.run(["umount", "--recursive", str(root)], check=True)
    subprocess.run(["rm", "-rf", str(root)], check=True)
    return timings


def run(quick: bool) -> list[Table]:
    count = 5 if quick else 20
    table = Table("Workspace limits: what an image costs", columns=COLUMNS)
    if os.geteuid() != 0:
        table.notes.append("Not measured: workspace images need root (loop devices, mounts).")
        return [table]
    code = f"import json, bench.workspaces as w; print(json.dumps(w.measure({count})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        table.notes.append(f"Not measured: {done.stderr.strip()[-1500:]}")
        return [table]
    timings = json.loads(done.stdout.strip().splitlines()[-1])
    for name, label, unit in (
        ("make", f"make a workspace's {SIZE_MB // 1024} GiB image and mount it", "ms"),
        ("remount", "mount it again (a backend's first use after a restart)", "ms"),
        ("grow", f"grow it to {SIZE_MB // 512} GiB, unmounted (no engine in it)", "ms"),
        ("disk", "disk taken by an empty image", "MiB"),
    ):
        values = timings[name]
        table.rows.append(
            [
                f"{label} ({unit})",
                number(median(values)),
                number(percentile(values, 99)),
                str(len(values)),
            ]
        )
    table.notes.append(
        "Images.limit as POST /engines calls it for a type with limits.workspace_mb, in a child"
        " process with a mount namespace of its own (as `codenode backend`): mkfs.ext4 on a"
        " sparse file, mount -o loop; once per workspace and backend run, not per engine start."
    )
    return [table]
