"""The bad-input corpus: every verb fed broken files, arrays, configs, checkpoints and numbers.

Each case builds its input in a fresh folder and returns (argv, expected exit code, needle). A
refused input must exit 2 with exactly one `error:` line naming the input (the needle) and no
traceback; a valid but unusual input (16-bit, RGBA, palette, CMYK images) must be accepted with
exit 0. In every case nothing may be written outside the command's --out.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pixelforge.cli.main import main


@dataclass
class Work:
    """Where a case builds its inputs (`inp`), where the command may write (`out`), the runs."""

    inp: Path
    out: Path
    request: pytest.FixtureRequest  # the runs are built only for the cases that use them
    npz: Path
    gan_overrides: dict

    @property
    def gan(self) -> Path:
        return self.request.getfixturevalue("gan_run")

    @property
    def vae(self) -> Path:
        return self.request.getfixturevalue("vae_run")

    def copy_run(self, run: Path) -> Path:
        dst = self.inp / "run"
        shutil.copytree(run, dst, symlinks=True)
        return dst

    def train(self, data: Path | str, **extra) -> list[str]:
        ov = {**self.gan_overrides, "train.steps": 1, "train.checkpoint_every": 1, "train.sample_every": 1,
              "train.batch_size": 4, **extra}
        args = [x for key, value in ov.items() for x in (f"--{key}", str(value))]
        return ["train", "--out", str(self.out), "--quiet", "--data", str(data), *args]


Case = Callable[[Work], tuple[list[str], int, str]]
CASES: dict[str, Case] = {}


def case(fn: Case) -> Case:
    CASES[fn.__name__.removeprefix("case_")] = fn
    return fn


# --- image files ------------------------------------------------------------------------------

def _folder(w: Work, name: str, write: Callable[[Path, int], None], n: int = 4) -> Path:
    d = w.inp / name
    d.mkdir()
    for i in range(n):
        write(d, i)
    return d


def _rgb(i: int, size: int = 20) -> np.ndarray:
    return np.random.default_rng(i).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _png_bytes(i: int = 0) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(_rgb(i)).save(buf, format="PNG")
    return buf.getvalue()


def _bomb_png() -> bytes:
    """A valid PNG header claiming 20000 x 20000 pixels (PIL's decompression-bomb limit)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


@case
def case_train_folder_of_empty_files(w):
    d = _folder(w, "empty", lambda d, i: (d / f"{i}.png").write_bytes(b""))
    return w.train(d), 2, str(d)


@case
def case_train_folder_of_truncated_pngs(w):
    d = _folder(w, "trunc", lambda d, i: (d / f"{i}.png").write_bytes(_png_bytes(i)[:60]))
    return w.train(d), 2, str(d)


@case
def case_train_folder_of_random_bytes(w):
    rng = np.random.default_rng(0)
    d = _folder(w, "noise", lambda d, i: (d / f"{i}.jpg").write_bytes(rng.bytes(2000)))
    return w.train(d), 2, str(d)


@case
def case_train_folder_with_wrong_extensions(w):
    d = _folder(w, "txt", lambda d, i: (d / f"{i}.txt").write_bytes(_png_bytes(i)))
    return w.train(d), 2, str(d)


@case
def case_train_on_a_single_png_file(w):
    f = w.inp / "one.png"
    f.write_bytes(_png_bytes())
    return w.train(f), 2, str(f)


@case
def case_train_folder_with_only_a_decompression_bomb(w):
    d = _folder(w, "bomb", lambda d, i: (d / "huge.png").write_bytes(_bomb_png()), n=1)
    return w.train(d), 2, str(d)


@case
def case_train_accepts_16_bit_images(w):
    def write(d, i):
        arr = np.random.default_rng(i).integers(0, 65536, (20, 20), dtype=np.uint16)
        Image.fromarray(arr).save(d / f"{i}.png")
    return w.train(_folder(w, "sixteen", write)), 0, ""


@case
def case_train_accepts_rgba_images(w):
    def write(d, i):
        Image.fromarray(_rgb(i)).convert("RGBA").save(d / f"{i}.png")
    return w.train(_folder(w, "rgba", write), **{"model.channels": 3}), 0, ""


@case
def case_train_accepts_palette_images(w):
    def write(d, i):
        img = Image.fromarray(_rgb(i)).convert("P", palette=Image.Palette.ADAPTIVE)
        img.save(d / f"{i}.png", transparency=0)
    return w.train(_folder(w, "palette", write), **{"model.channels": 3}), 0, ""


@case
def case_train_accepts_cmyk_jpegs(w):
    def write(d, i):
        Image.fromarray(_rgb(i)).convert("CMYK").save(d / f"{i}.jpg")
    return w.train(_folder(w, "cmyk", write), **{"model.channels": 3}), 0, ""


@case
def case_train_accepts_one_pixel_images(w):
    def write(d, i):
        Image.new("L", (1, 1), 40 * i).save(d / f"{i}.png")
    return w.train(_folder(w, "tiny", write)), 0, ""


@case
def case_train_skips_a_symlink_loop_and_a_bomb_in_a_folder(w):
    def write(d, i):
        Image.fromarray(_rgb(i)).save(d / f"{i}.png")
    d = _folder(w, "mixed", write)
    os.symlink("loop_b.png", d / "loop_a.png")
    os.symlink("loop_a.png", d / "loop_b.png")
    (d / "huge.png").write_bytes(_bomb_png())
    return w.train(d), 0, ""


@case
def case_interpolate_image_a_is_a_decompression_bomb(w):
    f = w.inp / "huge.png"
    f.write_bytes(_bomb_png())
    good = w.inp / "good.png"
    good.write_bytes(_png_bytes())
    return ["interpolate", str(w.vae), "--image-a", str(f), "--image-b", str(good),
            "--frames", "3", "--out", str(w.out / "walk.gif")], 2, str(f)


@case
def case_denoise_an_empty_file_with_the_shipped_model(w):
    f = w.inp / "empty.png"
    f.write_bytes(b"")
    return ["denoise", str(f), "--out", str(w.out)], 2, str(f)


@case
def case_upscale_a_decompression_bomb_with_the_shipped_model(w):
    f = w.inp / "huge.png"
    f.write_bytes(_bomb_png())
    return ["upscale", str(f), "--scale", "4", "--out", str(w.out)], 2, str(f)


@case
def case_interpolate_image_b_is_empty(w):
    good = w.inp / "good.png"
    good.write_bytes(_png_bytes())
    f = w.inp / "empty.png"
    f.write_bytes(b"")
    return ["interpolate", str(w.vae), "--image-a", str(good), "--image-b", str(f),
            "--frames", "3", "--out", str(w.out / "walk.gif")], 2, str(f)


def _img(w: Work, name: str = "img.png") -> Path:
    f = w.inp / name
    f.write_bytes(_png_bytes())
    return f


def _precision_case(verb: str) -> Case:
    def build(w: Work):
        extra = {"upscale": ["--scale", "4"], "inpaint": ["--box", "1,1,4,4"]}.get(verb, [])
        return ([verb, str(_img(w)), "--out", str(w.out), "--precision", "fp8", *extra], 2,
                "--precision 'fp8': choose auto, fp32 or bf16")
    return build


for _verb in ("denoise", "upscale", "inpaint"):
    CASES[f"{_verb}_precision_fp8"] = _precision_case(_verb)


@case
def case_inpaint_mask_file_missing(w):
    mask = w.inp / "nope.png"
    return (["inpaint", str(_img(w)), "--mask", str(mask), "--out", str(w.out)], 2,
            f"mask {mask}: no such file")


@case
def case_inpaint_mask_all_white(w):
    mask = w.inp / "white.png"
    Image.new("L", (20, 20), 255).save(mask)
    return (["inpaint", str(_img(w)), "--mask", str(mask), "--out", str(w.out)], 2,
            f"mask {mask}: every pixel is white")


@case
def case_denoise_output_name_is_an_existing_folder(w):
    (w.out / "img.png").mkdir(parents=True)
    return (["denoise", str(_img(w)), "--out", str(w.out)], 2,
            f"{w.out / 'img.png'}: the output for")


@case
def case_export_out_is_an_existing_folder(w):
    (w.out / "g.onnx").mkdir(parents=True)
    return (["export", str(w.gan), "--out", str(w.out / "g.onnx")], 2,
            f"{w.out / 'g.onnx'}: is an existing folder")


@case
def case_denoise_max_memory_not_a_size(w):
    return (["denoise", str(_img(w)), "--out", str(w.out), "--max-memory", "lots"], 2,
            "--max-memory 'lots'")


# --- .npz arrays ------------------------------------------------------------------------------

def _npz(w: Work, name: str, **arrays) -> Path:
    path = w.inp / name
    np.savez(path, **arrays)  # object arrays are pickled by numpy: exactly the hostile case
    return path


@case
def case_train_npz_with_an_object_array(w):
    p = _npz(w, "obj.npz", x_train=np.array([{"a": 1}, None], dtype=object))
    return w.train(p), 2, str(p)


@case
def case_train_npz_with_nan_floats(w):
    p = _npz(w, "nan.npz", x_train=np.full((8, 16, 16, 1), np.nan, dtype=np.float32))
    return w.train(p), 2, str(p)


@case
def case_train_npz_with_wrong_rank(w):
    p = _npz(w, "rank.npz", x_train=np.zeros(64, dtype=np.uint8))
    return w.train(p), 2, str(p)


@case
def case_train_npz_with_string_dtype(w):
    p = _npz(w, "str.npz", x_train=np.array([["a"] * 4] * 4))
    return w.train(p), 2, str(p)


@case
def case_train_npz_missing_key(w):
    p = _npz(w, "keys.npz", x_train=np.zeros((8, 16, 16), dtype=np.uint8))
    return w.train(f"{p}:images"), 2, "images"


@case
def case_train_npz_that_is_not_a_zip(w):
    p = w.inp / "fake.npz"
    p.write_bytes(b"PK\x03\x04 certainly not a zip archive")
    return w.train(p), 2, str(p)


@case
def case_decode_codes_object_array(w):
    p = _npz(w, "codes.npz", z=np.array([[1.0, "x"]], dtype=object))
    return ["decode", str(w.vae), str(p), "--out", str(w.out / "d.png")], 2, str(p)


@case
def case_decode_codes_nan(w):
    p = _npz(w, "codes.npz", z=np.full((2, 8), np.nan, dtype=np.float32))
    return ["decode", str(w.vae), str(p), "--out", str(w.out / "d.png")], 2, str(p)


@case
def case_decode_codes_wrong_rank(w):
    p = _npz(w, "codes.npz", z=np.zeros((2, 8, 3), dtype=np.float32))
    return ["decode", str(w.vae), str(p), "--out", str(w.out / "d.png")], 2, str(p)


@case
def case_decode_codes_wrong_width(w):
    p = _npz(w, "codes.npz", z=np.zeros((2, 5), dtype=np.float32))
    return ["decode", str(w.vae), str(p), "--out", str(w.out / "d.png")], 2, "5"


@case
def case_decode_codes_string_dtype(w):
    p = _npz(w, "codes.npz", z=np.array([["a"] * 8] * 2))
    return ["decode", str(w.vae), str(p), "--out", str(w.out / "d.png")], 2, str(p)


@case
def case_decode_codes_file_missing(w):
    p = w.inp / "nowhere.npz"
    return ["decode", str(w.vae), str(p), "--out", str(w.out / "d.png")], 2, str(p)


@case
def case_decode_with_a_gan_checkpoint(w):
    p = _npz(w, "codes.npz", z=np.zeros((2, 16), dtype=np.float32))
    return ["decode", str(w.gan), str(p), "--out", str(w.out / "d.png")], 2, "seed-dcgan"


@case
def case_encode_data_object_array(w):
    p = _npz(w, "obj.npz", x_test=np.array([None, 1], dtype=object))
    return ["encode", str(w.vae), "--data", str(p), "--out", str(w.out / "c.npz")], 2, str(p)


@case
def case_reconstruct_data_random_bytes_npz(w):
    p = w.inp / "noise.npz"
    p.write_bytes(np.random.default_rng(1).bytes(500))
    return ["reconstruct", str(w.vae), "--data", str(p), "--out", str(w.out / "r.png")], 2, str(p)


@case
def case_eval_data_nan_floats(w):
    p = _npz(w, "nan.npz", x_train=np.full((8, 16, 16, 1), np.nan, dtype=np.float32))
    run = w.copy_run(w.gan)  # eval appends to the run's metrics.jsonl: never the shared run
    return ["eval", str(run), "--data", str(p), "--n", "8"], 2, str(p)


# --- configs ----------------------------------------------------------------------------------

def _config(w: Work, text: str | bytes) -> Path:
    p = w.inp / "cfg.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


@case
def case_config_unknown_key(w):
    p = _config(w, "train:\n  stepz: 3\n")
    return ["train", "--out", str(w.out), "--config", str(p), "--dry-run"], 2, "train.stepz"


@case
def case_config_wrong_type(w):
    p = _config(w, "train:\n  steps: many\n")
    return ["train", "--out", str(w.out), "--config", str(p), "--dry-run"], 2, "train.steps"


@case
def case_config_yaml_alias_bomb(w):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")  # 9^9 leaves at i
    params = "\n".join(f"    {x}" for x in lines)
    p = _config(w, f"model:\n  params:\n{params}\ntrain:\n  steps: *i\n")
    return ["train", "--out", str(w.out), "--config", str(p), "--dry-run"], 2, str(p)


@case
def case_config_nested_too_deep(w):
    p = _config(w, "train: " + "[" * 5000 + "]" * 5000 + "\n")
    return ["train", "--out", str(w.out), "--config", str(p), "--dry-run"], 2, str(p)


@case
def case_config_missing_file(w):
    p = w.inp / "absent.yaml"
    return ["train", "--out", str(w.out), "--config", str(p), "--dry-run"], 2, str(p)


@case
def case_config_not_a_mapping(w):
    p = _config(w, "- 1\n- 2\n")
    return ["train", "--out", str(w.out), "--config", str(p), "--dry-run"], 2, str(p)


@case
def case_config_invalid_yaml(w):
    p = _config(w, "train: {steps: 3\nmodel: [\n")
    return ["train", "--out", str(w.out), "--config", str(p), "--dry-run"], 2, str(p)


@case
def case_config_binary_garbage(w):
    p = _config(w, bytes(range(256)) * 4)
    return ["train", "--out", str(w.out), "--config", str(p), "--dry-run"], 2, str(p)


@case
def case_override_unknown_section(w):
    return ["train", "--out", str(w.out), "--dry-run", "--trian.steps", "3"], 2, "trian"


# --- checkpoints ------------------------------------------------------------------------------

def _ckpt_files(run: Path, name: str) -> list[Path]:
    files = sorted((run / "checkpoints").rglob(name))
    assert files, f"the fixture run has no {name}"
    return files


def _pickle(path: Path) -> None:
    torch.save({"weight": torch.zeros(2)}, path)  # a torch pickle where safetensors/JSON belong


@case
def case_checkpoint_weights_are_a_pickle(w):
    run = w.copy_run(w.gan)
    for f in _ckpt_files(run, "model.safetensors"):
        _pickle(f)
    return ["sample", str(run), "--n", "4", "--out", str(w.out / "g.png")], 2, str(run)


@case
def case_checkpoint_config_is_a_pickle(w):
    run = w.copy_run(w.gan)
    for f in _ckpt_files(run, "config.json"):
        _pickle(f)
    return ["sample", str(run), "--n", "4", "--out", str(w.out / "g.png")], 2, str(run)


@case
def case_checkpoint_training_state_is_a_pickle(w):
    run = w.copy_run(w.gan)
    for f in _ckpt_files(run, "training_state.safetensors"):
        _pickle(f)
    return ["train", "--out", str(run), "--resume", "--steps", "3", "--quiet"], 2, str(run)


@case
def case_checkpoint_meta_is_a_pickle(w):
    run = w.copy_run(w.gan)
    for f in _ckpt_files(run, "meta.json"):
        _pickle(f)
    return ["info", str(run)], 2, str(run)


@case
def case_checkpoint_weights_truncated(w):
    run = w.copy_run(w.gan)
    for f in _ckpt_files(run, "model.safetensors"):
        f.write_bytes(f.read_bytes()[:100])
    return ["sample", str(run), "--n", "4", "--out", str(w.out / "g.png")], 2, str(run)


@case
def case_checkpoint_config_of_another_family(w):
    run = w.copy_run(w.gan)
    for f in [*_ckpt_files(run, "config.json"), *sorted(run.rglob("model_index.json"))]:
        f.write_text(f.read_text().replace('"seed-dcgan"', '"dcgan"'))
    return ["sample", str(run), "--n", "4", "--out", str(w.out / "g.png")], 2, str(run)


@case
def case_checkpoint_weights_missing(w):
    run = w.copy_run(w.gan)
    for f in _ckpt_files(run, "model.safetensors"):
        f.unlink()
    return ["sample", str(run), "--n", "4", "--out", str(w.out / "g.png")], 2, str(run)


@case
def case_checkpoint_latest_points_nowhere(w):
    run = w.copy_run(w.gan)
    (run / "checkpoints" / "latest").write_text("step-9999999\n")
    return ["export", str(run), "--out", str(w.out / "g.onnx")], 2, str(run)


@case
def case_info_on_a_folder_that_is_no_run(w):
    (w.inp / "photos").mkdir()
    return ["info", str(w.inp / "photos")], 2, str(w.inp / "photos")


@case
def case_sample_out_below_a_file(w):
    w.out.mkdir()
    (w.out / "taken").write_text("x")
    target = w.out / "taken" / "grid.png"
    return ["sample", str(w.gan), "--n", "4", "--out", str(target)], 2, str(w.out / "taken")


@case
def case_threads_env_not_a_number(w):
    run = w.gan  # built before the bad variable is set
    w.request.getfixturevalue("monkeypatch").setenv("PIXELFORGE_THREADS", "lots")
    return ["info", str(run)], 2, "PIXELFORGE_THREADS"


@case
def case_train_out_is_a_file(w):
    f = w.inp / "taken"
    f.write_text("x")
    return ["train", "--out", str(f), "--dry-run"], 2, str(f)


# --- out-of-range numbers, every verb ---------------------------------------------------------

def _usage(verb_args: list[str], option: str) -> Case:
    def build(w: Work):
        img = w.inp / "img.png"
        img.write_bytes(_png_bytes())
        subst = {"GAN": lambda: str(w.gan), "VAE": lambda: str(w.vae), "OUT": lambda: str(w.out),
                 "NPZ": lambda: str(w.npz), "IMG": lambda: str(img)}
        argv = []
        for arg in verb_args:
            for key, value in subst.items():
                if key in arg:
                    arg = arg.replace(key, value())
            argv.append(arg)
        return argv, 2, option
    return build


NUMBERS = {
    "sample_n_zero": (["sample", "GAN", "--n", "0", "--out", "OUT/g.png"], "--n"),
    "sample_n_negative": (["sample", "GAN", "--n", "-5", "--out", "OUT/g.png"], "--n"),
    "sample_n_not_a_number": (["sample", "GAN", "--n", "ten", "--out", "OUT/g.png"], "--n"),
    "sample_grid_too_large": (["sample", "GAN", "--n", "100000000", "--out", "OUT/g.png"],
                              "100000000"),
    "sample_nrow_zero": (["sample", "GAN", "--nrow", "0", "--out", "OUT/g.png"], "--nrow"),
    "sample_truncation_zero": (["sample", "GAN", "--truncation", "0", "--out", "OUT/g.png"],
                               "truncation"),
    "sample_truncation_above_one": (["sample", "GAN", "--truncation", "1.5",
                                     "--out", "OUT/g.png"], "truncation"),
    "sample_class_on_unconditional": (["sample", "GAN", "--class", "3", "--out", "OUT/g.png"],
                                      "class"),
    "interpolate_frames_one": (["interpolate", "GAN", "--frames", "1", "--out", "OUT/w.gif"],
                               "--frames"),
    "interpolate_fps_zero": (["interpolate", "GAN", "--fps", "0", "--out", "OUT/w.gif"], "--fps"),
    "interpolate_scale_zero": (["interpolate", "GAN", "--scale", "0", "--out", "OUT/w.gif"],
                               "--scale"),
    "interpolate_truncation_two": (["interpolate", "GAN", "--truncation", "2",
                                    "--out", "OUT/w.gif"], "truncation"),
    "interpolate_wrong_suffix": (["interpolate", "GAN", "--frames", "3", "--out", "OUT/w.avi"],
                                 "w.avi"),
    "eval_n_one": (["eval", "GAN", "--data", "NPZ", "--n", "1"], "n_generated"),
    "eval_iwae_k_zero": (["eval", "VAE", "--data", "NPZ", "--iwae-k", "0"], "--iwae-k"),
    "eval_vae_n_zero": (["eval", "VAE", "--data", "NPZ", "--vae-n", "0"], "--vae-n"),
    "encode_limit_zero": (["encode", "VAE", "--data", "NPZ", "--limit", "0",
                           "--out", "OUT/c.npz"], "--limit"),
    "reconstruct_n_zero": (["reconstruct", "VAE", "--data", "NPZ", "--n", "0",
                            "--out", "OUT/r.png"], "--n"),
    "reconstruct_nrow_zero": (["reconstruct", "VAE", "--data", "NPZ", "--nrow", "0",
                               "--out", "OUT/r.png"], "--nrow"),
    "decode_nrow_zero": (["decode", "VAE", "NPZ", "--nrow", "0", "--out", "OUT/d.png"],
                         "--nrow"),
    "export_opset_too_old": (["export", "GAN", "--opset", "5", "--out", "OUT/g.onnx"], "opset"),
    "export_truncation_zero": (["export", "GAN", "--truncation", "0", "--out", "OUT/g.onnx"],
                               "truncation"),
    "train_steps_zero": (["train", "--out", "OUT", "--steps", "0", "--dry-run"], "--steps"),
    "train_batch_size_zero": (["train", "--out", "OUT", "--train.batch_size", "0", "--dry-run"],
                              "train.batch_size"),
    "train_lr_negative": (["train", "--out", "OUT", "--train.lr_g", "-1", "--dry-run"],
                          "train.lr_g"),
    "train_image_size_four": (["train", "--out", "OUT", "--model.image_size", "4", "--dry-run"],
                              "model.image_size"),
    "train_ema_decay_one": (["train", "--out", "OUT", "--train.ema_decay", "1", "--dry-run"],
                            "train.ema_decay"),
    "denoise_sigma_above_255": (["denoise", "IMG", "--out", "OUT", "--sigma", "300"], "--sigma"),
    "denoise_tile_negative": (["denoise", "IMG", "--out", "OUT", "--tile", "-1"], "--tile"),
    "denoise_tile_pad_negative": (["denoise", "IMG", "--out", "OUT", "--tile-pad", "-3"],
                                  "--tile-pad"),
    "upscale_scale_three": (["upscale", "IMG", "--out", "OUT", "--scale", "3"], "scale 3"),
    "inpaint_box_of_two_numbers": (["inpaint", "IMG", "--out", "OUT", "--box", "1,2"], "--box"),
    "translate_tile_negative": (["translate", "GAN", "IMG", "--out", "OUT", "--tile", "-1"],
                                "--tile"),
    "studio_port_zero": (["studio", "--port", "0"], "--port"),
    "studio_port_too_large": (["studio", "--port", "70000"], "--port"),
    "train_unknown_option": (["train", "--out", "OUT", "--dry-run", "--bogus"], "--bogus"),
    "sample_unknown_option": (["sample", "GAN", "--bogus", "1"], "--bogus"),
    "misspelt_verb": (["sampel", "GAN"], "sampel"),
    "threads_zero": (["--threads", "0", "info", "GAN"], "--threads"),
    "threads_negative": (["--threads", "-2", "info", "GAN"], "--threads"),
}
for _name, (_argv, _option) in NUMBERS.items():
    CASES[_name] = _usage(_argv, _option)


# --- the test ---------------------------------------------------------------------------------

def _snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime) of every file below `roots`, symlinks not followed."""
    seen: dict[str, tuple[int, int]] = {}
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                st = os.lstat(os.path.join(dirpath, name))
                seen[os.path.join(dirpath, name)] = (st.st_size, st.st_mtime_ns)
    return seen


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, request, tmp_path, tiny_npz, gan_overrides, capsys, monkeypatch):
    w = Work(inp=tmp_path / "in", out=tmp_path / "out", request=request, npz=tiny_npz,
             gan_overrides=gan_overrides)
    w.inp.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    argv, code, needle = CASES[name](w)
    runs = [p for p in argv if "run" in Path(p).parts and not Path(p).is_relative_to(tmp_path)]
    watched = [tmp_path, tiny_npz.parent, *runs]  # the shared runs must stay untouched
    before = _snapshot(*watched)

    got = main(argv)

    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert got == code, err
    if code:
        assert len(errors) == 1, err
        assert needle in errors[0]
    else:
        assert errors == []
    changed = {p for p, v in _snapshot(*watched).items() if before.get(p) != v}
    outside = sorted(p for p in changed if not Path(p).is_relative_to(w.out))
    assert outside == [], f"wrote outside --out: {outside}"
