"""Adapter registries and the check of declared capabilities (DESIGN: Layout — sources and
bookmakers are each a protocol + a registry).

A registry maps a config name to "module:Class" (imported on use: a name is cheap to list, a
browser adapter is not cheap to import). An adapter class declares what it can do in a frozen
`capabilities` dataclass of its kind (bookmakers.Capabilities, sources.Capabilities); `check`
refuses an adapter that lacks a member its kind always needs or one a capability it declares
needs — an `AdapterError` naming the kind, the adapter and the missing member — so a program
reads `adapter.capabilities` and never probes with getattr/hasattr. The kinds' packages say
which members each capability needs; this module knows no kind.
"""
from __future__ import annotations

import importlib
from typing import Iterable, Mapping

from pipeline.core.errors import BetpipeError


class AdapterError(BetpipeError, TypeError):
    """An adapter that is not what its registry or its declared capabilities promise."""


def load(kind: str, registry: Mapping[str, str], name: str) -> type:
    """The adapter class registered as `name` (imported now)."""
    target = registry.get(name)
    if target is None:
        raise AdapterError(f"no {kind} named {name!r}; the registry has "
                           f"{', '.join(repr(n) for n in registry)}")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def label(kind: str, adapter, name: str | None = None) -> str:
    cls = adapter if isinstance(adapter, type) else type(adapter)
    return f"{kind} {name!r} ({cls.__qualname__})" if name else f"{kind} {cls.__qualname__}"


def check(kind: str, adapter, capabilities_type: type, attributes: Iterable[str],
          methods: Iterable[str], needs: Mapping[str, Iterable[str]], name: str | None = None):
    """`adapter` (a class or an instance) when it declares its `capabilities` as a
    `capabilities_type`, has its kind's `attributes` and `methods`, and every method `needs[c]`
    of each capability `c` it declares true; else AdapterError saying which adapter lacks what."""
    who = label(kind, adapter, name)
    caps = getattr(adapter, "capabilities", None)  # the one place that asks
    if not isinstance(caps, capabilities_type):
        raise AdapterError(f"{who} declares no capabilities: give the class "
                           f"`capabilities = {capabilities_type.__module__}."
                           f"{capabilities_type.__qualname__}(...)`")
    for member in () if isinstance(adapter, type) else attributes:  # an instance's: __init__'s
        if not hasattr(adapter, member):
            raise AdapterError(f"{who} has no {member}, which every {kind} needs")
    for member in methods:
        if not callable(getattr(adapter, member, None)):
            raise AdapterError(f"{who} has no {member}() method, which every {kind} needs")
    for capability, members in needs.items():
        if not getattr(caps, capability):
            continue
        for member in members:
            if not callable(getattr(adapter, member, None)):
                raise AdapterError(f"{who} declares {capability} but has no {member}() method")
    return adapter


def at_least_one(kind: str, adapter, capability: str, unit: str, name: str | None = None) -> None:
    """AdapterError unless the adapter declares `capability` as a whole number (of `unit`) of at
    least 1 (a bool is no number here)."""
    value = getattr(adapter.capabilities, capability)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise AdapterError(f"{label(kind, adapter, name)} declares {capability} {value!r}: a "
                           f"whole number of {unit}, at least 1")


def registered(kind: str, registry: Mapping[str, str], name: str, check_adapter,
               capabilities_type: type, builders: Iterable[str]) -> type:
    """The class registered as `name`, checked by its kind's `check_adapter` and for the
    class-level `builders` its kind's programs call."""
    cls = check_adapter(load(kind, registry, name), name)
    return check(kind, cls, capabilities_type, (), builders, {}, name)
