"""Choosing an engine (CLI, policy), missing pyspark, and bad input on every engine."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from parity_helpers import generated_customers, write_parquet

from cxaudit.errors import DataError, PolicyError
from cxaudit.policy.loader import load_policy
from cxaudit.runner import AuditInputs, audit, audit_loaded

POLICY = """\
cxaudit: 1
{engine}
system: {{name: engines}}
data:
  label: churn
  prediction: offer
  protected: [region]
checks:
  - id: rate-parity
    type: bias.selection_rate
"""


@pytest.fixture(scope="module")
def customers(tmp_path_factory):
    return write_parquet(generated_customers(800), tmp_path_factory.mktemp("sel") / "c.parquet")


def test_without_pyspark_the_cli_prints_the_install_command(customers, write):
    policy = write("policy.yaml", POLICY.format(engine=""))
    code = ("import sys; sys.modules['pyspark'] = None\n"  # import pyspark now fails
            "sys.argv = ['cxaudit', 'audit', "
            f"'--policy', {str(policy)!r}, '--data', {str(customers)!r}, "
            f"'--engine', 'spark', '--out', {str(policy.parent / 'out')!r}]\n"
            "from cxaudit.cli import main\nmain()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2, out.stderr
    assert "pip install 'cxaudit[spark]'" in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


def test_policy_engine_is_used_and_the_option_wins(customers, write):
    policy = write("policy.yaml", POLICY.format(engine="engine: arrow"))
    chosen = audit(AuditInputs(policy=str(policy), data=str(customers)))
    assert chosen.run["engine"] == "arrow"
    assert audit(AuditInputs(policy=str(policy), data=str(customers),
                             engine="local")).run["engine"] == "local"


def test_engine_is_not_part_of_the_resolved_policy(write):
    plain = load_policy(write("a.yaml", POLICY.format(engine="")))
    spark = load_policy(write("b.yaml", POLICY.format(engine="engine: spark")))
    assert spark.engine == "spark" and plain.engine is None
    assert plain.resolved_sha256 == spark.resolved_sha256


def test_unknown_engine_in_policy_is_located(write):
    with pytest.raises(PolicyError) as caught:
        load_policy(write("p.yaml", POLICY.format(engine="engine: sparkk")))
    assert "p.yaml:2" in caught.value.format()


def test_missing_labels_are_refused_on_every_engine(engine, tmp_path, write):
    frame = generated_customers(300)
    frame.loc[[5, 17], "churn"] = None
    path = write_parquet(frame, tmp_path / "c.parquet")
    policy = load_policy(write("p.yaml", POLICY.format(engine="")))
    with pytest.raises(DataError, match=r"label column 'churn' has 2 missing value\(s\)"):
        audit_loaded(policy, engine.read_table(path), engine=engine)


def test_missing_file_and_headers_only_are_data_errors(engine, tmp_path):
    with pytest.raises(DataError, match="not found"):
        engine.read_table(tmp_path / "absent.parquet")
    empty = tmp_path / "empty.parquet"
    pd.DataFrame({"a": pd.Series([], dtype="int64")}).to_parquet(empty)
    with pytest.raises(DataError, match="no rows"):
        engine.read_table(empty)


def test_spark_reads_catalog_tables(spark, customers):
    from cxaudit.engines.spark import SparkEngine

    spark.read.parquet(str(customers)).createOrReplaceTempView("cx_customers")
    engine = SparkEngine(session=spark)
    frame = engine.read_table("table:cx_customers")
    assert engine.num_rows(frame) == 800
    with pytest.raises(DataError, match="cannot be read"):
        engine.read_table("table:no_such_table")
