"""The gradbricks pytest plugin (entry point ``pytest11: gradbricks``), so a user's suite needs
no boilerplate:

* ``--gradcheck-max-examples N``: the default number of examples of ``check_function`` and
  ``nn.testing.check_module`` (also the ini option ``gradcheck_max_examples``);
* a Hypothesis profile ``gradbricks`` (derandomised: the same examples every run; no deadline:
  gradient checks are slow and timing-dependent), loaded by default when nothing else chose a
  profile — ``--hypothesis-profile NAME`` or a conftest's ``settings.load_profile`` wins, and so
  does the ``ci`` profile Hypothesis loads by itself on a CI server (``CI`` set; it is also
  derandomised with no deadline).

Disable the whole plugin with ``pytest -p no:gradbricks``.
"""
from __future__ import annotations

from hypothesis import HealthCheck, settings

from .runner import default_max_examples, set_default_max_examples

PROFILE = "gradbricks"

settings.register_profile(PROFILE, derandomize=True, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])


def pytest_addoption(parser):
    """``--gradcheck-max-examples`` and its ini twin."""
    group = parser.getgroup("gradbricks", "gradbricks property checks")
    group.addoption("--gradcheck-max-examples", type=int, default=None, metavar="N",
                    help="examples drawn by engine.testing.check_function and "
                         "nn.testing.check_module when a call does not say (default 20)")
    parser.addini("gradcheck_max_examples", "default examples of check_function/check_module",
                  default=None)


def pytest_configure(config):
    """Apply the option; load the gradbricks profile unless a profile was chosen already."""
    n = config.getoption("gradcheck_max_examples")
    if n is None:
        n = config.getini("gradcheck_max_examples") or None
    if n is not None:
        try:
            set_default_max_examples(int(n))
        except ValueError as e:
            import pytest

            raise pytest.UsageError(f"--gradcheck-max-examples: {e}") from None
    chosen = _option(config, "hypothesis_profile")
    if chosen is None and settings.get_current_profile_name() == "default":
        settings.load_profile(PROFILE)


def pytest_unconfigure(config):
    """Restore the library default for whatever runs next in this process."""
    set_default_max_examples(None)


def pytest_report_header(config):
    """One header line: the profile and the examples per check."""
    return (f"gradbricks: hypothesis profile {settings.get_current_profile_name()!r}, "
            f"check examples {default_max_examples()}")


def _option(config, name):
    try:
        return config.getoption(name)
    except ValueError:
        return None
