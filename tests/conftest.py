"""Shared fixtures: a real PostgreSQL (see logduct_conformance.postgres) and Hypothesis profiles."""

import os

from hypothesis import HealthCheck, settings

from logduct_conformance.peers import no_leftover_peers  # noqa: F401 (an autouse fixture)
from logduct_conformance.processes import no_leftover_processes  # noqa: F401 (an autouse fixture)

pytest_plugins = ["logduct_conformance.postgres"]

# HYPOTHESIS_PROFILE picks one: "ci" (default, fast), "thorough" (many more examples).
settings.register_profile("ci", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
