"""Training jobs started from the studio: `pixelforge train` as a subprocess, stopped with SIGINT.

The studio never imports training code; the subprocess writes the run folder and the studio
reads it back through pixelforge.runs.
"""

from __future__ import annotations

import atexit
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pixelforge.errors import UserError
from pixelforge.rundir import RunDir
from pixelforge.runs import contained

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
KEY_RE = re.compile(r"[a-z_]+(\.[a-z0-9_]+)+")
FORBIDDEN_KEYS = ("data.path",)  # the data set is chosen on the page, inside allowed folders
STUDIO_LOG = "studio_train.log"
USER_STOP = "stopped by user"  # what the log and the page say after the page's Stop
AUTO_NAME_RE = re.compile(r"studio-\d{8}-\d{6}-[0-9a-f]{4}")


def fresh_run_name(runs_root: Path) -> str:
    """'studio-YYYYmmdd-HHMMSS-xxxx' (now, 4 random hex digits: two pages opened in the same
    second differ) that names no folder in `runs_root` yet."""
    import secrets

    while True:
        name = f"{time.strftime('studio-%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        if not (runs_root / name).exists():
            return name


def recipes(config_dir: Path | None) -> dict[str, str]:
    """Recipe name (path under `config_dir`, without .yaml) -> what it is for (its leading
    comment). The studio's default folder is the shipped recipes (pixelforge.configs)."""
    if config_dir is None or not config_dir.is_dir():
        return {}
    out = {}
    for path in sorted(config_dir.rglob("*.yaml")):
        lines = []
        for line in path.read_text(errors="replace").splitlines():
            if not line.startswith("#"):
                break
            lines.append(line.lstrip("#").strip())
        out[path.relative_to(config_dir).with_suffix("").as_posix()] = " ".join(lines)
    return out


def parse_overrides(text: str) -> list[str]:
    """'train.lr_g=1e-4' or '--train.lr_g 1e-4' (any whitespace) -> ['--train.lr_g=1e-4', ...].

    Only config keys are accepted (no other options, nothing a shell would see); data paths
    are refused because the data set is chosen from the allowed folders."""
    tokens = text.split()
    out, i = [], 0
    while i < len(tokens):
        tok = tokens[i].removeprefix("--")
        if "=" in tok:
            key, value = tok.split("=", 1)
            i += 1
        elif i + 1 < len(tokens):
            key, value = tok, tokens[i + 1]
            i += 2
        else:
            raise UserError(f"override {tokens[i]!r} needs a value (section.key=value)")
        if not KEY_RE.fullmatch(key):
            raise UserError(f"override {key!r}: write config keys as section.key=value")
        if key in FORBIDDEN_KEYS or key.startswith("data.path"):
            raise UserError(f"override {key!r}: choose the data set on the page instead")
        out.append(f"--{key}={value}")
    return out


def check_config(base: Path | None, args: list[str]) -> None:
    """Validate the recipe (or a resumed run's config.yaml) plus the page's `--key=value`
    arguments with the config checks `pixelforge train` starts with, so a bad value
    (train.lr_g=abc) is refused on the page in one line naming the field, before any trainer
    process starts."""
    from pixelforge.config import build_config, load_yaml, parse_override_value

    tree = load_yaml(base) if base is not None else {}
    overrides = {}
    for arg in args:
        key, value = arg.removeprefix("--").split("=", 1)
        overrides[key] = parse_override_value(value)
    build_config(tree, overrides, source="recipe + overrides")


