"""``%%hpsearch`` and ``%hpexport`` through a real IPython shell."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import regression_data, textbook_build
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from nnhp_magics.api import Search

SPEC = """
n_hidden = choice(0, 1)      # comments are fine
n_neurons = int(2, 16)
learning_rate = loguniform(1e-3, 3e-2)
"""


@pytest.fixture(scope="module")
def shell(ip, keras_ready):
    x, y = regression_data()
    xv, yv = regression_data(60, seed=5)
    ip.user_ns.update(build_model=textbook_build, X=x, y=y, XV=xv, YV=yv, np=__import__("numpy"))
    return ip


def run(shell, line, cell=SPEC):
    return shell.run_cell_magic("hpsearch", line, cell)


def test_load_ext_imports_no_tensorflow():
    code = (
        "import sys, time; from IPython.testing.globalipapp import start_ipython; ip = start_ipython(); "
        "t = time.time(); ip.run_line_magic('load_ext', 'nnhp_magics'); elapsed = time.time() - t; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'; "
        "assert 'hpsearch' in ip.magics_manager.magics['cell']; print(elapsed)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip().splitlines()[-1]) < 2.0


def test_hpsearch_assigns_output_and_returns_the_search(shell):
    with capture_output() as captured:
        result = run(shell, "build_model X y --valid XV YV --trials 2 --epochs 2 --seed 3 -o search")
    search = shell.user_ns["search"]
    assert result is search and isinstance(search, Search)
    assert len(search.trials) == 2 and search.best_trial.state == "complete"
    assert "trial 0/2 complete" in captured.stdout and "search done" in captured.stdout


def test_options_reach_the_search(shell):
    with capture_output():
        run(
            shell,
            "build_model X y --cv 2 --strategy grid --epochs 1 --patience 0 --batch-size 64 --seed 1 -o s",
            "n_hidden = choice(0, 1)",
        )
    search = shell.user_ns["s"]
    assert search.strategy == "grid" and search.cv == 2 and search.budget == 2
    assert all(len(t.fold_scores) == 2 and t.epochs == 2 for t in search.trials)


def test_line_expressions_and_braces_are_evaluated_in_the_notebook(shell):
    shell.user_ns["n_trials"] = 1
    shell.user_ns["low"] = 3
    with capture_output():
        run(shell, "build_model X[:100] y[:100] --trials {n_trials} --epochs 1 -o s2", "n_neurons = int({low}, {low * 2})")
    search = shell.user_ns["s2"]
    assert len(search.trials) == 1 and 3 <= search.trials[0].params["n_neurons"] <= 6


def test_space_from_a_dict_in_the_notebook(shell):
    shell.user_ns["param_distribs"] = {"n_hidden": [0, 1], "n_neurons": shell.user_ns["np"].arange(1, 10)}
    with capture_output():
        shell.run_line_magic("hpsearch", "build_model X y --space param_distribs --trials 1 --epochs 1 -o s3")
        run(shell, "build_model X y --space param_distribs --trials 1 --epochs 1 -o s4", "# the space is a dict")
    assert set(shell.user_ns["s3"].trials[0].params) == {"n_hidden", "n_neurons"}
    assert set(shell.user_ns["s4"].trials[0].params) == {"n_hidden", "n_neurons"}
    with pytest.raises(UsageError, match="leave the cell body empty"):
        run(shell, "build_model X y --space param_distribs", "n_neurons = int(1, 3)")


def test_fit_kwargs_callbacks_are_called(shell, keras_ready):
    seen = []

    class Count(keras_ready.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch)

    shell.user_ns["extra"] = {"callbacks": [Count()]}
    with capture_output():
        run(shell, "build_model X y --trials 1 --epochs 2 --patience 0 --fit-kwargs extra")
    assert seen == [0, 1]


def test_quiet_prints_text_lines(shell):
    with capture_output() as captured:
        run(shell, "build_model X y --trials 1 --epochs 1 --quiet")
    assert "trial 0/1" in captured.stdout


def test_hpexport_writes_the_latest_or_the_named_search(shell, tmp_path, keras_ready):
    with capture_output():
        run(shell, "build_model X y --trials 1 --epochs 1 -o exported")
    shell.run_line_magic("hpexport", f"{tmp_path / 'latest.keras'}")
    shell.run_line_magic("hpexport", f"exported {tmp_path / 'named.keras'}")
    for name in ("latest", "named"):
        model = keras_ready.models.load_model(tmp_path / f"{name}.keras")
        assert model.predict(shell.user_ns["X"][:2], verbose=0).shape == (2, 1)
        assert (tmp_path / f"{name}.params.json").exists() and (tmp_path / f"{name}.leaderboard.csv").exists()
    with pytest.raises(UsageError, match="exists already"):
        shell.run_line_magic("hpexport", f"exported {tmp_path / 'named.keras'}")
    shell.run_line_magic("hpexport", f"exported {tmp_path / 'named.keras'} --overwrite")


def test_export_option_saves_when_the_search_ends(shell, tmp_path):
    target = tmp_path / "auto.keras"
    with capture_output():
        run(shell, f"build_model X y --trials 1 --epochs 1 --export {target}")
    assert target.exists()
    with pytest.raises(UsageError, match="exists already"):
        run(shell, f"build_model X y --trials 1 --epochs 1 --export {target}")


@pytest.mark.parametrize(
    "line, cell, message",
    [
        ("build_modle X y", SPEC, "name 'build_modle' is not defined in the notebook. Did you mean 'build_model'?"),
        ("build_model X y", "n_neurons = int(5, 1)", "lo must be < hi"),
        ("build_model X y", "learning_rate = logunifrom(1e-4, 1e-2)", "did you mean loguniform?"),
        ("build_model X y", "activation = choice(relu, tanh)", "did you mean 'relu'?"),
        ("build_model X y", "n_nerons = int(1, 5)", "did you mean 'n_neurons'?"),
        ("build_model X y[:10]", SPEC, "different lengths"),
        ("build_model X y --objective val_custom", SPEC, "min:val_custom"),
        ("build_model X y --strategy randon", SPEC, "Did you mean 'random'?"),
        ("build_model X y", "# nothing", "the search space is empty"),
        ("build_model X y --space missing_dict", "# none", "'missing_dict' is not defined"),
        ("build_model X y --valid XV", SPEC, "--valid takes two names"),
        ("build_model X y --trials 0", SPEC, "--trials must be at least 1"),
        ("build_model X y --epochs x", SPEC, "invalid int value"),
    ],
)
def test_user_mistakes_are_one_usage_error(shell, line, cell, message):
    with pytest.raises(UsageError) as info:
        run(shell, line, cell)
    assert type(info.value) is UsageError
    assert message in str(info.value)


def test_spec_errors_show_the_line_and_a_caret(shell):
    with pytest.raises(UsageError) as info:
        run(shell, "build_model X y", "n_hidden = choice(0, 1)\nlearning_rate = loguniform(0, 1e-2)")
    text = str(info.value)
    assert "spec line 2" in text and "learning_rate = loguniform(0, 1e-2)" in text
    caret_line = text.splitlines()[text.splitlines().index("    learning_rate = loguniform(0, 1e-2)") + 1]
    assert caret_line.strip() == "^" and caret_line.index("^") == 4 + len("learning_rate = loguniform(")


def test_a_user_error_shows_no_traceback(shell):
    with capture_output() as captured:
        shell.run_cell("%%hpsearch build_model X y\nn_neurons = int(5, 1)\n")
    assert "UsageError" in captured.stderr + captured.stdout
    assert "Traceback" not in captured.stderr + captured.stdout


def test_every_trial_failing_still_assigns_the_output(shell):
    def broken(n_neurons=3):
        raise RuntimeError("no luck")

    shell.user_ns["broken"] = broken
    shell.user_ns.pop("failed_search", None)
    with pytest.raises(UsageError, match="all 2 trials failed"):
        with capture_output():
            run(shell, "broken X y --trials 2 --epochs 1 -o failed_search", "n_neurons = int(1, 4)")
    assert len(shell.user_ns["failed_search"].trials) == 2


def test_background_returns_at_once_and_fills_in(shell):
    with capture_output():
        search = run(shell, "build_model X y --trials 2 --epochs 2 --background -o bg")
    assert shell.user_ns["bg"] is search
    search.wait(timeout=120)
    assert search.done and len(search.trials) == 2 and search.best_trial.state == "complete"
