"""docker/: the compose file validates against the Compose specification and is wired to real settings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from kg.config import Config
from kg.stores import store_class

DOCKER = Path(__file__).resolve().parents[1] / "docker"


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_file_validates_against_the_compose_spec() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    run = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(DOCKER / "compose.yaml")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_servers_have_healthchecks_and_kg_waits_for_them() -> None:
    services = _compose()["services"]
    for name in ("neo4j", "fuseki"):
        assert services[name]["healthcheck"]["test"], name
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"]), "bind locally"
    assert services["kg"]["depends_on"] == {"neo4j": {"condition": "service_healthy"},
                                            "fuseki": {"condition": "service_healthy"}}


def test_kg_environment_names_real_settings_and_backends() -> None:
    kg = _compose()["services"]["kg"]
    env = {key: str(value) for key, value in kg["environment"].items()}
    config = Config()
    for key in env:
        backend, setting = re.fullmatch(r"KG_([A-Z0-9]+)_(\w+)", key).groups()
        assert setting.lower() in config.backend_settings(backend.lower()), key  # a typo would be ignored
    resolved = config.backend_settings("neo4j", env)
    assert resolved["uri"] == "bolt://neo4j:7687"
    command = kg["command"]
    store = command[command.index("--store") + 1]
    rdf = command[command.index("--rdf") + 1]
    assert store_class("graph", store).__name__ and store_class("rdf", rdf).__name__


def test_dockerfile_copies_every_package() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    pyproject = (DOCKER.parent / "pyproject.toml").read_text(encoding="utf-8")
    packages = re.search(r'include = \[([^\]]*)\]', pyproject).group(1)
    for package in re.findall(r'"(\w+)\*"', packages):
        assert f"COPY {package} {package}" in dockerfile, package
