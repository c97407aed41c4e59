"""The gradbricks pytest plugin: ``--gradcheck-max-examples`` (and its ini option) set the
examples of check_function/check_module, and the ``gradbricks`` Hypothesis profile
(derandomised, no deadline) is the default unless the suite chose a profile itself."""
import os
import sys

import pytest

import engine

pytest_plugins = ["pytester"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(engine.__file__)))
# load the plugin by module name whether or not the package's entry point is installed
PLUGIN = ("-p", "no:gradbricks", "-p", "engine.testing.pytest_plugin", "-p", "no:cacheprovider")

USER_TESTS = """
from hypothesis import settings
from engine.testing import check_function, default_max_examples, tensors

def test_profile():
    assert settings.get_current_profile_name() == {profile!r}
    if {profile!r} == "gradbricks":
        assert settings.default.derandomize and settings.default.deadline is None

def test_examples_per_check():
    assert default_max_examples() == {n}
    drawn = []
    check_function(lambda t: t.tanh(), tensors(shape=(2,)).map(lambda t: drawn.append(1) or t))
    assert len(drawn) == {n}
"""


# the variables by which Hypothesis detects a CI server and then loads its own "ci" profile
CI_VARIABLES = ("CI", "__TOX_ENVIRONMENT_VARIABLE_ORIGINAL_CI", "TF_BUILD", "bamboo.buildKey",
                "BUILDKITE", "CIRCLECI", "CIRRUS_CI", "CODEBUILD_BUILD_ID", "GITHUB_ACTIONS",
                "GITLAB_CI", "HEROKU_TEST_RUN_ID", "TEAMCITY_VERSION")


@pytest.fixture
def env(pytester, monkeypatch):
    """A user's suite run in a subprocess, outside any CI server (this suite itself may run on one)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return pytester


def test_option_sets_examples_and_profile_is_the_default(env):
    env.makepyfile(test_user=USER_TESTS.format(profile="gradbricks", n=7))
    result = env.runpytest_subprocess(*PLUGIN, "--gradcheck-max-examples", "7")
    result.assert_outcomes(passed=2)
    assert any("gradbricks: hypothesis profile 'gradbricks', check examples 7" in line
               for line in result.outlines)


def test_ini_option_and_a_profile_chosen_by_the_suite_win(env):
    env.makeini("[pytest]\ngradcheck_max_examples = 4\n")
    env.makeconftest("from hypothesis import settings\n"
                     "settings.register_profile('ci', max_examples=30, deadline=None)\n"
                     "settings.load_profile('ci')\n")
    env.makepyfile(test_user=USER_TESTS.format(profile="ci", n=4))
    env.runpytest_subprocess(*PLUGIN).assert_outcomes(passed=2)


def test_on_a_ci_server_hypothesis_own_ci_profile_stays(env, monkeypatch):
    # Hypothesis loads its "ci" profile (also derandomised, no deadline) when CI is set; that
    # counts as a choice already made, so the plugin leaves it and only sets the examples
    monkeypatch.setenv("CI", "true")
    env.makepyfile(test_user=USER_TESTS.format(profile="ci", n=5))
    result = env.runpytest_subprocess(*PLUGIN, "--gradcheck-max-examples", "5")
    result.assert_outcomes(passed=2)
    assert any("gradbricks: hypothesis profile 'ci', check examples 5" in line
               for line in result.outlines)


def test_a_bad_value_is_a_usage_error(env):
    env.makepyfile(test_user="def test_x():\n    pass\n")
    result = env.runpytest_subprocess(*PLUGIN, "--gradcheck-max-examples", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "positive integer" in result.stderr.str()


def test_pyproject_declares_the_entry_point():
    if sys.version_info < (3, 11):
        pytest.skip("tomllib needs Python 3.11")
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        meta = tomllib.load(f)
    assert meta["project"]["entry-points"]["pytest11"]["gradbricks"] == "engine.testing.pytest_plugin"
    from engine.testing import pytest_plugin

    assert callable(pytest_plugin.pytest_addoption) and pytest_plugin.PROFILE == "gradbricks"
