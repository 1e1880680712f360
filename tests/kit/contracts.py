"""The contracts in ../shared/contracts, real data paths, free ports."""
from __future__ import annotations

import json

import jsonschema
from referencing import Registry, Resource

from pipeline.core.paths import REPO
from pipeline.harness.supervise import free_port  # noqa: F401  (the one free-port rule)

SHARED = REPO.parent / "shared"
CONTRACTS = SHARED / "contracts"
FOOTBALL_DATA = SHARED / "data" / "football-data"
HKJC_DATA = SHARED / "data" / "hkjc"

_schemas = {p.name: json.loads(p.read_text()) for p in CONTRACTS.glob("*.schema.json")}
_registry = Registry().with_resources([(n, Resource.from_contents(s)) for n, s in _schemas.items()])


def contract_errors(schema: str, doc) -> list[str]:
    """Messages for every way `doc` breaks ../shared/contracts/<schema>.schema.json."""
    validator = jsonschema.Draft202012Validator(_schemas[f"{schema}.schema.json"], registry=_registry)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]


def assert_contract(schema: str, doc) -> None:
    errors = contract_errors(schema, doc)
    assert not errors, f"{schema}: {errors[:5]}"
