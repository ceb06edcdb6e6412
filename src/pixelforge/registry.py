"""A tiny name -> object registry; every model family, loss and metric registers itself here.

A registry may have a `loader`: called once, before the first lookup, to fill it lazily (the
model-kind registries fill themselves from the kind declarations in pixelforge.kinds)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from pixelforge.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps stable public names (used in configs and checkpoints) to objects."""

    def __init__(self, kind: str, loader: Callable[[Registry[T]], None] | None = None) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._loader, self._loaded = loader, loader is None

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True  # first: a lookup during loading sees what is there so far
            try:
                self._loader(self)  # type: ignore[misc]
            except BaseException:
                self._loaded = False
                raise

    def add(self, name: str, obj: T) -> None:
        """Register `obj` under `name` unless the name is taken (loaders: explicit wins)."""
        self._items.setdefault(name, obj)

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._items[name]
        except KeyError:
            raise UserError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        self._load()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
