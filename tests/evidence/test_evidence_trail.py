"""The audit trail: a hash chain that shows edited, deleted and reordered entries."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import pytest
from click.testing import CliRunner

from cxaudit.cli.log import log
from cxaudit.evidence import EvidenceError
from cxaudit.evidence.trail import GENESIS, append, verify_trail


def _trail(tmp_path: Path, n: int = 5) -> Path:
    path = tmp_path / "audit-trail.jsonl"
    for k in range(n):
        append(path, "audit", {"system": "churn", "verdict": "pass", "run": k})
    return path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_a_fresh_chain_links_by_sha256_of_each_entry(tmp_path: Path) -> None:
    path = _trail(tmp_path, 3)
    entries = [json.loads(line) for line in _lines(path)]
    # Independent recomputation: hash = SHA-256 of the compact sorted JSON without "hash".
    previous = GENESIS
    for seq, entry in enumerate(entries, start=1):
        body = {k: v for k, v in entry.items() if k != "hash"}
        expected = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                                  .encode()).hexdigest()
        assert entry["hash"] == expected
        assert entry["prev"] == previous and entry["seq"] == seq
        previous = entry["hash"]
    assert verify_trail(path).ok


def test_an_edited_entry_is_detected(tmp_path: Path) -> None:
    path = _trail(tmp_path)
    lines = _lines(path)
    lines[2] = lines[2].replace(b'"verdict":"pass"', b'"verdict":"fail"')
    path.write_bytes(b"".join(lines))
    report = verify_trail(path)
    assert any(p.startswith("audit-trail.jsonl:3: entry 3 does not match its hash")
               for p in report.problems)


def test_an_edited_entry_with_a_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    from cxaudit.evidence.trail import canonical_line, entry_hash

    path = _trail(tmp_path)
    lines = _lines(path)
    entry = json.loads(lines[1])
    entry["data"]["verdict"] = "fail"
    entry["hash"] = entry_hash(entry)
    lines[1] = canonical_line(entry) + b"\n"
    path.write_bytes(b"".join(lines))
    report = verify_trail(path)
    assert report.problems == ["audit-trail.jsonl:3: entry 3 does not link to the entry before "
                               "it (an entry was replaced, deleted or reordered)"]


def test_a_deleted_entry_is_detected(tmp_path: Path) -> None:
    path = _trail(tmp_path)
    lines = _lines(path)
    del lines[1]
    path.write_bytes(b"".join(lines))
    assert verify_trail(path).problems == ["audit-trail.jsonl:2: entries 2..2 are missing "
                                           "(deleted)"]


def test_reordered_entries_are_detected(tmp_path: Path) -> None:
    path = _trail(tmp_path)
    lines = _lines(path)
    lines[1], lines[3] = lines[3], lines[1]
    path.write_bytes(b"".join(lines))
    problems = verify_trail(path).problems
    assert any("reordered" in p for p in problems)
    assert any(p.startswith("audit-trail.jsonl:2:") for p in problems)


def test_cutting_off_the_newest_entries_shows_only_against_a_recorded_head(tmp_path: Path
                                                                          ) -> None:
    path = _trail(tmp_path)
    head = verify_trail(path).head
    path.write_bytes(b"".join(_lines(path)[:-2]))
    assert verify_trail(path).ok  # a shorter chain is still a valid chain ...
    report = verify_trail(path, expect_head=head["hash"])
    assert not report.ok  # ... but the head recorded earlier is gone
    assert "newest entries were removed" in report.problems[0]


def test_append_refuses_to_extend_a_damaged_chain(tmp_path: Path) -> None:
    path = _trail(tmp_path, 2)
    path.write_bytes(path.read_bytes().replace(b'"run":1', b'"run":9'))
    with pytest.raises(EvidenceError, match="last entry of the audit trail"):
        append(path, "audit", {"run": 2})


def _append_many(path: str, worker: int) -> None:
    for k in range(20):
        append(path, "waiver", {"worker": worker, "k": k})


def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit-trail.jsonl"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_append_many, args=(str(path), w)) for w in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    report = verify_trail(path)
    assert report.ok, report.problems
    assert [e["seq"] for e in report.entries] == list(range(1, 41))


def test_cli_log_verify_and_show(tmp_path: Path) -> None:
    path = _trail(tmp_path, 2)
    append(path, "approval", {"role": "compliance", "approver": "alex.doe@example.com",
                              "report_digest": "ab" * 32})
    runner = CliRunner()
    ok = runner.invoke(log, ["verify", str(tmp_path)])  # a folder holding the trail works too
    assert ok.exit_code == 0, ok.output
    assert "3 entries, chain intact" in ok.output
    head = verify_trail(path).head["hash"]
    assert f"head: entry 3 {head}" in ok.output
    shown = runner.invoke(log, ["show", str(path), "--kind", "approval"])
    assert shown.exit_code == 0
    assert "approval as compliance by a***@example.com" in shown.output
    assert "alex.doe" not in shown.output  # emails are masked unless asked for
    path.write_bytes(b"".join(_lines(path)[1:]))
    broken = runner.invoke(log, ["verify", str(path)])
    assert broken.exit_code == 1
    assert "FAIL  audit-trail.jsonl:1: entries 1..1 are missing (deleted)" in broken.output
    missing = runner.invoke(log, ["verify", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2
    assert "no audit trail" in missing.output
