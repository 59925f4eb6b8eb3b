"""docker-compose.yml, the Dockerfile, tox.ini, .ci/run, README.md and the built sdist and wheel
keep their promises.

No Docker engine runs where these tests run, so the demo's compose file is checked for structure;
the tests' own Docker path is run with a fake docker client (tests/test_docker_path.py).
"""

from __future__ import annotations

import configparser
import email
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from psycopg.conninfo import conninfo_to_dict

ROOT = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def command_of(service: dict[str, Any]) -> list[str]:
    return [*service.get("entrypoint", []), *service.get("command", [])]


def test_postgres_service_is_official_image_with_healthcheck() -> None:
    """The postgres service runs the official image and says when it is ready."""
    postgres = SERVICES["postgres"]
    assert re.fullmatch(r"postgres:\d+", postgres["image"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_published_ports_are_on_loopback() -> None:
    """Security: nothing is published beyond 127.0.0.1."""
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_the_suites_compose_file_runs_the_demos_postgres() -> None:
    """The tests' PostgreSQL under Docker (the package's compose.yml) is the demo's: same image,
    credentials and health check; only its host port differs, left to Docker."""
    suite = yaml.safe_load((ROOT / "conformance" / "logduct_conformance" / "compose.yml").read_text())
    ours, demo = suite["services"]["postgres"], SERVICES["postgres"]
    assert [ours[key] for key in ("image", "environment", "healthcheck")] == [
        demo[key] for key in ("image", "environment", "healthcheck")]


def test_collector_is_built_here_and_waits_for_a_healthy_database() -> None:
    """The collector image comes from this repository and starts once PostgreSQL is healthy."""
    collector = SERVICES["collector"]
    assert (ROOT / collector["build"] / "Dockerfile").is_file()
    assert collector["depends_on"]["postgres"]["condition"] == "service_healthy"
    command = command_of(collector)
    assert command[0] == "collect" and "--dsn" in command


def test_collector_dsn_matches_the_postgres_service() -> None:
    """The DSN the collector gets is the database the postgres service creates."""
    command = command_of(SERVICES["collector"])
    dsn = conninfo_to_dict(command[command.index("--dsn") + 1])
    env = SERVICES["postgres"]["environment"]
    assert (dsn["host"], dsn["user"], dsn["password"], dsn["dbname"]) == (
        "postgres", env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"])


def test_two_applications_emit_to_the_collector_fifo() -> None:
    """Two emitter services, named after the seed's apps, write to the FIFO the collector reads."""
    collector = command_of(SERVICES["collector"])
    fifo = collector[collector.index("--fifo") + 1]
    apps = {name: s for name, s in SERVICES.items() if name.startswith("app-")}
    assert sorted(apps) == ["app-myapp-123", "app-myapp-456"]
    script = (ROOT / "docker" / "demo-app.sh").read_text()
    assert f"logduct emit --fifo {fifo}" in script
    for service in apps.values():
        assert service["image"] == SERVICES["collector"]["image"]
        assert set(service["volumes"]) >= set(SERVICES["collector"]["volumes"])


def test_dockerfile_installs_the_package_and_runs_as_a_user() -> None:
    """The image installs this project with pip, runs logduct, and not as root."""
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1\d", text, re.MULTILINE)
    assert "pip install --no-cache-dir ." in text
    # pyproject's license-files must be in the build context, or the build fails.
    assert re.search(r"^COPY .*\bLICENSE\b", text, re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert 'ENTRYPOINT ["logduct"]' in text


def test_tox_runs_every_supported_python_lint_type_and_the_busy_suite() -> None:
    """tox.ini lists the four Pythons, ruff, mypy --strict over the three packages, and the suite
    beside two CPU hogs, and never skips an interpreter."""
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    envs = [e.strip() for e in tox["tox"]["envlist"].split(",")]
    assert envs == ["py310", "py311", "py312", "py313", "known-bad", "lint", "type", "busy"]
    assert "known_bad" in tox["testenv"]["commands"] and "known_bad" in tox["testenv:known-bad"]["commands"]
    assert tox["tox"]["skip_missing_interpreters"] == "false"
    assert "mypy --strict reference/logduct conformance/logduct_conformance bench" in tox["testenv:type"]["commands"]
    assert "--beside-cpu-hogs 2" in tox["testenv:busy"]["commands"]


def readme_commands() -> list[str]:
    quick_start = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", quick_start, re.DOTALL)
    assert block, "README.md's quick start has no code block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    """README: one command installs and runs logduct, one runs the tests; .ci/run runs that one."""
    run, test = readme_commands()
    assert run.startswith("pip install . && logduct ")
    assert test == "pip install tox && tox"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci


def test_ci_installs_tox_into_a_virtual_environment_of_its_own() -> None:
    """.ci/run makes .ci/venv (ignored by git) and puts it first on PATH before the README's command."""
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    venv, path, test = (ci.index(line) for line in (
        "python3 -m venv .ci/venv", 'PATH="$PWD/.ci/venv/bin:$PATH"', "pip install tox && tox"))
    assert venv < path < test
    assert ".ci/venv/" in (ROOT / ".gitignore").read_text().splitlines()


def test_a_missing_python_in_tox_says_how_to_make_it_visible(tmp_path: Path) -> None:
    """toxfile.py: tox's failure for an interpreter it cannot find is followed by what to do."""
    pytest.importorskip("tox", reason="tox itself is not installed here (it is where tox runs)")
    shutil.copy(ROOT / "toxfile.py", tmp_path)
    (tmp_path / "tox.ini").write_text("[tox]\nskip_missing_interpreters = false\n"
                                      "[testenv]\nskip_install = true\ncommands = python -V\n")
    done = subprocess.run([sys.executable, "-m", "tox", "-c", str(tmp_path / "tox.ini"), "-e", "py399"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "evaluation failed" in output, output[-2000:]
    assert "py399: no python3.99 on PATH. tox finds each Python on PATH" in output, output[-2000:]


def test_systemd_unit_restarts_the_collector_on_failure_and_stops_it_with_sigterm() -> None:
    """docs/systemd: a C-level abort in libzmq is answered by a restart; a stop is SIGTERM (COL-4)."""
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "docs" / "systemd" / "logduct-collect.service")
    service = unit["Service"]
    program, command = service["ExecStart"].split()[:2]
    assert (Path(program).name, command) == ("logduct", "collect")
    assert (service["Restart"], service["KillSignal"]) == ("on-failure", "SIGTERM")
    assert float(service["RestartSec"]) >= 1 and unit["Unit"]["StartLimitIntervalSec"] == "0"
    assert service["RuntimeDirectoryMode"] == "0700"
    endpoint = re.search(r"--zmq (\S+)", service["ExecStart"])
    assert endpoint and endpoint[1].startswith("tcp://127.0.0.1:")  # ZMQ-1: loopback


def test_every_python_package_of_the_tree_is_packaged() -> None:
    """A sub-package left out of pyproject's list works from the checkout and is missing once installed."""
    text = (ROOT / "pyproject.toml").read_text()  # read by pattern: tomllib is not in Python 3.10
    listed = set(re.findall(r'"([\w.]+)"', re.search(r"^packages = \[(.*)\]$", text, re.MULTILINE)[1]))  # type: ignore[index]
    package_dir = re.findall(r'"([\w.]+)" = "([\w/]+)"', re.search(r"^package-dir = \{(.*)\}$", text, re.MULTILINE)[1])  # type: ignore[index]
    assert package_dir and listed
    for name, folder in package_dir:
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            assert ".".join((name, *relative)) in listed, f"{init.parent} is not in [tool.setuptools] packages"


# The sdist and the wheel, built offline from a copy of the tree as `python -m build` builds them: the
# sdist first, then the wheel from the unpacked sdist, so that the wheel proves the sdist complete.

#: What the tests, tox and the Docker demo need from an unpacked sdist (issue 14 found these missing).
SDIST_NEEDS = ["LICENSE", "README.md", "SPEC.md", "pyproject.toml", "tox.ini", "Dockerfile", "docker-compose.yml",
               "docker/demo-app.sh", "tests/conftest.py", "tests/spec_ids.py", "tests/rig.py", "tests/fake_docker.py",
               "tests/reference_records.py", "bench/__main__.py", "conformance/README.md",
               "conformance/known-bad/manifest.json", "sql/schema.sql", "docs/architecture.md"]
#: Tracked files that are the repository's and not the source's: CI's script and git's own.
NOT_IN_SDIST = {".ci/run", ".gitignore"}
_JUNK = shutil.ignore_patterns(".git", ".tox", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
                               ".mypy_cache", ".ruff_cache", ".hypothesis", ".pytest_cache", "results")


@dataclass(frozen=True)
class Built:
    log: str  # what python -m build printed
    sdist: list[str]  # member paths, without the logduct-VERSION/ prefix
    wheel: zipfile.ZipFile
    unpacked: Path  # the sdist, unpacked


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_JUNK, symlinks=True)
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "dist"),
                           str(source)], capture_output=True, text=True, timeout=600, check=False)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    (sdist_path,) = (work / "dist").glob("*.tar.gz")
    (wheel_path,) = (work / "dist").glob("*.whl")
    with tarfile.open(sdist_path) as sdist:
        members = [m.name.split("/", 1)[1] for m in sdist.getmembers() if m.isfile()]
        # The "data" filter refuses what an archive should not do (absolute paths, links out); not every
        # Python 3.10 has it.
        sdist.extractall(work / "unpacked", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (unpacked,) = (work / "unpacked").iterdir()
    with zipfile.ZipFile(wheel_path) as wheel:
        yield Built(log, members, wheel, unpacked)


def test_the_build_does_not_warn_of_ignored_packages(built: Built) -> None:
    """Every folder under a package is declared: none "would be ignored" (the vectors/ folders were)."""
    assert "would be ignored" not in built.log, re.findall(r".*would be ignored.*|.*absent from.*", built.log)


def test_the_sdist_holds_what_the_tests_need_and_no_leftovers(built: Built) -> None:
    """The sdist is the source: every tracked file but CI's, none of a run's leftovers."""
    assert not [path for path in SDIST_NEEDS if path not in built.sdist]
    if (ROOT / ".git").exists() and shutil.which("git"):
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        missing = set(tracked.split()) - NOT_IN_SDIST - set(built.sdist)
        assert not {path for path in missing if (ROOT / path).exists()}  # a file deleted but not committed yet is not
    assert not [path for path in built.sdist if "__pycache__" in path or path.endswith(".pyc") or "_cache/" in path]


def test_the_tests_are_collected_from_the_unpacked_sdist(built: Built) -> None:
    """Every test module imports from an unpacked sdist: conftest.py, rig.py, spec_ids.py, bench/ are there."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q"],
                          cwd=built.unpacked, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert re.search(r"^\d+ tests collected", done.stdout, re.MULTILINE), done.stdout[-1000:]


def test_the_wheel_holds_the_suite_its_data_and_the_licence(built: Built) -> None:
    """The vectors (every file), the compose file and SPEC.md the installed suite reads; the LICENSE."""
    names = set(built.wheel.namelist())
    vectors = ROOT / "conformance" / "logduct_conformance" / "vectors"
    expected = {f"logduct_conformance/vectors/{p.relative_to(vectors).as_posix()}" for p in vectors.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    assert expected and not expected - names
    assert {"logduct_conformance/compose.yml", "logduct_conformance/SPEC.md", "logduct_conformance/pytest_entry.py",
            "logduct/py.typed", "logduct/sql/schema.sql"} <= names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


def test_the_wheel_metadata(built: Built) -> None:
    """Licence, Pythons, a light conformance extra without matplotlib, the pytest11 entry point."""
    (metadata_name,) = [n for n in built.wheel.namelist() if n.endswith(".dist-info/METADATA")]
    meta = email.message_from_bytes(built.wheel.read(metadata_name))
    assert meta["License-Expression"] == "MIT" and meta["Requires-Python"] == ">=3.10"
    classifiers = meta.get_all("Classifier")
    assert [c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)] \
        == ["3.10", "3.11", "3.12", "3.13"]
    requires = meta.get_all("Requires-Dist")
    conformance = [r.split(";")[0].strip() for r in requires if "extra == \"conformance\"" in r]
    assert sorted(r.split(">")[0] for r in conformance) == ["hypothesis", "pytest"]
    assert any(r.startswith("matplotlib") and "extra == \"test\"" in r for r in requires)
    (entry_points,) = [n for n in built.wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "logduct_conformance = logduct_conformance.pytest_entry" in built.wheel.read(entry_points).decode()