def _default_sigint() -> None:
    """In the child: Ctrl-C raises KeyboardInterrupt even when the studio itself was started
    with SIGINT ignored (a background job), so Stop always saves the run."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass
class TrainJob:
    """One `pixelforge train` subprocess writing into run_dir."""

    name: str
    run_dir: Path
    command: list[str]
    proc: subprocess.Popen
    started: float = field(default_factory=time.time)
    stopped_by_user: bool = False

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def status(self) -> str:
        code = self.proc.poll()
        if code is None:
            return f"training ({time.time() - self.started:.0f} s)"
        if code == 0:
            return "finished"
        if code in (130, 138, 143):  # Ctrl-C, SIGUSR1, SIGTERM: checkpoint saved
            return f"{USER_STOP} (resumable)" if self.stopped_by_user else "stopped (resumable)"
        return f"failed (exit code {code}); see {STUDIO_LOG} in the run folder"

    def stop(self) -> None:
        """Ctrl-C for the run: it saves a checkpoint and exits, resumable later. The log says
        the user stopped it (the trainer itself only sees a Ctrl-C)."""
        if self.running:
            self.stopped_by_user = True
            with open(self.run_dir / STUDIO_LOG, "a") as log:
                log.write(f"{USER_STOP} ({time.strftime('%Y-%m-%d %H:%M:%S')}): saving a "
                          "checkpoint, resumable\n")
            self.proc.send_signal(signal.SIGINT)

    def output(self, lines: int = 20) -> str:
        path = self.run_dir / STUDIO_LOG
        if not path.is_file():
            return ""
        text = path.read_text(errors="replace").splitlines()[-lines:]
        if self.stopped_by_user:  # the trainer reports the Ctrl-C the Stop button sent
            text = [USER_STOP + line.removeprefix("error: interrupted")
                    if line.startswith("error: interrupted") else line for line in text]
        return "\n".join(text)


class JobManager:
    """Starts, lists and stops the studio's training subprocesses (one at a time by default)."""

    def __init__(self, runs_root: Path, data_roots: list[Path], config_dir: Path | None,
                 max_running: int = 1) -> None:
        self.runs_root = runs_root.resolve()
        self.data_roots = [d.resolve() for d in data_roots]
        self.config_dir = config_dir
        self.max_running = max_running
        self.jobs: dict[str, TrainJob] = {}
        self._lock = threading.Lock()
        atexit.register(self.stop_all)

    def data_choices(self) -> list[str]:
        """'default' (the embedded MNIST subset) and the folders / .npz files in the data roots."""
        out = ["default"]
        for root in self.data_roots:
            if root.is_dir():
                for p in sorted(root.iterdir()):
                    if p.is_dir() or p.suffix == ".npz":
                        out.append(str(p))
        return out

    def resolve_data(self, data: str) -> str:
        if data == "default":
            return data
        for root in self.data_roots:
            try:
                return str(contained(root, data))
            except UserError:
                continue
        raise UserError(f"data {data!r} is not in the studio's data folders "
                        f"({', '.join(map(str, self.data_roots))})")

    def start(self, name: str, *, recipe: str | None, data: str, steps: int | None,
              minutes: float | None, overrides: str = "", resume: bool = False) -> TrainJob:
        if not NAME_RE.fullmatch(name or ""):
            raise UserError(f"run name {name!r}: use letters, digits, '_', '-', '.' (max 64)")
        run_dir = contained(self.runs_root, name)
        with self._lock:
            if sum(j.running for j in self.jobs.values()) >= self.max_running:
                raise UserError("a training is already running; stop it first")
            cmd = [sys.executable, "-m", "pixelforge.cli.main", "train", "--out", str(run_dir),
                   "--quiet"]
            if resume:
                cmd.append("--resume")
            elif RunDir(run_dir).holds_run():
                raise UserError(f"run {name!r} exists; tick 'resume' or choose another name")
            continuing = resume and RunDir(run_dir).config.is_file()  # else a first start
            base = RunDir(run_dir).config if continuing else None
            if recipe and not continuing:
                base = contained(self.config_dir, f"{recipe}.yaml") if self.config_dir else None
                if base is None or not base.is_file():
                    raise UserError(f"unknown recipe {recipe!r}")
                cmd += ["--config", str(base)]
            if not continuing:
                cmd += ["--data", self.resolve_data(data)]
            if steps:
                cmd += ["--steps", str(int(steps))]
            args = parse_overrides(overrides)
            if minutes:
                args.insert(0, f"--train.time_budget={float(minutes)}")
            check_config(base, ([f"--train.steps={int(steps)}"] if steps else []) + args)
            cmd += args
            run_dir.mkdir(parents=True, exist_ok=True)
            log = open(run_dir / STUDIO_LOG, "ab")  # noqa: SIM115 - handed to the child
            try:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, cwd=self.runs_root,
                                        start_new_session=True, preexec_fn=_default_sigint)
            finally:
                log.close()
            job = TrainJob(name, run_dir, cmd, proc)
            self.jobs[name] = job
            return job

    def get(self, name: str) -> TrainJob | None:
        return self.jobs.get(name)

    def stop_all(self, timeout: float = 30.0) -> None:
        """Stop every running job (studio shutdown) and wait for their checkpoints."""
        running = [j for j in self.jobs.values() if j.running]
        for job in running:
            job.stop()
        for job in running:
            try:
                job.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                job.proc.kill()
