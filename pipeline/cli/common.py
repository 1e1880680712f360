"""What several command families share."""
from __future__ import annotations

import sys
from pathlib import Path


def config_or_say(path: Path, why: str = ""):
    """The config at `path` (a pipeline.core.config.Config), or None after saying on stderr
    `betpipe: <why><the ConfigError>`; the caller then exits 2 (an invalid config)."""
    from pipeline.core.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as e:
        print(f"betpipe: {why}{e}", file=sys.stderr)
        return None
