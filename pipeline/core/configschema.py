"""The JSON Schema of system-config.json (`betpipe config schema`), from the pydantic models of
config.py with every field's description (confighelp.py), and `"$schema"` allowed at the top."""
from __future__ import annotations

from pathlib import Path

from pipeline.core.config import Config, ConfigError, parse_config, read_config_bytes
from pipeline.core.confighelp import HELP
from pipeline.core.filebus import atomic_write_bytes, dumps

SCHEMA_NAME = "system-config.schema.json"
SCHEMA_KEY = "$schema"


def config_schema() -> dict:
    schema = Config.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "betpipe system-config.json"
    schema["properties"] = {SCHEMA_KEY: {"type": "string"}, **schema["properties"]}
    for name, model in [("Config", schema), *schema.get("$defs", {}).items()]:
        for field, prop in model.get("properties", {}).items():
            text = HELP.get(name, {}).get(field)
            if text:
                prop["description"] = text
    return schema


def undescribed(schema: dict) -> list[str]:
    """`Model.field` of every property without a description (must be empty)."""
    models = [("Config", schema), *schema.get("$defs", {}).items()]
    return [f"{name}.{field}" for name, m in models for field, p in m.get("properties", {}).items()
            if not p.get("description")]


def write_schema(config_dir: Path) -> Path | None:
    """config/system-config.schema.json brought up to date; the path when it was (re)written."""
    path = Path(config_dir) / SCHEMA_NAME
    data = dumps(config_schema()) + b"\n"
    try:
        if path.read_bytes() == data:
            return None
    except OSError:
        pass
    atomic_write_bytes(path, data)
    return path


def check_file(path: Path) -> None:
    """ConfigError (file, JSON path, reason) unless the file is a config betpipe loads."""
    parse_config(read_config_bytes(path), Path(path))


__all__ = ["SCHEMA_NAME", "config_schema", "undescribed", "write_schema", "check_file", "ConfigError"]
