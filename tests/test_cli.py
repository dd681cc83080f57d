"""The command line's contract: exit codes and messages for user errors, tracebacks for bugs."""

import pytest

import agegender.cli.predict
from agegender.cli import main


def test_user_errors_are_one_line_with_exit_2_and_v_adds_the_traceback(tmp_path, capsys):
    assert main(["predict", str(tmp_path), "--model", "alexnet"]) == 2
    assert main(["evaluate", str(tmp_path / "none.safetensors"), "--cache", str(tmp_path), "--name", "x"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") <= 3
    assert main(["-v", "evaluate", str(tmp_path / "none.safetensors"), "--cache", str(tmp_path), "--name", "x"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_a_bug_is_not_dressed_as_a_user_error(monkeypatch, tmp_path):
    def broken(args):
        raise ValueError("an internal inconsistency")

    monkeypatch.setattr(agegender.cli.predict, "run_predict", broken)
    with pytest.raises(ValueError, match="internal"):  # propagates: Python prints it and exits with 1
        main(["predict", str(tmp_path)])


def test_photo_conditions_script_refuses_limit_0():
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "photo_conditions.py"
    main_fn = runpy.run_path(str(script))["main"]
    with pytest.raises(SystemExit) as exc:
        main_fn(["--images", ".", "--limit", "0", "-o", "x.json"])
    assert exc.value.code == 2


def test_ray_needs_csv_output(tmp_path, capsys):
    assert main(["predict", str(tmp_path), "--ray", "--format", "table"]) == 2
    assert "--ray writes CSV rows" in capsys.readouterr().err


def test_ray_auto_without_a_cluster_is_one_line_and_leaves_no_output_file(tmp_path, capsys):
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'agegender[ray]'")
    from tests.support import EXAMPLE_PHOTO

    out = tmp_path / "out.csv"
    assert (
        main(["predict", str(EXAMPLE_PHOTO), "--model", "resnet50", "--ray", "auto", "--format", "csv", "-o", str(out)])
        == 2
    )
    err = capsys.readouterr().err
    assert "no Ray cluster found at 'auto'" in err and "ray start --head" in err and "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_an_unknown_architecture_is_refused_with_the_other_options_before_any_data_is_read(tmp_path, capsys):
    assert main(["train", "--arch", "resnet", "--cache", str(tmp_path / "nocache"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "--arch must be one of" in err and "resnet50" in err and "is not a face cache" in err
    assert not (tmp_path / "r").exists()
