"""Small contract points of the file verbs: --version, an all-black mask, API errors in API terms
mapped to flags by the CLI, and the one image-suffix list."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import pixelforge
from pixelforge.errors import UserError
from pixelforge.files.jobs import denoise_files

from .conftest import verb_argv


def test_version_prints_the_package_version(run_cli):
    code, out, err = run_cli(["--version"])
    assert (code, out.strip(), err) == (0, f"pixelforge {pixelforge.__version__}", "")


def test_an_all_black_mask_warns_and_copies_the_input(verb_models, run_cli, tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (12, 14, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.new("L", (14, 12), 0).save(tmp_path / "mask.png")
    code, out, err = run_cli(verb_argv("inpaint", verb_models, [tmp_path / "a.png"],
                                       tmp_path / "out", "--mask", str(tmp_path / "mask.png")))
    assert code == 0, err
    assert "warning: mask" in out and "nothing to fill" in out
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a.png")), pixels)


def test_api_errors_name_parameters_and_the_cli_names_flags(verb_models, run_cli, tmp_path):
    Image.new("RGB", (9, 9)).save(tmp_path / "a.png")
    pipe = pixelforge.load(verb_models["denoise"])
    with pytest.raises(UserError, match=r"^tile=-1: must be >= 0") as info:
        pipe.denoise(torch.zeros(1, 3, 9, 9), tile=-1)
    assert info.value.field == "tile"
    with pytest.raises(UserError, match=r"^fmt='gif': choose one of"):
        denoise_files(pipe, [tmp_path / "a.png"], tmp_path / "out", fmt="gif")
    with pytest.raises(UserError, match=r"pass overwrite=True"):
        denoise_files(pipe, [tmp_path / "a.png"], tmp_path)
    code, _, err = run_cli(verb_argv("denoise", verb_models, [tmp_path / "a.png"],
                                     tmp_path / "out", "--format", "gif"))
    assert code == 2 and err.startswith("error: --format 'gif': choose one of"), err
    code, _, err = run_cli(verb_argv("denoise", verb_models, [tmp_path / "a.png"], tmp_path))
    assert code == 2 and err.rstrip().endswith("(pass --overwrite)"), err


def test_one_image_suffix_list_is_used_everywhere():
    """The folder scanners and upload checks read core.formats.IMAGE_SUFFIXES, .ppm included."""
    from pixelforge.core.formats import IMAGE_SUFFIXES, is_image_file
    from pixelforge.data import folder_source
    from pixelforge.studio import safety

    assert ".ppm" in IMAGE_SUFFIXES and is_image_file("x.PPM")
    assert folder_source.IMAGE_EXTENSIONS == frozenset(IMAGE_SUFFIXES)
    assert safety.IMAGE_SUFFIXES is IMAGE_SUFFIXES


def test_a_ppm_in_a_folder_is_processed(verb_models, run_cli, tmp_path):
    (tmp_path / "in").mkdir()
    Image.new("RGB", (8, 6), (10, 200, 30)).save(tmp_path / "in" / "a.ppm")
    code, _, err = run_cli(verb_argv("denoise", verb_models, [tmp_path / "in"], tmp_path / "out"))
    assert code == 0, err
    assert Image.open(tmp_path / "out" / "a.png").size == (8, 6)


def test_no_other_module_spells_an_image_suffix_list():
    """A tuple/list/set literal holding both '.png' and '.jpg'/'.jpeg' lives in core/formats.py only."""
    import ast
    from pathlib import Path

    pkg = Path(pixelforge.__file__).parent
    found = []
    for path in pkg.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                items = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if ".png" in items and items & {".jpg", ".jpeg"}:
                    found.append(f"{path.relative_to(pkg)}:{node.lineno}")
    assert all(f.startswith("core/formats.py") for f in found), found


@pytest.mark.parametrize("api,cli", [
    ("n=5000: write one PNG per image with per_image=True (or an out= folder ending in /)",
     "--n 5000: write one PNG per image with --per-image (or an --out folder ending in /)"),
    ("tile_pad=-3: must be >= 0", "--tile-pad -3: must be >= 0"),
    ("frames=1: must be at least 2", "--frames 1: must be at least 2"),
    ("path='w.avi': use a .gif or .mp4 file name", "--out 'w.avi': use a .gif or .mp4 file name"),
])
def test_the_cli_maps_api_parameter_names_to_flags(api, cli):
    from pixelforge.cli.flags import cli_message

    assert cli_message(UserError(api, field=api.split("=")[0])) == cli
    assert cli_message(UserError(api)) == api  # messages without a field are left alone
