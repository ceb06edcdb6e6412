"""Inception metrics without the network: a fast, one-line UserError offline, and the torchmetrics
math on precomputed features agreeing with ours (no weights needed)."""

import socket
import threading
import time

import numpy as np
import pytest
import torch

from pixelforge.errors import UserError
from pixelforge.metrics import inception
from pixelforge.metrics.frechet import feature_stats, frechet_distance
from pixelforge.metrics.kid import mmd2_unbiased

MESSAGE = "Inception weights could not be downloaded ("
HINT = "Inception metrics need internet once, or use the default cnn-feature metrics"


@pytest.fixture(autouse=True)
def _empty_torch_hub(tmp_path, monkeypatch):
    """No cached weights: the loader has to reach the network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


def _assert_offline_error(exc: UserError) -> None:
    text = str(exc)
    assert text.startswith(MESSAGE) and text.endswith(HINT) and "\n" not in text


def test_no_name_resolution_gives_one_clear_line_fast(monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    start = time.perf_counter()
    with pytest.raises(UserError) as info:
        inception.load_inception()
    assert time.perf_counter() - start < 10
    _assert_offline_error(info.value)


def test_a_silent_server_times_out_instead_of_hanging(monkeypatch):
    """A host that accepts the connection but never answers (captive portal, black hole)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    real_getaddrinfo = socket.getaddrinfo

    def to_loopback(host, *args, **kwargs):
        return real_getaddrinfo("127.0.0.1", port, *args[1:], **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", to_loopback)
    start = time.perf_counter()
    try:
        with pytest.raises(UserError) as info:
            inception.load_inception(timeout=1.0)
    finally:
        server.close()
    assert time.perf_counter() - start < 8
    _assert_offline_error(info.value)
    assert socket.getdefaulttimeout() is None  # restored


def _online() -> bool:
    result = []

    def probe():
        try:
            socket.create_connection(("github.com", 443), timeout=2).close()
            result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(3)
    return bool(result and result[0])


def test_the_real_offline_path():
    """On an offline machine (like CI here) the real download fails fast with the same line."""
    if _online():
        pytest.skip("this machine is online; the real offline path cannot be exercised")
    start = time.perf_counter()
    with pytest.raises(UserError) as info:
        inception.load_inception()
    assert time.perf_counter() - start < 10
    _assert_offline_error(info.value)


def test_evaluate_fails_before_any_slow_work(monkeypatch, mnist_ds, bank_generator):
    from pixelforge.config import EvalConfig
    from pixelforge.metrics import evaluate as ev

    def offline(*args, **kwargs):
        raise UserError(f"{MESSAGE}test); {HINT}")

    def no_training(*args, **kwargs):
        raise AssertionError("the extractor must not be trained before the inception check")

    monkeypatch.setattr(inception, "load_inception", offline)
    monkeypatch.setattr(ev, "get_extractor", no_training)
    gen = bank_generator()
    with pytest.raises(UserError, match="need internet once"):
        ev.evaluate_generator(gen, mnist_ds("test", 32), EvalConfig(), inception=True)


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_torchmetrics_on_precomputed_features_matches_our_math():
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    rng = np.random.default_rng(0)
    real = rng.normal(size=(80, 16))
    fake = rng.normal(size=(60, 16)) * 1.3 + 0.2
    fid = FrechetInceptionDistance(feature=inception._Precomputed(16))
    fid.update(torch.from_numpy(real).float(), real=True)
    fid.update(torch.from_numpy(fake).float(), real=False)
    ours = frechet_distance(*feature_stats(fake.astype(np.float32)),
                            *feature_stats(real.astype(np.float32)))
    assert float(fid.compute()) == pytest.approx(ours, rel=1e-4)

    kid = KernelInceptionDistance(feature=inception._Precomputed(16), subsets=1, subset_size=60)
    kid.update(torch.from_numpy(real[:60]).double(), real=True)
    kid.update(torch.from_numpy(fake).double(), real=False)
    mean, _ = kid.compute()  # one subset of all 60 rows on each side: no randomness left
    assert float(mean) == pytest.approx(mmd2_unbiased(fake, real[:60]), rel=1e-6)
