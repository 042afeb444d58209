"""tools/setup_env.py: the one set-up path for make and for Windows users."""
import os
import stat
import sys

import pytest

from tools import setup_env


def _fake_python(tmp_path, version="3 10 4"):
    """An 'interpreter' that reports ``version`` the way setup_env asks for it."""
    exe = tmp_path / "python-fake"
    exe.write_text(f"#!/bin/sh\necho {version}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe)


@pytest.mark.skipif(os.name == "nt", reason="the fake interpreter is a shell script")
def test_an_unsupported_python_is_refused_with_the_remedy(tmp_path):
    with pytest.raises(setup_env.SetupError) as e:
        setup_env.python_version(_fake_python(tmp_path, "3 10 4"))
    msg = str(e.value)
    assert "Python 3.10.4" in msg and "3.11, 3.12 or 3.13" in msg
    assert "PYTHON=python3.13" in msg and "py -3.13" in msg


def test_a_missing_python_is_refused_with_the_remedy(tmp_path):
    with pytest.raises(setup_env.SetupError, match="cannot run the Python"):
        setup_env.python_version(str(tmp_path / "no-such-python"))


def test_this_python_is_supported():
    assert setup_env.python_version(sys.executable) == sys.version_info[:2]


def _fake_venv(tmp_path):
    venv = tmp_path / "venv"
    py = setup_env.venv_python(venv)
    py.parent.mkdir(parents=True)
    py.symlink_to(sys.executable)
    (venv / "pyvenv.cfg").write_text("home = x\n")
    return venv


def test_the_stamp_decides_whether_to_reinstall(tmp_path):
    venv = _fake_venv(tmp_path)
    exe = setup_env.choose_python(venv, None)
    assert exe == str(setup_env.venv_python(venv)), "the venv's own Python is reused"
    assert not setup_env.is_up_to_date(venv, exe, "pypi")          # no stamp yet
    setup_env._write_stamp(venv, setup_env.wanted_stamp(exe, "pypi"))
    assert setup_env.is_up_to_date(venv, exe, "pypi")
    assert not setup_env.is_up_to_date(venv, exe, "cpu")            # another torch build
    stamp = setup_env.read_stamp(venv)
    setup_env._write_stamp(venv, dict(stamp, lock="0" * 64))        # the lock changed
    assert not setup_env.is_up_to_date(venv, exe, "pypi")


def test_check_command_reports_without_installing(tmp_path, capsys):
    venv = _fake_venv(tmp_path)
    assert setup_env.main(["--venv", str(venv), "check"]) == 1
    assert "out of date" in capsys.readouterr().out
    assert not (venv / ".installed").exists()


def test_a_folder_that_is_no_venv_is_never_deleted(tmp_path):
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(setup_env.SetupError, match="not a virtual environment"):
        setup_env._remove_venv(folder)
    assert (folder / "notes.txt").read_text() == "keep me"


def test_a_bad_python_choice_exits_2_with_the_message(tmp_path, capsys):
    code = setup_env.main(["--venv", str(tmp_path / "v"), "--python",
                           str(tmp_path / "nope"), "install"])
    assert code == 2
    assert "cannot run the Python" in capsys.readouterr().err
    assert not (tmp_path / "v").exists()
