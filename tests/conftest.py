"""Shared fixtures: a real PostgreSQL (see logduct_conformance.postgres), the reference's processes
(``rig``) and Hypothesis profiles."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from rig import Rig

from logduct_conformance.peers import no_leftover_peers  # noqa: F401 (an autouse fixture)
from logduct_conformance.processes import no_leftover_processes  # noqa: F401 (an autouse fixture)

# The suite's plugin, which pytest loads by itself only for a run that names the suite: these tests
# import its checks (whose marks it declares) and use its PostgreSQL fixtures (it loads
# logduct_conformance.postgres).
pytest_plugins = ["logduct_conformance.plugin"]

# HYPOTHESIS_PROFILE picks one: "ci" (default, fast), "thorough" (many more examples).
settings.register_profile("ci", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rig(tmp_path: Path, pg_dsn: str) -> Rig:
    """The reference's collectors and emitters, in ``tmp_path``, into a test database of their own."""
    return Rig(tmp_path, pg_dsn)
