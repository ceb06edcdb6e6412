"""A folder of 3 pictures whose middle one is truncated, through every image-to-image verb: by
default nothing is written and the bad file is named (exit 2); with --skip-bad files 1 and 3 are
written, the bad one is named on its own line, a summary follows, and the exit code is 2."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from .conftest import VERBS, verb_argv


def _batch(folder):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        Image.fromarray(rng.integers(0, 256, (16, 18, 3), dtype=np.uint8)).save(folder / f"{name}.png")
    data = (folder / "b.png").read_bytes()
    (folder / "b.png").write_bytes(data[: len(data) // 2])  # truncated mid-stream
    return folder


@pytest.mark.parametrize("verb", VERBS)
def test_default_refuses_before_writing_anything(verb, verb_models, run_cli, tmp_path):
    src = _batch(tmp_path / "in")
    code, out, err = run_cli(verb_argv(verb, verb_models, [src], tmp_path / "out"))
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(src / "b.png") in lines[0]
    assert "--skip-bad" in lines[0]
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("verb", VERBS)
def test_skip_bad_processes_the_rest_names_the_bad_one_and_exits_2(verb, verb_models, run_cli,
                                                                   tmp_path):
    src = _batch(tmp_path / "in")
    code, out, err = run_cli(verb_argv(verb, verb_models, [src], tmp_path / "out", "--skip-bad"))
    assert code == 2, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]
    lines = err.strip().splitlines()
    skipped = [ln for ln in lines if ln.startswith("skipped ")]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(skipped) == 1 and skipped[0].startswith(f"skipped {src / 'b.png'}: ")
    assert errors == ["error: 1 of 3 input file(s) could not be read and were skipped "
                      "(listed above)"]
    assert "2 image(s)" in out and "skipped 1 bad file(s)" in out
    # the written files are what a clean batch of the two good files gives
    good = tmp_path / "good"
    good.mkdir()
    for name in ("a.png", "c.png"):
        (good / name).write_bytes((src / name).read_bytes())
    code, _, err = run_cli(verb_argv(verb, verb_models, [good], tmp_path / "ref"))
    assert code == 0, err
    for name in ("a.png", "c.png"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()


def test_help_documents_the_choice(run_cli):
    for verb in VERBS:
        code, out, _ = run_cli([verb, "--help"])
        assert code == 0 and "--skip-bad" in out and "refuses the batch" in out
