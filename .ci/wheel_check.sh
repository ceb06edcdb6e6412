#!/usr/bin/env bash
# The wheel as a user gets it (issue 19 item 5): build it, check every packaged file is in it,
# install it into a fresh venv outside the checkout and, from a folder outside the checkout,
# train a shipped recipe by name on the embedded data, sample, upscale with a shipped model and
# open the studio's help. Run by .ci/run and `make wheel-check`.
#
# The fresh venv gets pixelforge from the wheel only. Its dependencies come from the project's
# .venv through a .pth file: installing torch, gradio & co. again took 7.5 minutes on this 2-core
# machine. WHEEL_CHECK_FULL=1 installs them from the package index instead (the full check).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pixelforge-wheel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
start=$SECONDS
say() { echo "wheel-check [$((SECONDS - start)) s]: $*"; }

# 1. Build from a clean copy of the sources: an in-tree build leaves build/ in the checkout,
#    and a stale build/lib could hide a file the package-data globs miss.
mkdir -p "$WORK/src" "$WORK/dist"
cp -r pyproject.toml README.md LICENSE src "$WORK/src/"
find "$WORK/src" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$WORK/src"
WHEEL=$(ls "$WORK"/dist/pixelforge-*.whl)
say "built $(basename "$WHEEL")"

# 2. Every file under src/pixelforge is in the wheel (a .py or data file left out by
#    pyproject's package-data shows up here, not on a user's machine).
"$PY" - "$WHEEL" "$WORK/src/src" <<'PYEOF'
import sys, zipfile
from pathlib import Path

wheel, src = sys.argv[1], Path(sys.argv[2])
shipped = set(zipfile.ZipFile(wheel).namelist())
wanted = {p.relative_to(src).as_posix() for p in (src / "pixelforge").rglob("*")
          if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
missing = sorted(wanted - shipped)
if missing:
    sys.exit(f"wheel-check: {len(missing)} package files are not in the wheel (pyproject.toml "
             f"[tool.setuptools.package-data]): {', '.join(missing[:10])}")
print(f"wheel-check: all {len(wanted)} package files are in the wheel")
PYEOF

# 3. A fresh venv outside the checkout with the wheel installed.
VENV="$WORK/venv"
"$PY" -m venv "$VENV"
if [ "${WHEEL_CHECK_FULL:-0}" = 1 ]; then
  "$VENV/bin/python" -m pip install --quiet "$WHEEL"
else
  deps=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # a plain path line: the project venv's own .pth files (its editable pixelforge) stay unread
  echo "$deps" > "$site/_pixelforge_wheel_check_deps.pth"
  "$VENV/bin/python" -m pip install --quiet --no-deps "$WHEEL"
fi
say "installed into $VENV"

# 4. Use it from a folder outside the checkout, as a user would.
mkdir -p "$WORK/user"
cd "$WORK/user"
export OMP_NUM_THREADS=1 PIXELFORGE_CACHE="$WORK/cache"
unset PYTHONPATH
PF="$VENV/bin/pixelforge"
"$VENV/bin/python" - "$VENV" <<'PYEOF'
import sys
import pixelforge
from pixelforge.configs import names, root

assert pixelforge.__file__.startswith(sys.argv[1]), f"imported from {pixelforge.__file__}"
assert root().is_relative_to(sys.argv[1]) and "demo" in names(), (root(), names())
from pixelforge.studio.app import default_config_dir
from pixelforge.studio.jobs import recipes

offered = recipes(default_config_dir())  # the studio's Train page
assert sorted(offered) == names(), (sorted(offered), names())
print(f"wheel-check: pixelforge {pixelforge.__version__} from {pixelforge.__file__}, "
      f"{len(names())} recipes, all on the studio's Train page")
PYEOF
"$PF" train --config demo --data default --steps 3 --out run --quiet \
  --train.sample_every 3 --train.checkpoint_every 3
"$PF" train --config configs/gan/mnist_dcgan_sn.yaml --data default --out run-old --dry-run \
  > dry.txt
grep -q "spectral_norm: true" dry.txt  # the old checkout path found the shipped recipe
"$PF" sample run --n 4 --seed 0 --out grid.png
"$VENV/bin/python" -c 'from PIL import Image; Image.radial_gradient("L").resize((24, 20)).convert("RGB").save("small.png")'
"$PF" upscale small.png --scale 2 --out up
"$VENV/bin/python" - <<'PYEOF'
from PIL import Image

assert Image.open("grid.png").size[0] > 0
up = Image.open("up/small.png")
assert up.size == (48, 40), up.size
print("wheel-check: grid.png and a x2 upscale (24x20 -> 48x40) written")
PYEOF
"$PF" studio --help > studio_help.txt
grep -q -- "--runs" studio_help.txt
say "train, sample, upscale and studio --help ran from the wheel outside the checkout"
