"""The evidence half of the hostile-input corpus (issue 15): report folders, audit trails,
manifests, approvals, signatures, report diffs, hostile strings in reports, customer ids,
and exit codes that tell the truth (closed pipes, SIGTERM, concurrent runs, missing extras).

Most cases first write a good bundle into ``out`` (a real audit of 400 telco rows whose
blocking duplicates check fails: verdict ``fail``, exit 1), then break one thing and run
one command. The harness asserts the exit code, the message, no traceback, and that
``out`` holds the previous bundle or a new one, whole (``cxaudit verify`` passes).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .harness import Case, assert_report_consistent, check_case, run

POLICY = """\
cxaudit: 1
system: {{name: {name}, owner: a@example.com, approver: b@example.com, intervention: assistive}}
data:
  id: customerID
  label: Churn
  positive: "Yes"
  prediction: decision
  protected: [{protected}]
checks:
  - {{id: parity, type: bias.selection_rate, threshold: {{min: 0.8}}, severity: block{extra}}}
  - {{id: one-row-per-tenure, type: data.duplicates, columns: [tenure], severity: block}}
"""
IMG = "<img src=x onerror=alert(1)>"
LINK = "[click](javascript:alert(1))"


def policy_text(*, name: str = "churn-offers", protected: str = "gender",
                extra: str = "") -> str:
    return POLICY.format(name=name, protected=protected, extra=extra)


_FRAME: pd.DataFrame | None = None


def base_frame() -> pd.DataFrame:
    """400 telco rows with a decision made at the same rate in every group (copy)."""
    global _FRAME
    if _FRAME is None:
        from cxaudit.resources import demo_dataset

        frame = pd.read_csv(demo_dataset(), dtype={"customerID": str}).head(400).copy()
        frame["decision"] = np.where(np.arange(len(frame)) % 2 == 0, "Yes", "No")
        _FRAME = frame
    return _FRAME.copy()


def inputs(tmp: Path, *, frame: pd.DataFrame | None = None, policy: str | None = None,
           folder: Path | None = None) -> tuple[str, str]:
    """Write data.csv and policy.yaml (into ``folder``, default ``tmp``); their paths."""
    folder = folder or tmp
    folder.mkdir(parents=True, exist_ok=True)
    (base_frame() if frame is None else frame).to_csv(folder / "data.csv", index=False)
    (folder / "policy.yaml").write_text(policy or policy_text(), encoding="utf-8")
    return str(folder / "policy.yaml"), str(folder / "data.csv")


def audit_args(tmp: Path, *extra: str, out: str = "out", **kwargs) -> list[str]:
    policy, data = inputs(tmp, **kwargs)
    return ["audit", "--policy", policy, "--data", data, "--out", str(tmp / out), *extra]


def bundle(tmp: Path, *extra: str, out: str = "out") -> Path:
    """A good bundle (verdict fail) in ``tmp/out``, written by ``cxaudit audit``."""
    done = run(audit_args(tmp, *extra, out=out), tmp)
    assert done.exit_code == 1, done.text
    return tmp / out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


# --- builders ------------------------------------------------------------------------------

def rerun_with(mutate: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
    """Write a good bundle, apply ``mutate`` (returns extra audit args), audit again."""
    def build(tmp: Path) -> list[str]:
        bundle(tmp)
        return audit_args(tmp, *mutate(tmp))
    return build


def external_trail(content: Callable[[bytes], bytes]) -> Callable[[Path], list[str]]:
    """A good bundle logged to an external trail; the trail is damaged; audit again."""
    def build(tmp: Path) -> list[str]:
        trail = tmp / "trail.jsonl"
        bundle(tmp, "--trail", str(trail))
        run(audit_args(tmp, "--trail", str(trail)), tmp)  # two entries
        trail.write_bytes(content(trail.read_bytes()))
        return audit_args(tmp, "--trail", str(trail))
    return build


def _edit_entry(raw: bytes) -> bytes:
    lines = raw.split(b"\n")
    lines[0] = lines[0].replace(b'"fail"', b'"pass"')
    return b"\n".join(lines)


def _reorder(raw: bytes) -> bytes:
    lines = raw.rstrip(b"\n").split(b"\n")
    return b"\n".join(reversed(lines)) + b"\n"


def on_bundle(command: Callable[[Path], list[str]],
              damage: Callable[[Path], None] = lambda out: None) -> Callable[[Path], list[str]]:
    """A good bundle, damaged by ``damage(out)``, then ``command(tmp)``."""
    def build(tmp: Path) -> list[str]:
        out = bundle(tmp)
        damage(out)
        return command(tmp)
    return build


def write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def damage(out: Path) -> None:
        (out / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    return damage


def append(name: str, data: bytes) -> Callable[[Path], None]:
    def damage(out: Path) -> None:
        with open(out / name, "ab") as handle:
            handle.write(data)
    return damage


def edit_manifest(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(out: Path) -> None:
        manifest = json.loads((out / "manifest.json").read_text())
        change(manifest)
        (out / "manifest.json").write_text(json.dumps(manifest))
    return damage


def verify(tmp: Path) -> list[str]:
    return ["verify", str(tmp / "out")]


def approve(tmp: Path) -> list[str]:
    return ["approve", str(tmp / "out"), "--approver", "po@example.com", "--role",
            "product_owner", "--comment", "ok"]


def log_verify(tmp: Path) -> list[str]:
    return ["log", "verify", str(tmp / "out")]


def diff_with(data: bytes | str | None) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        out = bundle(tmp)
        other = tmp / "other.json"
        if data is None:
            return ["report", "diff", str(out / "audit.json"), str(out)]
        other.write_bytes(data if isinstance(data, bytes) else data.encode())
        return ["report", "diff", str(out / "audit.json"), str(other)]
    return build


def hostile_groups(value: str, column: str = "gender") -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        frame = base_frame()
        frame.loc[frame.index[:120], column] = value
        frame.loc[frame.index[:120], "decision"] = "No"  # the hostile group fails parity,
        return audit_args(tmp, frame=frame)              # so every report names it
    return build


def hostile_column(name: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        frame = base_frame().rename(columns={"gender": name})
        return audit_args(tmp, frame=frame, policy=policy_text(protected=json.dumps(name)))
    return build


def key_file(content: bytes | None) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        if content is not None:
            (tmp / "id.key").write_bytes(content)
        policy = policy_text().replace("  id: customerID\n",
                                       "  id: customerID\n  id_key_file: id.key\n")
        return audit_args(tmp, policy=policy)
    return build


NESTED = "[" * 200_000 + "]" * 200_000

CASES = [
    # Damaged audit trails: refused before the audit (exit 2), the previous bundle untouched.
    Case("trail-edited-entry", external_trail(_edit_entry), mentions=("trail.jsonl",)),
    Case("trail-junk-line", external_trail(lambda raw: raw + b"garbage\n"),
         mentions=("trail.jsonl", "damaged")),
    Case("trail-torn-last-line", external_trail(lambda raw: raw + b'{"seq":3'),
         mentions=("trail.jsonl",)),
    Case("trail-reordered", external_trail(_reorder), mentions=("trail.jsonl",)),
    Case("trail-binary", external_trail(lambda raw: raw + b"\xff\xfe\x00\x01\n"),
         mentions=("trail.jsonl",)),
    Case("trail-nested-json-line", external_trail(lambda raw: raw + NESTED.encode() + b"\n"),
         mentions=("trail.jsonl",)),
    Case("trail-line-is-a-list", external_trail(lambda raw: raw + b"[1,2]\n"),
         mentions=("trail.jsonl",)),
    Case("trail-default-in-out-damaged",
         rerun_with(lambda tmp: (append("audit-trail.jsonl", b"x\n")(tmp / "out"), [])[1]),
         mentions=("audit-trail.jsonl",), out=None),
    Case("trail-is-a-fifo", rerun_with(lambda tmp: (os.mkfifo(tmp / "fifo.jsonl"),
                                                    ["--trail", str(tmp / "fifo.jsonl")])[1]),
         mentions=("not a regular file",), subprocess_timeout=120),
    Case("trail-under-a-file", rerun_with(lambda tmp: ((tmp / "plain").write_text("x"),
                                                       ["--trail", str(tmp / "plain/t.jsonl")])[1]),
         mentions=("t.jsonl",)),
    Case("trail-in-out-other-name", rerun_with(lambda tmp: ["--trail",
                                                            str(tmp / "out" / "mine.jsonl")]),
         mentions=("mine.jsonl",)),
    # Unusable report folders and keys: exit 2, nothing written.
    Case("out-is-a-file", lambda tmp: ((tmp / "afile").write_text("x"),
                                       audit_args(tmp, out="afile"))[1], mentions=("afile",),
         out="afile"),
    Case("out-under-a-file", lambda tmp: ((tmp / "afile").write_text("x"),
                                          audit_args(tmp, out="afile/sub"))[1],
         mentions=("cannot write", "afile"), out=None),
    Case("out-dangling-symlink", lambda tmp: (os.symlink(tmp / "nowhere", tmp / "link"),
                                              audit_args(tmp, out="link"))[1],
         mentions=("symbolic link",), out=None),
    Case("out-in-proc", lambda tmp: audit_args(tmp)[:-1] + ["/proc/cxaudit-corpus-out"],
         mentions=("cannot write",), out=None),
    Case("sign-key-garbage", rerun_with(lambda tmp: ((tmp / "k.pem").write_text("junk"),
                                                     ["--sign-key", str(tmp / "k.pem")])[1]),
         mentions=("k.pem",)),
    Case("sign-key-missing", rerun_with(lambda tmp: ["--sign-key", str(tmp / "absent.pem")]),
         mentions=("absent.pem",)),
    Case("data-missing-after-good-bundle",
         lambda tmp: (bundle(tmp), audit_args(tmp)[:4] + [str(tmp / "absent.csv"), "--out",
                                                          str(tmp / "out")])[1],
         mentions=("absent.csv",)),
    # Runs that complete next to leftovers and shared inputs: a whole, verifiable bundle.
    Case("leftover-temporaries", rerun_with(lambda tmp: (
        write(".audit.json.x1.tmp", "{half")(tmp / "out"),
        write(".manifest.json.x2.tmp", "{")(tmp / "out"), [])[2]), exit_code=1),
    Case("stale-model-card-removed", lambda tmp: (
        bundle(tmp, "--format", "json,model-card"),
        audit_args(tmp, "--format", "json"))[1], exit_code=1),
    Case("inputs-share-the-folder", lambda tmp: audit_args(tmp, folder=tmp / "out"),
         exit_code=1),
    Case("out-symlink-to-folder", lambda tmp: ((tmp / "real").mkdir(),
                                               os.symlink(tmp / "real", tmp / "out"),
                                               audit_args(tmp))[2], exit_code=1),
    # verify: malformed or tampered bundles are "not verified" (1), never a crash.
    Case("verify-manifest-garbage", on_bundle(verify, write("manifest.json", "{x")),
         exit_code=1, mentions=("manifest.json",), out=None),
    Case("verify-manifest-list", on_bundle(verify, write("manifest.json", "[1]")),
         exit_code=1, mentions=("manifest.json",), out=None),
    Case("verify-manifest-nested", on_bundle(verify, write("manifest.json", NESTED)),
         exit_code=1, mentions=("manifest.json",), out=None),
    Case("verify-manifest-reports-list",
         on_bundle(verify, edit_manifest(lambda m: m.update(reports=[1]))),
         exit_code=1, mentions=("manifest.json",), out=None),
    Case("verify-manifest-trail-head-text",
         on_bundle(verify, edit_manifest(lambda m: m.update(trail={"head": "zz"}))),
         exit_code=1, mentions=("manifest.json",), out=None),
    Case("verify-manifest-binary", on_bundle(verify, write("manifest.json", b"\xff\xfe\x00")),
         exit_code=1, mentions=("manifest.json",), out=None),
    Case("verify-audit-json-says-pass", on_bundle(verify, lambda out: write(
        "audit.json", (out / "audit.json").read_text().replace('"verdict": "fail"',
                                                               '"verdict": "pass"'))(out)),
         exit_code=1, mentions=("audit.json",), out=None),
    Case("verify-audit-json-nested", on_bundle(verify, write("audit.json", NESTED)),
         exit_code=1, mentions=("audit.json",), out=None),
    Case("verify-report-added", on_bundle(verify, write("extra.html", "<p>")),
         exit_code=1, mentions=("extra.html",), out=None),
    Case("verify-report-deleted", on_bundle(verify, lambda out: (out / "audit.md").unlink()),
         exit_code=1, mentions=("audit.md",), out=None),
    Case("verify-signature-garbage", on_bundle(verify, write("manifest.sig", b"\x00" * 64)),
         exit_code=1, mentions=("manifest.sig",), out=None),
    Case("verify-approvals-junk", on_bundle(verify, write("approvals.jsonl", "junk\n")),
         exit_code=1, mentions=("approvals.jsonl",), out=None),
    Case("verify-trail-junk", on_bundle(verify, append("audit-trail.jsonl", b"{}\n")),
         exit_code=1, mentions=("audit-trail.jsonl",), out=None),
    Case("verify-no-folder", lambda tmp: ["verify", str(tmp / "absent")],
         mentions=("absent",), out=None),
    Case("verify-public-key-garbage", on_bundle(lambda tmp: (
        (tmp / "pub.pem").write_text("junk"),
        ["verify", str(tmp / "out"), "--public-key", str(tmp / "pub.pem")])[1]),
         mentions=("pub.pem",)),
    # approve: a bundle it cannot verify is refused (2); a failing verdict blocks (1).
    Case("approve-no-manifest", on_bundle(approve, lambda out: (out / "manifest.json").unlink()),
         mentions=("manifest.json",), out=None),
    Case("approve-manifest-edited",
         on_bundle(approve, edit_manifest(lambda m: m.update(verdict="pass"))),
         mentions=("manifest.json",), out=None),
    Case("approve-manifest-garbage", on_bundle(approve, write("manifest.json", "{x")),
         mentions=("manifest.json",), out=None),
    Case("approve-audit-json-garbage", on_bundle(approve, write("audit.json", "{x")),
         mentions=("audit.json",), out=None),
    Case("approve-approvals-junk", on_bundle(approve, write("approvals.jsonl", "junk\n")),
         mentions=("approvals.jsonl",), out=None),
    Case("approve-failing-verdict", on_bundle(approve), exit_code=1, mentions=("fail",)),
    Case("approve-not-a-folder", lambda tmp: approve(tmp), mentions=("not found",), out=None),
    # log: damaged or missing trails.
    Case("log-verify-junk", on_bundle(log_verify, append("audit-trail.jsonl", b"junk\n")),
         exit_code=1, mentions=("audit-trail.jsonl",), out=None),
    Case("log-verify-nested", on_bundle(log_verify, append("audit-trail.jsonl",
                                                           NESTED.encode() + b"\n")),
         exit_code=1, mentions=("audit-trail.jsonl",), out=None),
    Case("log-verify-binary", on_bundle(log_verify, write("audit-trail.jsonl", b"\xff\x00\n")),
         exit_code=1, mentions=("audit-trail.jsonl",), out=None),
    Case("log-verify-missing", lambda tmp: ["log", "verify", str(tmp / "absent.jsonl")],
         mentions=("absent.jsonl",), out=None),
    Case("log-show-junk", on_bundle(lambda tmp: ["log", "show", str(tmp / "out")],
                                    append("audit-trail.jsonl", b"junk\n")),
         exit_code=0, may_pass=True, mentions=("fails verification",), out=None),
    # report diff: anything but an audit.json is bad input (2).
    Case("diff-garbage", diff_with("{x"), mentions=("other.json",), out=None),
    Case("diff-list", diff_with("[1]"), mentions=("other.json",), out=None),
    Case("diff-nested", diff_with(NESTED), mentions=("other.json",), out=None),
    Case("diff-binary", diff_with(b"\xff\xfe\x00"), mentions=("other.json",), out=None),
    Case("diff-nan", diff_with('{"verdict": NaN}'), mentions=("other.json",), out=None),
    Case("diff-a-folder", diff_with(None), mentions=("out",), out=None),
    # Hostile strings from data and policy: the audit runs, every report is inert.
    Case("group-name-img", hostile_groups(IMG), exit_code=1, tags=("inert",)),
    Case("group-name-markdown-link", hostile_groups(f"**x** {LINK} | `y` # z"), exit_code=1,
         tags=("inert",)),
    Case("group-name-control-characters", hostile_groups("bad\x01\x07\x1b\x0cname"),
         exit_code=1, tags=("inert",)),
    Case("group-name-1mb", hostile_groups("A" * 1_000_000), exit_code=1, tags=("inert",)),
    Case("column-name-img", hostile_column(IMG), exit_code=1, tags=("inert",)),
    Case("policy-description-hostile",
         lambda tmp: audit_args(tmp, policy=policy_text(
             extra=f", description: {json.dumps(IMG + ' ' + LINK + chr(7) + ' | x')}")),
         exit_code=1, tags=("inert",)),
    Case("system-name-hostile",
         lambda tmp: audit_args(tmp, policy=policy_text(name=json.dumps(IMG + LINK))),
         exit_code=1, tags=("inert",)),
    # Customer ids: keyed hashes only with the user's key, which never reaches a report.
    Case("id-key-file", key_file(b"k" * 40), exit_code=1, secrets=("k" * 40,)),
    Case("id-key-file-missing", key_file(None), mentions=("id.key",)),
    Case("id-key-file-too-short", key_file(b"short"), mentions=("id.key", "shorter")),
    Case("id-key-file-empty", key_file(b""), mentions=("id.key",)),
    Case("id-key-file-too-large", key_file(b"k" * 10_000), mentions=("id.key", "larger")),
]


def test_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(case: Case, tmp_path: Path) -> None:
    before: dict[str, bytes] | None = None
    original_build = case.build

    def build(tmp: Path) -> list[str]:
        nonlocal before
        args = original_build(tmp)
        if (tmp / "out").is_dir() and (tmp / "out" / "manifest.json").exists():
            before = snapshot(tmp / "out")
        return args

    outcome = check_case(Case(**{**case.__dict__, "build": build}), tmp_path)
    out = tmp_path / (case.out or "out")
    if outcome.exit_code == 2 and before is not None and case.out is not None:
        # Bad input after a good bundle: the previous bundle is untouched, byte for byte.
        after = snapshot(out)
        assert {k: v for k, v in after.items() if k != "audit-trail.jsonl"} == \
            {k: v for k, v in before.items() if k != "audit-trail.jsonl"}, case.id
    if "inert" in case.tags:
        assert_inert(out)


def assert_inert(out: Path) -> None:
    """No live HTML or link in audit.md (rendered by markdown-it) or audit.html; JUnit
    parses; audit.json stays small."""
    from markdown_it import MarkdownIt

    md = (out / "audit.md").read_text(encoding="utf-8")
    rendered = MarkdownIt("commonmark").enable("table").render(md)
    assert "<img" not in rendered and 'href="javascript' not in rendered, rendered[:2000]
    assert "parity" in md
    html = (out / "audit.html").read_text(encoding="utf-8")
    assert IMG not in html and 'href="javascript' not in html
    ET.parse(out / "audit.junit.xml")  # well-formed whatever the data holds
    assert (out / "audit.json").stat().st_size < 1_000_000


# --- cases that need more than one command ---------------------------------------------------

def test_a_damaged_trail_never_replaces_the_previous_report(tmp_path: Path) -> None:
    """The issue's example: a run refused for a damaged trail left a new audit.json saying
    pass beside a manifest saying fail. Now the passing run is refused before it audits."""
    trail = tmp_path / "trail.jsonl"
    out = bundle(tmp_path, "--trail", str(trail))
    before = snapshot(out)
    trail.write_bytes(trail.read_bytes() + b"junk\n")
    frame = base_frame()
    frame["tenure"] = range(len(frame))  # no duplicates: this audit would pass
    done = run(audit_args(tmp_path, "--trail", str(trail), frame=frame), tmp_path)
    assert done.exit_code == 2 and "trail.jsonl" in done.text, done.text
    assert snapshot(out) == before
    assert_report_consistent(out)


def test_rerun_replaces_the_bundle_whole_and_drops_stale_reports(tmp_path: Path) -> None:
    out = bundle(tmp_path, "--format", "json,md,model-card")
    assert (out / "model-card.json").exists()
    bundle(tmp_path, "--format", "json")
    assert not (out / "model-card.json").exists() and not (out / "audit.md").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["reports"]) == {"audit.json"}
    assert run(["verify", str(out)], tmp_path).exit_code == 0
    assert run(["log", "verify", str(out)], tmp_path).exit_code == 0


def test_inputs_that_share_the_folder_are_never_touched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    policy, data = inputs(tmp_path, folder=out)
    before = Path(data).read_bytes(), Path(policy).read_bytes()
    for _ in range(2):
        done = run(["audit", "--policy", policy, "--data", data, "--out", str(out)], tmp_path)
        assert done.exit_code == 1, done.text
    assert (Path(data).read_bytes(), Path(policy).read_bytes()) == before
    assert run(["verify", str(out)], tmp_path).exit_code == 0


def test_ids_without_a_key_leave_no_identifier_in_any_report(tmp_path: Path,
                                                             monkeypatch) -> None:
    monkeypatch.delenv("CXAUDIT_ID_SALT", raising=False)
    out = bundle(tmp_path)
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not re.search(r"id:[0-9a-f]{12}", text), path.name
    audit = json.loads((out / "audit.json").read_text())
    assert "CXAUDIT_ID_SALT" in audit["settings"]["id_examples"]
    duplicates = next(c for c in audit["checks"] if c["id"] == "one-row-per-tenure")
    assert duplicates["details"]["examples"] == []
    assert "id_key_file" in duplicates["details"]["examples_hidden"]


def test_ids_with_a_key_are_keyed_hashes_and_reruns_are_byte_identical(tmp_path: Path,
                                                                      monkeypatch) -> None:
    monkeypatch.delenv("CXAUDIT_ID_SALT", raising=False)
    key = b"0123456789abcdef0123456789abcdef"
    (tmp_path / "id.key").write_bytes(key + b"\n")
    policy = policy_text().replace("  id: customerID\n", "  id: customerID\n  id_key_file: id.key\n")
    texts = []
    for name in ("one", "two"):
        done = run(audit_args(tmp_path, out=name, policy=policy), tmp_path)
        assert done.exit_code == 1, done.text
        # The footer's "Date:" is when the run started (wall clock, to the second), like
        # audit.json's run block: two runs straddling a second differ there only.
        texts.append(re.sub(rb"Date: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", b"Date: (run)",
                            (tmp_path / name / "audit.md").read_bytes()))
        audit = (tmp_path / name / "audit.json").read_text()
        assert re.search(r"id:[0-9a-f]{12}", audit)
        for path in (tmp_path / name).iterdir():
            assert key.decode() not in path.read_text(errors="replace")
    assert texts[0] == texts[1] and b"Date: (run)" in texts[0]


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cxaudit", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)


def test_every_command_with_stdout_closed_early_ends_quietly(tmp_path: Path) -> None:
    """`cxaudit … | head`: the reader goes away; each command ends with its own code and
    no traceback (the audit still writes its whole bundle)."""
    out = bundle(tmp_path)
    policy, data = str(tmp_path / "policy.yaml"), str(tmp_path / "data.csv")
    commands = {
        ("audit", "--policy", policy, "--data", data, "--out", str(tmp_path / "piped")): 1,
        ("verify", str(out)): 0, ("log", "show", str(out)): 0, ("log", "verify", str(out)): 0,
        ("report", "diff", str(out / "audit.json"), str(out / "audit.json")): 0,
        ("policy", "list"): 0, ("policy", "validate", policy): 0, ("explain", "--list"): 0,
        ("explain", "bias.selection_rate"): 0, ("--help",): 0, ("--version",): 0,
        ("approve", str(out), "--approver", "a@example.com", "--role", "po",
         "--comment", "x"): 1,
        ("init", "--data", data, "--out", str(tmp_path / "init.yaml")): None,
    }
    for args, expected in commands.items():
        proc = _cli(*args, cwd=tmp_path)
        proc.stdout.close()  # the reader is gone before the command writes a line
        with proc.stderr:
            err = proc.stderr.read().decode()
        code = proc.wait(timeout=300)
        assert "Traceback" not in err and "BrokenPipe" not in err, (args, err)
        assert code != 3 and code >= 0, (args, code, err)
        if expected is not None:
            assert code == expected, (args, code, err)
    assert run(["verify", str(tmp_path / "piped")], tmp_path).exit_code == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_killed_run_leaves_a_verifiable_folder(tmp_path: Path, signum: int) -> None:
    """SIGTERM (a cancelled CI job) or Ctrl-C at any moment: the folder holds the previous
    bundle or the new one, whole; SIGTERM ends with 143, Ctrl-C with 130."""
    out = bundle(tmp_path)
    policy, data = str(tmp_path / "policy.yaml"), str(tmp_path / "data.csv")
    codes = set()
    for delay in (0.3, 1.0, 2.0, 3.0, 4.5):
        proc = _cli("audit", "--policy", policy, "--data", data, "--out", str(out),
                    cwd=tmp_path)
        time.sleep(delay)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=300)
        codes.add(proc.returncode)
        assert b"Traceback" not in err, err.decode()
        assert run(["verify", str(out)], tmp_path).exit_code == 0, delay
        assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    interrupted = 143 if signum == signal.SIGTERM else 130
    assert codes <= {interrupted, 1, -signum}, codes  # 1: finished before the signal


def test_concurrent_runs_into_one_folder_take_turns(tmp_path: Path) -> None:
    out = bundle(tmp_path)
    policy, data = str(tmp_path / "policy.yaml"), str(tmp_path / "data.csv")
    procs = [_cli("audit", "--policy", policy, "--data", data, "--out", str(out),
                  "--format", fmt, cwd=tmp_path)
             for fmt in ("json", "json,md", "json,junit", "json,md,junit")]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 1, err.decode()
    assert run(["verify", str(out)], tmp_path).exit_code == 0
    assert run(["log", "verify", str(out)], tmp_path).exit_code == 0


def test_gate_without_mlflow_is_exit_2_with_the_install_command(tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "mlflow.py").write_text("raise ImportError(\"No module named 'mlflow'\", "
                                    "name='mlflow')\n")
    policy, _ = inputs(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), *sys.path])}
    done = subprocess.run([sys.executable, "-m", "cxaudit", "gate", "models:/churn/1",
                           "--policy", policy, "--promote-to", "champion"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "pip install 'cxaudit[mlflow]'" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_registered_model_creates_no_mlflow_db(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    args = audit_args(tmp_path, "--model", "models:/absent/1")
    done = run(args, tmp_path)
    assert done.exit_code == 2 and "Traceback" not in done.text, done.text
    assert not (tmp_path / "mlflow.db").exists()
    assert not (tmp_path / "out").exists()


def test_demo_writes_the_same_evidence_bundle_as_audit(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = run(["demo", "--out", str(out), "--format", "json,md"], tmp_path)
    assert done.exit_code == 0, done.text
    assert (out / "manifest.json").exists() and (out / "audit-trail.jsonl").exists()
    assert run(["verify", str(out)], tmp_path).exit_code == 0


def test_strict_json_everywhere(tmp_path: Path) -> None:
    """Non-finite numbers are null plus a note in every JSON cxaudit writes."""
    from cxaudit.evidence.bounds import strict_dumps

    text = strict_dumps({"a": float("nan"), "b": [1.0, float("-inf")]})
    assert json.loads(text) == {"a": None, "b": [1.0, None],
                                "non_finite": ["a=nan", "b[1]=-inf"]}
    out = bundle(tmp_path)
    for name in ("audit.json", "manifest.json"):
        json.loads((out / name).read_text(), parse_constant=lambda c: pytest.fail(c))
    diff = run(["report", "diff", "--format", "json", str(out / "audit.json"),
                str(out / "audit.json")], tmp_path)
    json.loads(diff.stdout, parse_constant=lambda c: pytest.fail(c))


def test_the_default_folder_lock_leaves_no_file(tmp_path: Path) -> None:
    out = bundle(tmp_path)
    assert sorted(p.name for p in out.iterdir()) == sorted([
        "audit-trail.jsonl", "audit.html", "audit.json", "audit.junit.xml", "audit.md",
        "manifest.json"])


@pytest.fixture(autouse=True)
def _no_stray_state(monkeypatch) -> None:
    monkeypatch.delenv("CXAUDIT_TRAIL", raising=False)


def test_corpus_size() -> None:
    assert len(CASES) >= 50


def test_errors_into_a_closed_pipe_keep_their_exit_code(tmp_path: Path) -> None:
    """`cxaudit … 2>&1 | head`: a usage or input error meets the closed pipe on stderr and
    still ends with exit 2 (not Python's 1 for a failed flush), with nothing on a traceback."""
    for args in (("audit", "--baseline", str(tmp_path / "nope")),
                 ("policy", "validate", str(tmp_path / "missing.yaml"))):
        proc = subprocess.Popen([sys.executable, "-m", "cxaudit", *args], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        proc.stdout.close()  # the reader is gone before the first line
        assert proc.wait(timeout=120) == 2, args
