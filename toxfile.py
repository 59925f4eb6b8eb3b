"""tox's inline plugin for logduct: an environment whose Python is missing says how to make it visible.

tox.ini never skips an interpreter (skip_missing_interpreters = false: CI must run them all), and
tox's own words for a missing one end in "evaluation failed :(" with no hint of what to do.
"""

from __future__ import annotations

import logging
import re

from tox.plugin import impl
from tox.tox_env.api import ToxEnv
from tox.tox_env.python.api import NoInterpreter, Python


@impl
def tox_env_teardown(tox_env: ToxEnv) -> None:
    if not isinstance(tox_env, Python):
        return
    try:
        tox_env.base_python  # noqa: B018 (tox keeps its search's result: found, or this failure again)
    except NoInterpreter:
        name = tox_env.conf.name
        version = re.fullmatch(r"py3(\d+)", name)
        python = f"python3.{version[1]}" if version else "its Python"
        logging.error(
            "no %s on PATH. tox finds each Python on PATH: install it and put it there (with pyenv: "
            "`pyenv install 3.X` for each, then `pyenv global 3.13 3.12 3.11 3.10`; .ci/run does the same), "
            "or run only the Pythons you have, e.g. `tox -e py312,known-bad,lint,type,busy`", python)
