"""The training loop on a tiny synthetic cache: learns, checkpoints, resumes, runs under torchrun.

Most tests train the two-layer test backbone (``tiny_arch``): the loop's behaviour, not a network's, is
under test. DDP runs real ResNet50 processes (integration).
"""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from agegender.training.config import TrainConfig
from agegender.training.loop import train
from tests.support import make_cache


def tiny_run(cache, out, arch: str, **options) -> TrainConfig:
    """A run of the tiny network on a synthetic cache: batches of 16, one thread, no progress bar."""
    return TrainConfig(cache=str(cache), out=str(out), arch=arch, batch_size=16, progress=False, threads=1, **options)


def test_trains_checkpoints_and_resumes(tiny_arch, tmp_path):
    cache = make_cache(tmp_path / "cache")
    cfg = tiny_run(cache, tmp_path / "run", tiny_arch, task="both", epochs=2, lr=1e-3)
    best = train(cfg)
    run = tmp_path / "run"
    assert {"last.pt", "best.safetensors", "summary.csv", "curves.png", "config.json"} <= {
        p.name for p in run.iterdir()
    }
    assert best["gender_acc"] >= 0.9  # brightness tells the gender: a working loop learns it in 2 epochs
    cfg.epochs, cfg.resume = 3, True
    train(cfg)
    rows = list(csv.DictReader((run / "summary.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]

    from agegender.errors import CheckpointError

    other = TrainConfig(**{**cfg.to_dict(), "arch": "vgg16", "epochs": 4})
    with pytest.raises(CheckpointError, match=f"another network.*arch: '{tiny_arch}' there, 'vgg16' here") as exc:
        train(other)
    assert len(str(exc.value)) < 400  # one line, not a state-dict dump
    last = run / "last.pt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # truncated (e.g. a full disk, a bad copy)
    cfg.epochs = 4
    with pytest.raises(CheckpointError, match="damaged.*Move it away"):
        train(cfg)


def test_two_datasets_are_sampled_by_share_and_validated_apart(tiny_arch, tmp_path):
    from agegender.models.weights import load_model

    a = make_cache(tmp_path / "a", n=96, dataset="utkface")
    b = make_cache(tmp_path / "b", n=64, seed=1, dataset="aaf")
    cfg = TrainConfig(
        cache=f"{a},{b}",
        out=str(tmp_path / "run"),
        arch=tiny_arch,
        task="both",
        epochs=2,
        batch_size=16,
        progress=False,
        threads=1,
        dataset_shares="utkface=0.5,aaf=0.5",
        balance_cells=0.5,
        epoch_size=48,
    )
    best = train(cfg)
    assert set(best["datasets"]) == {"utkface", "aaf"}
    # The best epoch is picked on the mean of both datasets' scores, not on the larger set.
    per = [best["datasets"][d]["age_mae"] + 10 * (1 - best["datasets"][d]["gender_acc"]) for d in ("utkface", "aaf")]
    assert best["score"] == pytest.approx(np.mean(per))
    rows = list(csv.DictReader((tmp_path / "run" / "summary.csv").open()))
    assert {"val/utkface/age_mae", "val/aaf/gender_acc", "val/score"} <= set(rows[0])
    _, meta = load_model(tmp_path / "run" / "best.safetensors")
    assert meta["datasets"] == ["utkface", "aaf"]


def test_caches_of_different_sizes_are_refused(tmp_path):
    a = make_cache(tmp_path / "a", size=32, dataset="utkface")
    b = make_cache(tmp_path / "b", size=48, dataset="aaf")
    with pytest.raises(ValueError, match="different sizes"):
        train(TrainConfig(cache=f"{a},{b}", out=str(tmp_path / "run"), progress=False, all_ages=True))


def test_an_epoch_draws_epoch_size_faces():
    from agegender.training.loop import epoch_length

    assert epoch_length(TrainConfig(epoch_size=40), 1000) == 40
    assert epoch_length(TrainConfig(), 1000) == 1000


def test_gender_is_learnt_with_the_reference_mse_loss(tiny_arch, tmp_path):
    cache = make_cache(tmp_path / "cache", n=128)
    cfg = tiny_run(
        cache, str(tmp_path / "run"), tiny_arch, task="gender", gender_loss="mse", epochs=3, lr=1e-3, augment=0.0
    )
    assert train(cfg)["gender_acc"] >= 0.9


def test_empty_window_names_the_filter(tmp_path):
    cache = make_cache(tmp_path / "cache")
    cfg = TrainConfig(cache=str(cache), out=str(tmp_path / "run"), min_age=70, max_age=80, progress=False)
    with pytest.raises(ValueError, match="70-80"):
        train(cfg)


@pytest.mark.integration
def test_ddp_two_processes_with_gloo(tiny_arch, tmp_path):
    """Two real processes under torchrun (gloo), each training the test backbone on its half of the data."""
    cache = make_cache(tmp_path / "cache", n=64)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    entry = os.path.join(os.path.dirname(__file__), "_ddp_entry.py")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        entry,
        "train",
        "--cache",
        str(cache),
        "--out",
        str(tmp_path / "run"),
        "--arch",
        tiny_arch,
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--no-progress",
        "--device",
        "cpu",
        "--threads",
        "1",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "run" / "best.safetensors").is_file()
    rows = list(csv.DictReader((tmp_path / "run" / "summary.csv").open()))
    assert len(rows) == 1


def test_time_budget_shortens_the_run_after_its_first_epoch(tiny_arch, tmp_path):
    cache = make_cache(tmp_path / "cache")
    cfg = tiny_run(cache, tmp_path / "run", tiny_arch, task="gender", epochs=50, time_budget_s=0.001)
    train(cfg)
    rows = list(csv.DictReader((tmp_path / "run" / "summary.csv").open()))
    assert len(rows) == 1 and cfg.epochs == 50  # the schedule owns the run's length; the config is not touched
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["epochs"] == 1  # what benchmarks read


def test_resumed_run_keeps_the_length_its_budget_gave_it(tiny_arch, tmp_path):
    cache = make_cache(tmp_path / "cache")
    cfg = tiny_run(cache, tmp_path / "run", tiny_arch, task="gender", epochs=3, time_budget_s=1e6)
    cfg.max_steps = 1
    train(cfg)  # the budget does not bind: 3 epochs, and the checkpoint records that length
    cfg2 = TrainConfig(**{**cfg.to_dict(), "epochs": 50, "resume": True})
    train(cfg2)  # an interrupted run restarted with the same command must not grow to 50 epochs
    rows = list(csv.DictReader((tmp_path / "run" / "summary.csv").open()))
    assert len(rows) == 3
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["epochs"] == 3


def test_schedule_follows_a_shortened_run_and_resumes_with_its_length():
    import torch

    from agegender.training.optim import LrSchedule

    f = LrSchedule("cosine", epochs=50, steps_per_epoch=10, warmup_epochs=0)
    assert f(49) > 0.9 and f(199) > 0.5
    f.set_epochs(20)  # as a time budget does after the first epoch
    assert f(199) < 1e-3 and f(100) == pytest.approx(0.5, abs=0.02)
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    saved = torch.optim.lr_scheduler.LambdaLR(opt, f).state_dict()
    g = LrSchedule("cosine", epochs=50, steps_per_epoch=10, warmup_epochs=0)
    torch.optim.lr_scheduler.LambdaLR(opt, g).load_state_dict(saved)
    assert g.epochs == 20  # the length travels with the checkpoint
    assert LrSchedule("step", 9, 10, 0)(89) == pytest.approx(0.01)


def test_weight_average_warms_up():
    import torch

    from agegender.training.optim import EmaWithWarmup

    fn = EmaWithWarmup(0.999)
    ema, cur = [torch.zeros(3)], [torch.ones(3)]
    fn(ema, cur, None)  # first step: decay 2/11, so the average moves most of the way
    assert torch.allclose(ema[0], torch.full((3,), 9 / 11))
    for _ in range(5000):
        fn(ema, cur, None)
    assert fn.steps == 5001 and torch.allclose(ema[0], torch.ones(3))


def test_training_with_weight_average_resumes(tiny_arch, tmp_path):
    cache = make_cache(tmp_path / "cache")
    cfg = dict(
        cache=str(cache),
        out=str(tmp_path / "run"),
        arch=tiny_arch,
        task="gender",
        batch_size=16,
        progress=False,
        threads=1,
        ema=0.99,
    )
    train(TrainConfig(**cfg, epochs=1))
    best = train(TrainConfig(**cfg, epochs=2, resume=True))
    rows = list(csv.DictReader((tmp_path / "run" / "summary.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"] and best["epoch"] in (1, 2)


def test_fine_tuning_starts_from_given_weights_and_refuses_ones_that_do_not_fit(tiny_arch, tmp_path):
    from agegender.models.weights import load_model

    cache = make_cache(tmp_path / "cache", n=64)
    base = tiny_run(cache, tmp_path / "first", tiny_arch, task="both", epochs=1)
    train(base)
    first, _ = load_model(tmp_path / "first" / "best.safetensors")
    tuned = TrainConfig(
        **{
            **base.to_dict(),
            "out": str(tmp_path / "tuned"),
            "lr": 1e-12,
            "ema": 0.0,
            "augment_background": 0.5,
            "init_weights": str(tmp_path / "first" / "best.safetensors"),
        }
    )
    train(tuned)
    second, meta = load_model(tmp_path / "tuned" / "best.safetensors")
    # The card counts both runs; a cache without a dataset name reports as "cache0".
    assert meta["fine_tuned_from"] == {"recipe": "custom", "epochs": 1, "datasets": ["cache0"]}
    w1, w2 = first.state_dict(), second.state_dict()
    # With a vanishing learning rate the weights stay where they started (batch-norm statistics move).
    assert all(
        torch.allclose(w1[k].float(), w2[k].float(), atol=2e-3)
        for k in w1
        if "running" not in k and "num_batches" not in k
    )
    wrong = TrainConfig(**{**tuned.to_dict(), "out": str(tmp_path / "wrong"), "task": "gender"})
    with pytest.raises(ValueError, match="does not fit"):
        train(wrong)


def test_gender_child_weight_weights_the_gender_loss_of_children_only(tiny_arch, tmp_path, monkeypatch):
    cache = make_cache(tmp_path / "cache")
    labels = json.loads((cache / "labels.json").read_text())
    labels["ages"] = [3 if i % 4 == 0 else 30 for i in range(len(labels["ages"]))]  # a quarter are children
    (cache / "labels.json").write_text(json.dumps(labels))
    seen = []

    def spy(logits, genders, kind, label_smoothing=0.0, weights=None):
        seen.append(weights)
        return real(logits, genders, kind, label_smoothing, weights)

    import agegender.training.loop as loop

    real = loop.gender_loss
    monkeypatch.setattr(loop, "gender_loss", spy)
    cfg = tiny_run(
        cache,
        str(tmp_path / "run"),
        tiny_arch,
        task="both",
        all_ages=True,
        epochs=1,
        max_steps=2,
        gender_child_weight=3.0,
    )
    train(cfg)
    weights = torch.cat(seen)
    assert set(weights.tolist()) == {1.0, 3.0}
    assert (weights == 3.0).sum() < (weights == 1.0).sum()  # children, not adults, got the weight


def test_distillation_from_a_teacher(tiny_arch, tmp_path):
    """A student learns from a teacher's soft targets; a teacher with other age bins is refused."""
    cache = make_cache(tmp_path / "cache")
    common = dict(
        cache=str(cache),
        task="both",
        age_head="distribution",
        age_loss="dldl",
        all_ages=False,
        batch_size=16,
        lr=1e-3,
        progress=False,
        threads=1,
    )
    train(TrainConfig(**common, out=str(tmp_path / "teacher"), arch=tiny_arch, epochs=1))
    student = train(
        TrainConfig(
            **common,
            out=str(tmp_path / "student"),
            arch=tiny_arch,
            epochs=1,
            teacher=str(tmp_path / "teacher" / "best.safetensors"),
            teacher_share=0.7,
        )
    )
    assert np.isfinite(student["age_mae"])
    with pytest.raises(ValueError, match="age_max"):
        train(
            TrainConfig(
                **{**common, "max_age": 40},
                out=str(tmp_path / "bad"),
                arch=tiny_arch,
                epochs=1,
                teacher=str(tmp_path / "teacher" / "best.safetensors"),
            )
        )


def test_a_killed_and_resumed_run_gives_the_weights_of_an_uninterrupted_one(tiny_arch, tmp_path, monkeypatch):
    """The heads' dropout draws from torch's global generator: resuming restores it with the rest."""
    import agegender.training.loop as loop

    cache = make_cache(tmp_path / "cache")

    def config(out):
        return tiny_run(cache, tmp_path / out, tiny_arch, task="both", epochs=3, lr=1e-3, resume=True)

    train(config("whole"))
    real_epoch = loop.train_one_epoch

    def killed_in_epoch_2(*args, **kwargs):
        if args[8] == 1:  # the epoch index
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(loop, "train_one_epoch", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train(config("killed"))
    monkeypatch.setattr(loop, "train_one_epoch", real_epoch)
    torch.manual_seed(12345)  # whatever the process did in between
    train(config("killed"))
    whole = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)["model"]
    resumed = torch.load(tmp_path / "killed" / "last.pt", weights_only=True)["model"]
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)


def test_silent_corruption_and_a_full_disk_are_one_line_each(tiny_arch, tmp_path, monkeypatch):
    import errno

    from agegender.errors import CheckpointError, UserError
    from agegender.models.weights import load_model

    cache = make_cache(tmp_path / "cache")
    cfg = tiny_run(cache, tmp_path / "run", tiny_arch, task="both", epochs=1)
    train(cfg)
    weights = tmp_path / "run" / "best.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0x40  # one bit of one tensor flipped, the file's structure intact
    weights.write_bytes(bytes(data))
    with pytest.raises(UserError, match="do not match the checksum"):
        load_model(weights)
    last = tmp_path / "run" / "last.pt"
    state = torch.load(last, weights_only=True)
    name = next(k for k, v in state["model"].items() if v.is_floating_point())
    state["model"][name] = state["model"][name] + 1e-3  # as a bad copy or a failing disk would
    torch.save(state, last)
    cfg.epochs, cfg.resume = 2, True
    with pytest.raises(CheckpointError, match="checksum.*Move it away"):
        train(cfg)

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    fresh = TrainConfig(**{**cfg.to_dict(), "out": str(tmp_path / "full"), "resume": False, "epochs": 1})
    with pytest.raises(CheckpointError, match="No space left on device.*previous one is kept"):
        train(fresh)
    assert not list((tmp_path / "full").glob("last.pt*"))  # no temp file left behind


def test_damaged_caches_are_one_line_each(tmp_path):

    from agegender.data.cache import open_cache
    from agegender.errors import CacheError

    for damage, message in (
        ("truncate", "damaged"),
        ("labels", "damaged"),
        ("objects", "damaged"),
        ("missing", "incomplete"),
    ):
        cache = make_cache(tmp_path / damage)
        images = cache / "images.npy"
        if damage == "truncate":
            images.write_bytes(images.read_bytes()[:5000])
        elif damage == "labels":
            (cache / "labels.json").write_text('{"ages": [1, 2')
        elif damage == "objects":
            np.save(images, np.array([{"a": 1}] * 96, dtype=object), allow_pickle=True)
        else:
            images.unlink()
        with pytest.raises(CacheError, match=message) as info:
            open_cache(cache)
        assert "\n" not in str(info.value) and "agegender data cache" in str(info.value)


def test_smoke_runs_and_a_budget_shorter_than_one_epoch_are_honoured(tiny_arch, tmp_path):
    cache = make_cache(tmp_path / "cache", n=400)
    best = train(tiny_run(cache, tmp_path / "smoke", tiny_arch, task="both", epochs=30, smoke=True))
    rows = list(csv.DictReader((tmp_path / "smoke" / "summary.csv").open()))
    assert len(rows) == 1 and rows[0]["steps"] == "3" and best["epoch"] == 1
    # a first epoch of 400 draws x 50 would take far longer than the budget: it is cut short
    train(
        tiny_run(
            cache, str(tmp_path / "budget"), tiny_arch, task="both", epochs=5, epoch_size=400 * 50, time_budget_s=1.0
        )
    )
    rows = list(csv.DictReader((tmp_path / "budget" / "summary.csv").open()))
    assert len(rows) == 1 and 0 < int(rows[0]["steps"]) < 400 * 50 // 16 and float(rows[0]["epoch_seconds"]) < 5
