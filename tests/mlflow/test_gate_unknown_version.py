"""`cxaudit gate models:/NAME/9`: an unknown version or alias exits 2 and lists the versions,
on every store type the docs name (SQLite here, the REST server below; issue 16)."""

from __future__ import annotations

import warnings

import pytest
from click.testing import CliRunner

from cxaudit.cli import cli

# MLflow's SQLite store uses a SQLAlchemy loader option that SQLAlchemy 2.1 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")


@pytest.fixture(scope="module")
def sqlite_registry(tmp_path_factory):
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("sqlite-registry")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.create_registered_model("churn-sqlite")
        for _ in range(2):
            client.create_model_version("churn-sqlite", source=str(root / "artifacts"))
        client.set_registered_model_alias("churn-sqlite", "champion", "1")
    policy = root / "policy.yaml"
    policy.write_text("cxaudit: 1\nsystem: {name: s}\ndata: {protected: [g]}\nchecks: []\n")
    return uri, policy


def _gate(uri, policy, model, tmp_path):
    return CliRunner().invoke(cli, ["gate", model, "--policy", str(policy), "--promote-to",
                                    "production", "--tracking-uri", uri, "--out",
                                    str(tmp_path / "out")])


@pytest.mark.parametrize("model, what", [("models:/churn-sqlite/9", "no version 9"),
                                         ("models:/churn-sqlite@nope", "no alias @nope")])
def test_unknown_version_or_alias_on_sqlite_exits_2_listing_versions(sqlite_registry, tmp_path,
                                                                     model, what):
    uri, policy = sqlite_registry
    result = _gate(uri, policy, model, tmp_path)
    assert result.exit_code == 2, result.output
    assert what in result.output
    assert "versions of 'churn-sqlite': 1, 2" in result.output
    assert "@champion → 1" in result.output
    assert "Traceback" not in result.output and "expected str instance" not in result.output


def test_unknown_version_on_the_server_exits_2_listing_versions(registry, tmp_path):
    result = _gate(registry.uri, registry.policy, f"models:/{registry.name}/99", tmp_path)
    assert result.exit_code == 2, result.output
    assert "no version 99" in result.output
    assert f"{registry.fair_version}, {registry.unfair_version}" in result.output
