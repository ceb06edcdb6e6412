"""Model kinds, each declared once: one `Kind` per file of this package, or in a plugin.

A kind ("gan", "vae", "denoise", ...) ties together everything the rest of the package needs
to know about one sort of model: the modules that register its families, its training Task,
its dataset builder and that builder's arguments, the inference pipeline written into
model_index.json, its evaluator, the studio pages that list it, and its config section. Every
other part reads these declarations instead of keeping its own list (docs/architecture.md,
"How to add a model kind").

The declarations name code by reference ("module:attribute" strings, or the objects themselves
in a plugin), so this part imports nothing of the package: each layer resolves the references
it owns (`resolve`) when it first needs them, and the layer table stays one-way.

Kinds are found, on first use, in three places:
- the modules of this package (`pixelforge/kinds/<name>.py`), each defining `KIND`;
- the `pixelforge.kinds` entry-point group of installed distributions (an entry point may name
  a module defining `KIND`, or a `Kind` object);
- `PIXELFORGE_PLUGINS`: module names or .py file paths, separated by commas, each defining
  `KIND` (or `KINDS`, a list).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pixelforge.errors import UserError
from pixelforge.registry import Registry

PLUGINS_ENV = "PIXELFORGE_PLUGINS"
ENTRY_POINT_GROUP = "pixelforge.kinds"
PAGES = ("generate", "interpolate", "restore")  # the studio's built-in pages that list runs
Ref = Any  # "package.module:attribute", or the object itself


@dataclass(frozen=True)
class Kind:
    """The one declaration of a model kind.

    name:           the kind written in model_index.json and in `register_family(.., kind)`.
    models:         modules whose import registers the kind's families (`--model NAME`).
    task:           the training Task class; a {family: Task} mapping when families train
                    differently; None: not trainable with `pixelforge train`.
    data:           the dataset builder `fn(cfg, *, download, **options)` (or {family: builder}).
    data_options:   explicit keyword arguments for the builder (e.g. {"task": "upscale"}).
    data_model_options: model options (model.params, else the network's default) the builder
                    receives as keyword arguments (e.g. ("scale",)).
    pipeline:       the inference pipeline's registered name, written into model_index.json.
    pipeline_class: the Pipeline class registered under that name.
    evaluator:      `fn(EvalRequest) -> scores` run by `pixelforge eval`; None: no evaluation.
    eval_split:     the real split `pixelforge eval` compares with by default.
    studio:         the ids of the studio pages that list the kind's runs (e.g. PAGES).
    config:         (section name, pydantic model): a config section of its own, if any.
    """

    name: str
    models: tuple[str, ...] = ()
    task: Ref | Mapping[str, Ref] | None = None
    data: Ref | Mapping[str, Ref] | None = None
    data_options: Mapping[str, Any] = field(default_factory=dict)
    data_model_options: tuple[str, ...] = ()
    pipeline: str | None = None
    pipeline_class: Ref | None = None
    evaluator: Ref | None = None
    eval_split: str = "train"
    studio: tuple[str, ...] = ()
    config: tuple[str, Ref] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.eval_split not in ("train", "test"):
            raise ValueError(f"kind {self.name!r}: eval_split must be train or test")

    def task_for(self, family: str) -> Ref | None:
        """The Task (reference) that trains `family` of this kind, or None."""
        return _per_family(self.task, family)

    def data_for(self, family: str) -> Ref | None:
        """The dataset builder (reference) `family` of this kind trains on, or None."""
        return _per_family(self.data, family)

    @property
    def trainable(self) -> bool:
        return self.task is not None


def _per_family(value: Any, family: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(family)
    return value


def resolve(ref: Ref) -> Any:
    """The object a reference names ("package.module:attribute"); objects pass through."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def import_all(modules: tuple[str, ...] | list[str]) -> None:
    """Import modules by name (registering what they declare)."""
    for name in modules:
        importlib.import_module(name)


# -- discovery -----------------------------------------------------------------------------------

def _kinds_of(module: ModuleType | Any, source: str) -> list[Kind]:
    if isinstance(module, Kind):
        return [module]
    found = getattr(module, "KINDS", None) or ([module.KIND] if hasattr(module, "KIND") else [])
    if not found or not all(isinstance(k, Kind) for k in found):
        raise UserError(f"{source}: a pixelforge kind plugin must define KIND = Kind(...) "
                        "(pixelforge.kinds.Kind)")
    return list(found)


def _import_plugin(entry: str) -> ModuleType:
    """A plugin by module name, or by the path of a .py file."""
    try:
        if entry.endswith(".py"):
            path = Path(entry).expanduser().resolve()
            if not path.is_file():
                raise UserError(f"{PLUGINS_ENV}: no such file {entry!r}")
            name = f"pixelforge_plugin_{path.stem}"
            if name in sys.modules:
                return sys.modules[name]
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)  # type: ignore[union-attr]
            except BaseException:
                sys.modules.pop(name, None)
                raise
            return module
        return importlib.import_module(entry)
    except ImportError as exc:
        raise UserError(f"{PLUGINS_ENV}: cannot import plugin {entry!r} ({exc})") from None


def plugin_entries() -> list[str]:
    """The plugins named in PIXELFORGE_PLUGINS, in order."""
    text = os.environ.get(PLUGINS_ENV, "")
    return [e.strip() for e in text.replace(os.pathsep, ",").split(",") if e.strip()]


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def _discover(registry: Registry[Kind]) -> None:
    """Built-in kinds, then entry points, then PIXELFORGE_PLUGINS (a name declared twice fails)."""
    found: list[tuple[str, Kind]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            mod = importlib.import_module(f"{__name__}.{info.name}")
            found += [(mod.__name__, k) for k in _kinds_of(mod, mod.__name__)]
    for ep in _entry_points():
        found += [(f"entry point {ep.name}", k) for k in _kinds_of(ep.load(), ep.value)]
    for entry in plugin_entries():
        found += [(entry, k) for k in _kinds_of(_import_plugin(entry), entry)]
    for source, kind in found:
        if kind.name in registry and registry.get(kind.name) != kind:
            raise UserError(f"{source}: model kind {kind.name!r} is declared twice")
        registry.register(kind.name)(kind)


KINDS: Registry[Kind] = Registry("model kind", loader=_discover)


def all_kinds() -> list[Kind]:
    """Every declared kind, by name."""
    return [KINDS.get(n) for n in KINDS.names()]


def kind_of(name: str) -> Kind:
    """The declaration of kind `name`; a UserError naming the known kinds otherwise."""
    return KINDS.get(name)


def kinds_on_page(page: str) -> list[Kind]:
    """The kinds whose runs the studio page `page` lists."""
    return [k for k in all_kinds() if page in k.studio]
