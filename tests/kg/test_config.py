"""kg.toml validation and store-backend settings (sections + KG_<BACKEND>_<KEY> environment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.config import Config
from kg.errors import ConfigError, UnknownComponentError
from kg.sync import is_embedded


def test_environment_overrides_section_and_is_typed() -> None:
    config = Config()
    config.neo4j.user = "analyst"
    settings = config.backend_settings("neo4j", {"KG_NEO4J_PASSWORD": "s3cret", "KG_NEO4J_BATCH_SIZE": "500"})
    assert settings["user"] == "analyst"  # from the section
    assert settings["password"] == "s3cret" and settings["batch_size"] == 500  # from the environment


def test_environment_value_of_wrong_type_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="KG_SPARQL_.*timeout"):
        Config().backend_settings("sparql", {"KG_SPARQL_TIMEOUT": "soon"})


def test_environment_password_is_never_saved(tmp_path: Path) -> None:
    config = Config()
    config.backend_settings("neo4j", {"KG_NEO4J_PASSWORD": "s3cret"})
    config.save(tmp_path / "kg.toml")
    assert "s3cret" not in (tmp_path / "kg.toml").read_text()
    assert Config.load(tmp_path / "kg.toml").neo4j.password == ""


def test_embedded_backends_have_no_settings_section() -> None:
    assert Config().backend_settings("ladybug") == {}
    assert is_embedded("graph", "ladybug") and is_embedded("rdf", "oxigraph")


def test_unknown_backend_lists_valid_ones() -> None:
    with pytest.raises(UnknownComponentError, match="ladybug"):
        is_embedded("graph", "neoj")


def test_unknown_config_key_is_named(tmp_path: Path) -> None:
    (tmp_path / "kg.toml").write_text('[neo4j]\nurl = "bolt://x"\n')
    with pytest.raises(ConfigError, match="neo4j.url"):
        Config.load(tmp_path / "kg.toml")
