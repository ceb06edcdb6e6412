"""The studio's Train data picker and a shard folder (issue 23 item 1): a folder written by
`pixelforge pack` inside a data root is offered like any data set, and a run started on it from
the page's job manager trains from the shards (the run's checkpoint records their fingerprint)."""

from __future__ import annotations

import json

from pixelforge.checkpoint import latest_checkpoint
from pixelforge.data.pack import pack
from pixelforge.data.shards import read_manifest


def test_a_shard_folder_is_offered_and_trains(tmp_path, tiny_npz):
    from pixelforge.studio.jobs import JobManager

    data_root = tmp_path / "data"
    shards = data_root / "digits_shards"
    pack(str(tiny_npz), shards, shard_size=200)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "tiny.yaml").write_text(
        "model: {name: seed-dcgan, image_size: 16, channels: 1, latent_dim: 16, recipe: none}\n"
        "train: {batch_size: 16, log_every: 1, sample_every: 2, checkpoint_every: 2, "
        "n_samples: 4, precision: fp32}\n")
    jobs = JobManager(tmp_path / "runs", [data_root], tmp_path / "configs")
    choice = str(shards.resolve())
    assert choice in jobs.data_choices()
    job = jobs.start("from_shards", recipe="tiny", data=choice, steps=2, minutes=None)
    try:
        code = job.proc.wait(300)
    finally:
        if job.proc.poll() is None:
            job.proc.kill()
            job.proc.wait()
    assert code == 0, job.output()
    meta = json.loads((latest_checkpoint(tmp_path / "runs" / "from_shards") / "meta.json")
                      .read_text())
    assert meta["step"] == 2 and meta["shards"] == read_manifest(shards).fingerprint
    assert meta["data"].startswith(f"shards {choice} 512 images in 3 shards")
