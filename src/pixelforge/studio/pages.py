"""The studio's page registry: each `pages_*.py` module registers its tabs here, and build_app
builds the tabs from it in the order the pages declare. A new page is one new `pages_*.py` file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pixelforge.studio.context import Studio

PAGE_MODULE_PREFIX = "pages_"


@dataclass(frozen=True)
class Page:
    """One tab. `build(studio)` lays out the page inside its tab and returns what other pages
    may wire to (a model dropdown for `follows_gallery` pages). `link(own, built)` runs after
    every page is built, with `built` the (page, build result) pairs in tab order."""

    id: str
    title: str
    order: int  # tabs are shown by ascending order
    build: Callable[[Studio], Any]
    follows_gallery: bool = False  # picking a run in the gallery selects it on this page
    link: Callable[[Any, list[tuple[Page, Any]]], None] | None = None


PAGES: dict[str, Page] = {}


def register_page(page: Page) -> Page:
    """Add (or replace, by id) a page of the studio."""
    PAGES[page.id] = page
    return page


def page(id: str, title: str, order: int, *, follows_gallery: bool = False,
         link: Callable[[Any, list[tuple[Page, Any]]], None] | None = None):
    """Decorator form of register_page for a `build(studio)` function."""

    def deco(build: Callable[[Studio], Any]) -> Callable[[Studio], Any]:
        register_page(Page(id, title, order, build, follows_gallery, link))
        return build

    return deco


def discover() -> list[Page]:
    """Import every `pages_*` module of the studio package (each registers its pages) and
    return the pages in tab order."""
    import pixelforge.studio as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith(PAGE_MODULE_PREFIX):
            importlib.import_module(f"{package.__name__}.{info.name}")
    return sorted(PAGES.values(), key=lambda p: (p.order, p.id))
