"""Machine description printed at the top of every benchmark: lscpu's model name and flags."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess


def lscpu_summary() -> str:
    """'CPU: <model name> (<n> cores)' and 'CPU flags: ...' from lscpu (or /proc/cpuinfo)."""
    model, flags = "", ""
    if shutil.which("lscpu"):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            key, _, val = line.partition(":")
            if key.strip() == "Model name" and not model:
                model = val.strip()
            elif key.strip() == "Flags":
                flags = val.strip()
    if not model and os.path.exists("/proc/cpuinfo"):
        for line in open("/proc/cpuinfo"):
            key, _, val = line.partition(":")
            if key.strip() == "model name" and not model:
                model = val.strip()
            elif key.strip() == "flags" and not flags:
                flags = val.strip()
    model = model or platform.processor() or "unknown"
    return f"CPU: {model} ({os.cpu_count()} logical cores)\nCPU flags: {flags or 'unknown'}"


def print_machine() -> None:
    print(lscpu_summary(), flush=True)
