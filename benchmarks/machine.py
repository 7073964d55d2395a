"""What machine a benchmark ran on, for the line printed beside its figures."""

from __future__ import annotations

import platform
import subprocess


def cpu_model() -> str:
    """lscpu's model name (e.g. 'AMD EPYC 9B14'), else what Python knows."""
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in output.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"
