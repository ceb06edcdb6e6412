"""Base classes: every network is a registered, hub-shareable module (config.json + safetensors)."""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from huggingface_hub import PyTorchModelHubMixin
from safetensors.torch import load_file
from torch import nn

from pixelforge.errors import UserError
from pixelforge.registry import Registry


class PixelforgeModule(nn.Module, PyTorchModelHubMixin, library_name="pixelforge"):
    """nn.Module whose constructor arguments are its config; saves as config.json + model.safetensors."""

    family: ClassVar[str] = ""
    role: ClassVar[str] = ""

    def pixelforge_meta(self) -> dict[str, Any]:
        from pixelforge import __version__

        return {"model": self.family, "role": self.role, "version": __version__}

    def save_pretrained(self, save_directory: str | Path, *, config: dict | None = None, **kwargs):
        """Like PyTorchModelHubMixin.save_pretrained, plus the registry name in config.json."""
        config = dict(config if config is not None else (self._hub_mixin_config or {}))
        config["_pixelforge"] = self.pixelforge_meta()
        return super().save_pretrained(save_directory, config=config, **kwargs)

    @classmethod
    def load_folder(cls, folder: str | Path, config: dict[str, Any], *,
                    map_location: str = "cpu") -> PixelforgeModule:
        """Build this network from `config` (the keys its constructor takes) and load
        `<folder>/model.safetensors` strictly, in eval mode. The one way a network is loaded:
        `checkpoint.load_component` (which picks the class from config.json) and
        `from_pretrained` both end here. Every failure (a config the class refuses, missing,
        truncated or foreign weights, a pickle in their place, weights that do not fit) is a
        UserError naming the file; nothing is ever unpickled."""
        folder = Path(folder)
        config_path, weights = folder / "config.json", folder / "model.safetensors"
        what = f"{cls.family or cls.__name__} {cls.role}".strip()
        params = inspect.signature(cls).parameters
        try:
            model = cls(**{k: v for k, v in config.items() if k in params})
        except UserError as exc:
            raise UserError(f"{config_path}: {exc}") from None
        except (TypeError, ValueError, RuntimeError) as exc:
            raise UserError(f"{config_path} does not describe a {what}: {exc}") from None
        if not weights.is_file():
            raise UserError(f"{weights} is missing")
        try:
            state = load_file(str(weights), device=map_location)
        except Exception as exc:  # SafetensorError, OSError: truncated, garbage or a pickle
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"{weights} is not a readable safetensors file ({reason})") from None
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            lines = str(exc).strip().splitlines()
            detail = lines[1].strip() if len(lines) > 1 else (lines[0] if lines else "")
            raise UserError(f"{weights} does not fit the {what} of {config_path} "
                            f"({detail[:200]})") from None
        return model.to(map_location).eval()

    @classmethod
    def _from_pretrained(cls, *, model_id: str, map_location: str = "cpu", **kwargs):
        """The hub mixin's hook: a local folder, or a hub repo's model.safetensors downloaded
        beside its config.json, loaded strictly by load_folder (never a pickled
        pytorch_model.bin, which the mixin would fall back to)."""
        folder = model_id
        if not os.path.isdir(model_id):
            from huggingface_hub import hf_hub_download

            hub = ("revision", "cache_dir", "force_download", "token", "local_files_only")
            folder = os.path.dirname(hf_hub_download(
                repo_id=model_id, filename="model.safetensors",
                **{k: kwargs[k] for k in hub if k in kwargs}))
        return cls.load_folder(folder, kwargs, map_location=map_location)


class Generator(PixelforgeModule):
    """Maps latent vectors [N, latent_dim] to images [N, C, H, W] in [-1, 1].

    The batched sampling loop lives in pixelforge.pipelines (sampling.generate_images, or
    `pixelforge.load(run).generate(n, seed=...)`): networks know nothing about devices or chunks.
    """

    role = "generator"
    latent_dim: int
    image_size: int
    channels: int

    num_classes: int = 0  # > 0: class-conditional, forward(z, labels)

    def sample_latent(self, n: int, seed: int | None = None) -> torch.Tensor:
        g = torch.Generator().manual_seed(int(seed)) if seed is not None else None
        return torch.randn(n, self.latent_dim, generator=g)

    def default_labels(self, n: int) -> torch.Tensor | None:
        """Classes cycled 0, 1, ..., K-1, 0, ... so unlabelled sampling covers every class."""
        return torch.arange(n) % self.num_classes if self.num_classes else None

    def resolve_labels(self, labels: Any, n: int) -> torch.Tensor | None:
        """None (cycle classes), one class for all, or one per image -> long [N]; checked."""
        if labels is None:
            return self.default_labels(n)
        if not self.num_classes:
            raise UserError(f"{self.family or type(self).__name__} is not class-conditional; "
                            "it takes no class labels")
        y = torch.as_tensor(labels, dtype=torch.long).flatten()
        if y.numel() == 1:
            y = y.expand(n).clone()
        if y.numel() != n:
            raise UserError(f"labels: got {y.numel()} labels for {n} images")
        bad = y[(y < 0) | (y >= self.num_classes)]
        if bad.numel():
            raise UserError(f"class {int(bad[0])} is out of range: this generator has classes "
                            f"0..{self.num_classes - 1}")
        return y

    def synthesize(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                   truncation: float | None = None) -> torch.Tensor:
        """Images for latents z; truncation psi in (0, 1] pulls z toward the prior's mean (0),
        trading diversity for fidelity. Style-based generators override this to truncate in W."""
        if truncation is not None:
            z = z * truncation
        return self(z, labels) if self.num_classes else self(z)


@dataclass(frozen=True)
class Family:
    """A registered model family: its kind ("gan", "classifier", ...) and its networks by role."""

    name: str
    kind: str
    networks: dict[str, type[PixelforgeModule]] = field(default_factory=dict)

    def options(self, role: str) -> list[str]:
        sig = inspect.signature(self.networks[role])
        return [p for p in sig.parameters if p not in ("self",)]

    def build(self, role: str, **kwargs: Any) -> PixelforgeModule:
        """Build one network, passing only the options its constructor takes."""
        cls = self.networks.get(role)
        if cls is None:
            raise UserError(f"model {self.name!r} has no {role}")
        allowed = self.options(role)
        return cls(**{k: v for k, v in kwargs.items() if k in allowed})

    def option(self, name: str, params: dict[str, Any]) -> Any:
        """params[name], else the constructor default of the first network taking `name`."""
        if name in params:
            return params[name]
        for cls in self.networks.values():
            p = inspect.signature(cls).parameters.get(name)
            if p is not None and p.default is not inspect.Parameter.empty:
                return p.default
        return None

    def check_params(self, params: dict[str, Any]) -> None:
        allowed = sorted({o for r in self.networks for o in self.options(r)})
        for key in params:
            if key not in allowed:
                raise UserError(f"model.params.{key}: not an option of {self.name!r}; "
                                f"allowed: {', '.join(allowed)}")


def _load_families(registry: Registry[Family]) -> None:
    """Import the modules of every declared kind (pixelforge.kinds): each registers its families."""
    from pixelforge.kinds import all_kinds, import_all

    for kind in all_kinds():
        import_all(kind.models)


MODELS: Registry[Family] = Registry("model", loader=_load_families)


def register_family(name: str, kind: str, **networks: type[PixelforgeModule]) -> Family:
    """Register a family and stamp its name and role on each network class."""
    for role, cls in networks.items():
        cls.family = name
        cls.role = role
    fam = Family(name=name, kind=kind, networks=dict(networks))
    MODELS.register(name)(fam)
    return fam
