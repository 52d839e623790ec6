"""Ledger validation: bad ledgers stop the audit with exit 2 and a precise message."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from cxaudit.consent.vocabulary import REQUIRED_COLUMNS, SIGNALS, STATUSES, LawfulBasis
from cxaudit.demo.consent import generate_ledger
from cxaudit.errors import EXIT_INPUT, DataError, InputError
from cxaudit.loaders.consent import validate_ledger
from cxaudit.masking import hash_id
from cxaudit.runner import AuditInputs, audit

from .conftest import ledger_frame, record

SCHEMA = Path(__file__).resolve().parents[2] / "src/cxaudit/schemas/consent-ledger.schema.json"

POLICY = """
cxaudit: 1
system: {name: t, purpose: offers}
data: {id: cid, timestamp: ts}
checks:
  - {id: cov, type: consent.coverage}
"""


def _error(frame: pd.DataFrame, **kwargs) -> str:
    with pytest.raises(DataError) as caught:
        validate_ledger(frame, source="ledger.csv", **kwargs)
    assert caught.value.exit_code == EXIT_INPUT
    return caught.value.format()


def test_missing_column_is_named_with_a_suggestion():
    frame = ledger_frame(record("A")).rename(columns={"lawful_basis": "lawfulbasis"})
    message = _error(frame)
    assert "'lawful_basis'" in message and "lawfulbasis" in message


def test_unknown_status_names_column_rows_and_masks_values():
    frame = ledger_frame(record("A"), record("B"), record("C", status="maybe-later"))
    message = _error(frame)
    assert "'status'" in message and "line 4" in message
    assert "maybe-later" not in message and "'m*********r'" in message
    assert "granted, expired, withdrawn, refused" in message


def test_unparseable_timestamp_names_column_and_first_rows():
    frame = ledger_frame(*[record(f"S{i}") for i in range(8)])
    frame.loc[[2, 5, 6, 7], "granted_at"] = ["yesterday", "2025-13-01T00:00:00Z", "x", "y"]
    message = _error(frame)
    assert "'granted_at'" in message and "4 value(s)" in message
    assert "lines 4, 7, 8, 9" in message
    assert "yesterday" not in message


def test_mixed_naive_and_aware_in_one_column_is_refused():
    frame = ledger_frame(record("A", granted="2025-01-01T10:00:00"), record("B"))
    message = _error(frame)
    assert "mixes timestamps" in message and "'granted_at'" in message


def test_naive_ledger_is_localised_only_when_a_zone_is_declared():
    frame = ledger_frame(record("A", granted="2025-01-15 10:00:00"))
    naive = validate_ledger(frame)
    assert naive["granted_at"].dt.tz is None
    berlin = validate_ledger(frame, timezone="Europe/Berlin")
    assert berlin["granted_at"].iloc[0] == pd.Timestamp("2025-01-15T09:00:00Z")


def test_naive_ledger_against_aware_event_times_exits_2(tmp_path, write_policy, make_context):
    ledger = ledger_frame(record("A", granted="2025-01-15 10:00:00"))
    frame = pd.DataFrame({"cid": ["A"], "ts": ["2025-02-01T00:00:00Z"]})
    with pytest.raises(DataError, match="naive") as caught:
        make_context(write_policy(POLICY), frame, ledger)
    assert "consent.timezone" in caught.value.format()


def test_status_contradicting_timestamps_is_refused_with_hashed_ids():
    frame = ledger_frame(record("cust-001", "withdrawn"))
    message = _error(frame)
    assert "withdrawn_at" in message and hash_id("cust-001") in message
    assert "cust-001" not in message
    frame = ledger_frame(record("A", "granted", "2025-02-01T00:00:00Z",
                                expires="2025-01-01T00:00:00Z"))
    assert "expire before they were granted" in _error(frame)
    frame = ledger_frame(record("A", signal="gpc"))
    assert "opt-out signal" in _error(frame)


def test_lawful_basis_letters_and_articles_are_normalised():
    frame = ledger_frame(record("A", basis="a"), record("B", basis="6(1)(f)"),
                         record("C", basis="Legitimate_Interests"))
    out = validate_ledger(frame)
    assert out["lawful_basis"].tolist() == ["consent", "legitimate_interests",
                                            "legitimate_interests"]
    assert "lawful_basis" in _error(ledger_frame(record("A", basis="because")))


def test_consent_records_need_a_notice_version():
    frame = ledger_frame(record("A", notice_version=None))
    assert "notice_version" in _error(frame)


def test_bad_ledger_through_audit_is_an_input_error(tmp_path, write_policy):
    write_policy(POLICY)
    pd.DataFrame({"cid": ["A"], "ts": ["2025-02-01T00:00:00Z"]}).to_csv(tmp_path / "d.csv",
                                                                       index=False)
    ledger_frame(record("A", status="yes")).to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(DataError) as caught:
        audit(AuditInputs(policy=str(tmp_path / "policy.yaml"), data=str(tmp_path / "d.csv"),
                          consent=str(tmp_path / "l.csv")))
    assert caught.value.exit_code == EXIT_INPUT
    assert caught.value.message.startswith("l.csv: column 'status'")


def test_consent_check_without_a_ledger_exits_2(tmp_path, write_policy):
    write_policy(POLICY)
    pd.DataFrame({"cid": ["A"], "ts": ["2025-02-01T00:00:00Z"]}).to_csv(tmp_path / "d.csv",
                                                                       index=False)
    with pytest.raises(InputError, match="needs a consent ledger") as caught:
        audit(AuditInputs(policy=str(tmp_path / "policy.yaml"), data=str(tmp_path / "d.csv")))
    assert caught.value.exit_code == EXIT_INPUT


def test_policy_ledger_path_is_relative_to_the_policy(tmp_path, write_policy):
    write_policy(POLICY.replace("checks:", "consent: {ledger: ledgers/l.csv}\nchecks:"))
    (tmp_path / "ledgers").mkdir()
    pd.DataFrame({"cid": ["A"], "ts": ["2025-02-01T00:00:00Z"]}).to_csv(tmp_path / "d.csv",
                                                                       index=False)
    ledger_frame(record("A")).to_csv(tmp_path / "ledgers" / "l.csv", index=False)
    result = audit(AuditInputs(policy=str(tmp_path / "policy.yaml"),
                               data=str(tmp_path / "d.csv")))
    assert result.checks[0].status.value == "pass"
    assert result.inputs["consent"].path == "l.csv" and result.inputs["consent"].sha256


def test_schema_matches_the_vocabulary_and_accepts_generated_ledgers():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["required"]) == set(REQUIRED_COLUMNS)
    props = schema["properties"]
    assert set(props["status"]["enum"]) == set(STATUSES)
    assert {b.value for b in LawfulBasis} <= set(props["lawful_basis"]["enum"])
    assert set(props["signal"]["enum"]) - {None} == set(SIGNALS)
    customers = pd.DataFrame({"customerID": [f"C{i:04d}" for i in range(400)]})
    ledger = generate_ledger(customers, purpose="retention_offers", seed=1)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    rows = json.loads(ledger.to_json(orient="records", date_format="iso"))
    errors = [e.message for row in rows for e in validator.iter_errors(row)]
    assert errors == []
    validate_ledger(ledger)  # and the loader agrees
    bad = dict(rows[0], status="pending")
    assert list(validator.iter_errors(bad))


def test_generator_is_deterministic_and_realistic():
    customers = pd.DataFrame({"customerID": [f"C{i:05d}" for i in range(5000)]})
    first = generate_ledger(customers, purpose="offers", seed=5)
    again = generate_ledger(customers.sample(frac=1.0, random_state=1), purpose="offers", seed=5)
    other = generate_ledger(customers, purpose="offers", seed=6)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    offers = first[first["purpose"].isin(["offers", "*"])]
    shares = offers["status"].value_counts(normalize=True)
    assert shares["granted"] > 0.75
    assert {"withdrawn", "expired", "refused"} <= set(shares.index)
    assert (first["signal"] == "gpc").sum() > 20 and (first["signal"] == "objection").sum() > 10
    assert set(first["purpose"]) == {"offers", "analytics", "*"}
    assert np.all(first["granted_at"].dt.tz is not None)


def _varied_ledger(n: int, seed: int = 4) -> pd.DataFrame:
    """``n`` valid records with every column varying, so each chunk sees different values."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        status = ["granted", "withdrawn", "expired", "refused"][int(rng.integers(0, 4))]
        day = int(rng.integers(1, 28))
        rows.append(record(
            f"S{int(rng.integers(0, n // 3))}", status, f"2025-02-{day:02d}T10:00:00Z",
            withdrawn=f"2025-03-{day:02d}T00:00:00Z" if status == "withdrawn" else None,
            expires=f"2025-04-{day:02d}T00:00:00Z" if status == "expired" else None,
            purpose=["offers", "analytics", "*"][i % 3 if i > n // 2 else 0],
            basis="consent", channel=["web", "app", "store"][int(rng.integers(0, 3 if i > 100
                                                                                else 1))],
            signal="gpc" if status == "refused" and i % 2 else None,
            age_verified=bool(i % 5)))
    return ledger_frame(*rows)


def _write(ledger: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        ledger.to_csv(path, index=False)
    else:
        ledger.to_parquet(path, index=False, row_group_size=50)
    return path


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunk every ledger file: 64 records a chunk, CSV files of any size."""
    from cxaudit.loaders import consent as consent_loader
    from cxaudit.loaders import data as data_loader

    monkeypatch.setattr(consent_loader, "CHUNK_ROWS", 64)
    monkeypatch.setattr(data_loader, "CHUNK_MIN_BYTES", 0)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_large_ledger_is_validated_in_chunks_with_the_same_result(tmp_path, monkeypatch,
                                                                     suffix):
    from cxaudit.loaders.consent import load_ledger

    path = _write(_varied_ledger(700), tmp_path / f"ledger{suffix}")
    whole = load_ledger(path)
    monkeypatch.setattr("cxaudit.loaders.consent.CHUNK_ROWS", 64)  # 11 chunks
    monkeypatch.setattr("cxaudit.loaders.data.CHUNK_MIN_BYTES", 0)
    chunked = load_ledger(path)
    assert chunked.attrs == whole.attrs
    assert list(chunked.columns) == list(whole.columns)
    for column in whole.columns:
        a, b = whole[column], chunked[column]
        assert a.dtype == b.dtype or isinstance(a.dtype, pd.CategoricalDtype), column
        assert a.astype(object).where(a.notna(), None).tolist() == \
            b.astype(object).where(b.notna(), None).tolist(), column


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "chunked"])
def test_chunked_errors_name_the_same_lines(tmp_path, request, chunked, suffix):
    from cxaudit.loaders.consent import load_ledger

    ledger = _varied_ledger(300)
    ledger.loc[200, "status"] = "maybe"
    ledger.loc[250, "status"] = "perhaps"
    path = _write(ledger, tmp_path / f"ledger{suffix}")
    if chunked:
        request.getfixturevalue("small_chunks")
    with pytest.raises(DataError) as caught:
        load_ledger(path)
    text = caught.value.format()
    assert "'status'" in text and "(lines 202, 252:" in text and "maybe" not in text  # masked


def test_offsets_in_one_chunk_and_none_in_another_are_refused(tmp_path, monkeypatch):
    from cxaudit.loaders.consent import load_ledger

    ledger = _varied_ledger(200).astype({"granted_at": object})
    ledger.loc[100:, "granted_at"] = "2025-02-03 10:00:00"  # naive from line 102 on
    ledger.loc[100:, "withdrawn_at"] = None
    ledger.loc[100:, "expires_at"] = None
    ledger.loc[100:, "status"] = "granted"
    ledger.loc[100:, "signal"] = None
    path = tmp_path / "ledger.parquet"
    ledger.to_parquet(path, index=False)
    monkeypatch.setattr("cxaudit.loaders.consent.CHUNK_ROWS", 100)
    with pytest.raises(DataError, match="up to line 101 carry UTC offsets but from line 102"):
        load_ledger(path)


def test_a_csv_broken_in_a_later_chunk_is_a_located_data_error(tmp_path, small_chunks):
    from cxaudit.loaders.consent import load_ledger

    path = _write(_varied_ledger(300), tmp_path / "ledger.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[250] += ",surplus,cells"  # line 251 has more fields than the header
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_ledger(path)
    assert "ledger.csv is not valid CSV" in caught.value.format()
    assert "line 251" in caught.value.format()


def test_chunked_parquet_dictionary_read_equals_the_text_read(tmp_path, monkeypatch):
    """Vocabulary columns read from Parquet dictionary pages (each row group its own
    dictionary, in the writer's order) validate to exactly what reading them as text
    gives: same values, same categories in the same order."""
    from cxaudit.loaders.consent import load_ledger

    path = _write(_varied_ledger(700), tmp_path / "ledger.parquet")
    monkeypatch.setattr("cxaudit.loaders.consent.CHUNK_ROWS", 64)
    from_dictionaries = load_ledger(path)
    monkeypatch.setattr("cxaudit.loaders.consent.CATEGORY_COLUMNS", ())
    from_text = load_ledger(path)
    assert list(from_dictionaries.columns) == list(from_text.columns)
    for column in from_text.columns:
        a, b = from_text[column], from_dictionaries[column]
        assert a.dtype == b.dtype, column
        if isinstance(a.dtype, pd.CategoricalDtype):
            assert list(a.cat.categories) == list(b.cat.categories), column
        assert a.astype(object).where(a.notna(), None).tolist() == \
            b.astype(object).where(b.notna(), None).tolist(), column


@pytest.mark.parametrize("zone", [None, "naive", "Europe/Berlin"], ids=["utc", "naive", "zone"])
def test_parquet_chunks_assembled_in_place_equal_the_concatenation(tmp_path, monkeypatch, zone):
    """A Parquet ledger's validated chunks are written into columns allocated once; the
    frame equals concatenating the same chunks (dtypes, category order, values, NaT)."""
    from cxaudit.loaders import consent as consent_loader
    from cxaudit.loaders.data import iter_table

    ledger = _varied_ledger(700)
    if zone is not None:  # naive timestamps (kept naive, or localised by consent.timezone)
        for column in ("granted_at", "withdrawn_at", "expires_at"):
            ledger[column] = ledger[column].str.replace("Z", "", regex=False)
    timezone = None if zone in (None, "naive") else zone
    path = _write(ledger, tmp_path / "ledger.parquet")
    monkeypatch.setattr(consent_loader, "CHUNK_ROWS", 64)
    assembled = consent_loader.load_ledger(path, timezone=timezone)
    parts = [consent_loader.validate_ledger(chunk, source=path.name, timezone=timezone)
             for chunk in iter_table(path, role="consent ledger", chunk_rows=64,
                                     text_columns=consent_loader.ID_COLUMNS,
                                     category_columns=consent_loader.CATEGORY_COLUMNS)]
    assert len(parts) == 11
    concatenated = consent_loader._combine(parts, path.name)
    pd.testing.assert_frame_equal(assembled, concatenated, check_categorical=True)
    for column in concatenated.columns:
        if isinstance(concatenated[column].dtype, pd.CategoricalDtype):
            assert list(assembled[column].cat.categories) == \
                list(concatenated[column].cat.categories), column
    assert assembled.attrs == concatenated.attrs
    assert str(assembled["granted_at"].dtype) == (
        "datetime64[us]" if zone == "naive" else "datetime64[us, UTC]")


def test_chunks_validated_on_a_worker_hash_ids_with_the_callers_key(tmp_path, small_chunks):
    """The worker thread runs in the caller's context: the id key and the chunk's first
    line are the caller's, as when chunks were validated on the calling thread."""
    from cxaudit.loaders.consent import load_ledger
    from cxaudit.masking import using_id_key

    ledger = _varied_ledger(300)
    ledger.loc[200, "withdrawn_at"] = None  # a withdrawal without its time, in chunk 4
    ledger.loc[200, "status"] = "withdrawn"
    subject = ledger.loc[200, "subject_id"]
    path = _write(ledger, tmp_path / "ledger.parquet")
    with using_id_key(b"k" * 32):
        expected = hash_id(subject)
        with pytest.raises(DataError) as caught:
            load_ledger(path)
    text = caught.value.format()
    assert "(line 202 (subjects " + expected in text, text
    assert hash_id(subject) not in text  # without the key: hidden, a different text


def test_a_chunks_own_error_comes_before_a_later_chunk_that_cannot_be_read(tmp_path,
                                                                           small_chunks):
    from cxaudit.loaders.consent import load_ledger

    ledger = _varied_ledger(300)
    ledger.loc[180, "status"] = "maybe"  # line 182, chunk 3 (rows 128-191)
    path = _write(ledger, tmp_path / "ledger.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[199] += ",surplus,cells"  # line 200, chunk 4: read while chunk 3 is validated
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_ledger(path)
    assert "'status'" in caught.value.format() and "line 182" in caught.value.format()
