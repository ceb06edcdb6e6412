"""Inference pipelines by name: what `pixelforge.load(path)` returns for a checkpoint's index.

A pipeline wraps the networks of one checkpoint (its components) and offers the verbs that make
sense for them. To add one, subclass Pipeline, set `main_component`, and decorate it with
`@register_pipeline("name")`; a Task that writes `pipeline = "name"` into model_index.json then
loads as that class.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import torch

from pixelforge.checkpoint import INDEX_FILE, load_component, read_index, resolve_checkpoint
from pixelforge.errors import UserError
from pixelforge.models.base import MODELS, PixelforgeModule
from pixelforge.registry import Registry


class Pipeline:
    """Networks of one checkpoint by component name, plus the verbs of one kind of model."""

    name: ClassVar[str] = ""
    main_component: ClassVar[str] = ""  # the network `model` returns
    required: ClassVar[tuple[str, ...]] = ()  # components that must be present

    def __init__(self, components: dict[str, PixelforgeModule], *,
                 index: dict[str, Any] | None = None) -> None:
        if not components:
            raise UserError(f"pipeline {self.name!r} needs at least one network")
        missing = [c for c in self.required if c not in components]
        if missing:
            raise UserError(f"pipeline {self.name!r} needs the component {missing[0]!r}; "
                            f"the checkpoint has {', '.join(sorted(components))}")
        self.components = dict(components)
        self.index = dict(index or {})

    @property
    def model(self) -> PixelforgeModule:
        """The main network: `main_component`, or the only one when there is just one."""
        if self.main_component in self.components:
            return self.components[self.main_component]
        if len(self.components) == 1:
            return next(iter(self.components.values()))
        raise UserError(f"pipeline {self.name!r}: no component {self.main_component!r} among "
                        f"{', '.join(sorted(self.components))}")

    def component(self, name: str) -> PixelforgeModule:
        if name not in self.components:
            raise UserError(f"no component {name!r}; this checkpoint has "
                            f"{', '.join(sorted(self.components))}")
        return self.components[name]

    def to(self, device: str | torch.device) -> Pipeline:
        for net in self.components.values():
            net.to(device)
        return self

    @property
    def family(self) -> str:
        """The model family (registry name) of the checkpoint, e.g. "dcgan"."""
        return str(self.index.get("model") or self.model.family)

    @property
    def kind(self) -> str:
        """The model kind of the checkpoint ("gan", "vae", "upscale", ...)."""
        if isinstance(self.index.get("kind"), str):
            return self.index["kind"]
        return MODELS.get(self.family).kind if self.family in MODELS else ""

    def export_onnx(self, path: str | Path, *, component: str | None = None,
                    **options: Any) -> Path:
        """Write the main network (or `component`) as an ONNX file; see export.export_onnx."""
        from pixelforge.pipelines.export import export_onnx

        net = self.component(component) if component is not None else self.model
        return export_onnx(net, path, **options)

    def __repr__(self) -> str:
        nets = ", ".join(f"{k}={type(v).__name__}" for k, v in self.components.items())
        return f"{type(self).__name__}({nets})"


def _load_pipelines(registry: Registry[type[Pipeline]]) -> None:
    """The pipeline every model kind declares (pixelforge.kinds), under the name it declares."""
    from pixelforge.kinds import all_kinds, resolve

    for kind in all_kinds():
        if kind.pipeline and kind.pipeline_class is not None:
            registry.add(kind.pipeline, resolve(kind.pipeline_class))


PIPELINES: Registry[type[Pipeline]] = Registry("pipeline", loader=_load_pipelines)


def register_pipeline(name: str) -> Callable[[type[Pipeline]], type[Pipeline]]:
    """Class decorator: register a Pipeline subclass under the name written in checkpoints."""

    def deco(cls: type[Pipeline]) -> type[Pipeline]:
        cls.name = name
        PIPELINES.register(name)(cls)
        return cls

    return deco


def load_pipeline(path: str | Path, *, component: str | None = None,
                  map_location: str = "cpu") -> Any:
    """Load a run folder (its latest checkpoint) or a checkpoint folder: the pipeline named in
    its model_index.json (for a folder holding one network that no pipeline runs, e.g. a
    discriminator, that network), or with `component` the one network of that name.
    `pixelforge.load` is this function."""
    ckpt = resolve_checkpoint(path)
    index = read_index(ckpt)
    comps: dict[str, str] = index["components"]
    if component is not None:
        if component not in comps:
            raise UserError(f"{ckpt}: no component {component!r}; it has "
                            f"{', '.join(sorted(comps))}")
        return load_component(ckpt / comps[component], map_location=map_location)
    nets = {name: load_component(ckpt / sub, map_location=map_location)
            for name, sub in comps.items()}
    if index.get("pipeline") is None:
        return next(iter(nets.values()))
    if index["pipeline"] not in PIPELINES:
        raise UserError(f"{ckpt / INDEX_FILE}: unknown pipeline {index['pipeline']!r}; this "
                        f"pixelforge knows {', '.join(PIPELINES.names())}")
    return PIPELINES.get(index["pipeline"])(nets, index=index)
