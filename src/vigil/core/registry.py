"""A named plug-in registry, so new hash types, list formats and classifiers need no if-chains."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from vigil.core.errors import Conflict, UnknownName

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a lowercase name to a plug-in; unknown names fail with the known ones listed."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        key = name.lower()
        if key in self._items:
            raise Conflict(f"{self.kind} {name!r} is already registered")
        self._items[key] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        def deco(item: T) -> T:
            return self.add(name, item)

        return deco

    def remove(self, name: str) -> T:
        """Unregister (a plug-in unloaded, a test's own type); unknown names fail as in `get`."""
        item = self.get(name)
        del self._items[name.lower()]
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name.lower()]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise UnknownName(f"unknown {self.kind} {name!r} (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def names(self) -> list[str]:
        return sorted(self._items)

    def __iter__(self) -> Iterator[tuple[str, T]]:
        return iter(sorted(self._items.items()))
