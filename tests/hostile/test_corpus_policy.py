"""Hostile corpus, policy half: policy, ``extends`` and waivers files (issue 15).

Every case is a broken or hostile file run through ``cxaudit policy validate`` and,
where it matters, ``cxaudit audit`` (on 300 telco rows): exit 2, the message names
the file and the line/column or key, no traceback, no report (or never a passing one).
Special files (FIFO, /dev/zero) run in a subprocess with a timeout: they used to hang.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from .harness import TELCO_POLICY_HEAD, Case, check_case, telco_rows

POLICY = TELCO_POLICY_HEAD + """\
checks:
  - id: parity
    type: bias.selection_rate
    threshold: {min: 0.8}
"""
#: Line and column of the value of ``threshold.min`` in POLICY.
MIN_AT = "p.yaml:12:17"

SPECIAL = 30.0  # seconds: a subprocess case that hangs fails instead of blocking CI


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _check(body: str) -> str:
    """POLICY with its check replaced by ``body`` (indented under ``checks:``)."""
    return POLICY.split("checks:\n")[0] + "checks:\n" + body


def _billion_laughs(key: str = "lol") -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    return text.replace("i: &i", f"{key}:")


# A "files" builder writes what a case needs and returns the policy's name (and the
# waivers file's, for waivers cases); the command builders below turn it into args.
Files = Callable[[Path], str]


def policy_text(text: str | bytes, **extra: str | bytes) -> Files:
    def files(folder: Path) -> str:
        for name, content in extra.items():
            _write(folder, name.replace("__", "/").replace("_yaml", ".yaml"), content)
        _write(folder, "p.yaml", text)
        return "p.yaml"
    return files


def fifo_policy(folder: Path) -> str:
    os.mkfifo(folder / "p.yaml")
    return "p.yaml"


def validate(files: Files) -> Callable[[Path], list[str]]:
    return lambda folder: ["policy", "validate", files(folder)]


def audit(files: Files, *extra: str) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        policy = files(folder)
        _write(folder, "customers.csv", telco_rows())
        return ["audit", "--policy", policy, "--data", "customers.csv", "--out", "out",
                *extra]
    return build


def waivers(content: str | bytes | None, *, fifo: bool = False, path: str = "w.yaml"
            ) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        if fifo:
            os.mkfifo(folder / path)
        elif content is not None:
            _write(folder, path, content)
        return audit(policy_text(POLICY), "--waivers", path)(folder)
    return build


def both(id_: str, files: Files, mentions: tuple[str, ...], **kw) -> list[Case]:
    """The same broken policy through `policy validate` and through `audit`."""
    return [Case(id=f"{id_}/validate", build=validate(files), mentions=mentions, out=None,
                 tags=("policy",), **kw),
            Case(id=f"{id_}/audit", build=audit(files), mentions=mentions, tags=("policy",),
                 **kw)]


def one(id_: str, files: Files, mentions: tuple[str, ...], **kw) -> Case:
    return Case(id=id_, build=validate(files), mentions=mentions, out=None, tags=("policy",),
                **kw)


def threshold(value: str, *, extra: str = "", type_: str = "bias.selection_rate") -> Files:
    return policy_text(_check(f"  - id: parity\n    type: {type_}\n{extra}"
                              f"    threshold: {value}\n"))


LONG = "x" * 1_000_000
TOO_LARGE = POLICY + "#" + "-" * (5 * 1024 * 1024) + "\n"

CASES: list[Case] = [
    # ---- thresholds that cannot fail ------------------------------------------------
    *both("threshold-min-nan", threshold("{min: .nan}"), (MIN_AT, "threshold.min", "is nan", "never fail")),
    *both("threshold-min-nan-string", threshold('{min: "nan"}'), (MIN_AT, "is nan")),
    *both("threshold-min-minus-inf", threshold("{min: -.inf}"), (MIN_AT, "finite")),
    *both("ratio-min-minus-one", threshold("{min: -1}"), (MIN_AT, "ratio", "(0, ∞)")),
    one("ratio-min-zero", threshold("{min: 0}"), (MIN_AT, "ratio")),
    one("threshold-min-overflows-to-inf", threshold("{min: 1.0e+999}"), (MIN_AT, "finite")),
    one("threshold-min-yes", threshold("{min: yes}"), (MIN_AT, "a number, not true")),
    *both("difference-max-two", threshold("{max: 2}", extra="    compare: difference\n"),
          ("p.yaml:13:17", "threshold.max", "[0, 1]")),
    one("difference-max-one-never-fails", threshold("{max: 1}", extra="    compare: difference\n"),
        ("p.yaml:13:5", "threshold: {max: 1}", "can never fail", "severity: info")),
    one("difference-max-negative", threshold("{max: -0.1}", extra="    compare: difference\n"),
        ("p.yaml:13:17", "[0, 1]")),
    one("difference-max-inf", threshold("{max: .inf}", extra="    compare: difference\n"),
        ("p.yaml:13:17", "finite")),
    one("consent-share-above-one", threshold("{max: 1.5}", type_="consent.withdrawn"),
        (MIN_AT, "share of rows", "[0, 1]")),
    one("consent-share-max-one-never-fails", threshold("{max: 1}", type_="consent.withdrawn"),
        ("p.yaml:12:5", "can never fail")),
    one("representation-ratio-negative",
        threshold("{min: -0.5}", type_="data.representation", extra="    attribute: gender\n"
                  "    shares: {Male: 0.5, Female: 0.5}\n"), ("p.yaml:14:17", "ratio")),
    one("correlation-min-minus-one-never-fails",
        threshold("{min: -1}", type_="explain.group_divergence"), ("p.yaml:12:5", "can never fail")),
    one("correlation-min-below-range", threshold("{min: -2}", type_="explain.group_divergence"),
        (MIN_AT, "rank correlation", "[-1, 1]")),
    one("proxy-cramers-v-above-one",
        policy_text(_check("  - id: px\n    type: privacy.proxy\n    cramers_v: {max: 1.5}\n")),
        ("p.yaml:12:17", "checks[0].cramers_v.max", "[0, 1]")),
    one("drift-block-inf",
        policy_text(_check("  - id: d\n    type: data.drift\n    block: .inf\n")),
        ("p.yaml:12:5", "checks[0].block", "finite")),
    *both("min-group-size-400-digits",
          threshold("{min: 0.8}", extra="    min_group_size: " + "9" * 400 + "\n"),
          ("p.yaml:12:5", "min_group_size", "too large")),
    one("decision-threshold-nan", policy_text(POLICY.replace("  prediction: decision\n",
                                                             "  score: MonthlyCharges\n"
                                                             "  decision_threshold: .nan\n")),
        ("p.yaml", "decision_threshold")),
    # ---- YAML bombs and structure -----------------------------------------------------
    *both("billion-laughs", policy_text("cxaudit: 1\nsystem: {name: x}\n" + _billion_laughs()),
          ("p.yaml:4:8", "aliases")),
    one("single-alias", policy_text("cxaudit: 1\nbase: &s {name: x}\nsystem: *s\n"),
        ("p.yaml:3:9", "aliases")),
    one("merge-key-alias", policy_text("cxaudit: 1\nx: &s {name: x}\nsystem:\n  <<: *s\n"),
        ("p.yaml:4:7", "aliases")),
    one("deep-flow-nesting", policy_text("cxaudit: 1\nsystem: {name: x}\ndescription: "
                                         + "[" * 50_000 + "]" * 50_000 + "\n"),
        ("p.yaml:3:", "nesting")),
    one("deep-block-nesting", policy_text("cxaudit: 1\n" + "".join(
        "  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "x: 1\n"),
        ("p.yaml:", "nesting deeper than 64")),
    *both("duplicate-top-level-key", policy_text(POLICY + "system: {name: other}\n"),
          ("p.yaml:13:1", "duplicate key 'system'", "line 2", "line 13")),
    one("duplicate-key-in-check", threshold("{min: 0.8}\n    threshold: {min: 0.1}"),
        ("p.yaml:13:5", "duplicate key 'threshold'", "line 12")),
    *both("duplicate-check-id", policy_text(POLICY + "  - id: parity\n"
                                            "    type: bias.selection_rate\n"),
          ("p.yaml:13:5", "duplicate check id 'parity'", "line 10")),
    *both("empty-file", policy_text(""), ("p.yaml", "empty")),
    one("comments-only", policy_text("# nothing here\n\n"), ("p.yaml", "empty")),
    one("top-level-list", policy_text("- cxaudit: 1\n- system: x\n"), ("p.yaml:1:1", "list")),
    one("top-level-scalar", policy_text("just some words\n"), ("p.yaml:1:1", "str")),
    one("two-documents", policy_text(POLICY + "---\ncxaudit: 1\n"),
        ("p.yaml:13:1", "single document")),
    *both("unclosed-brace", policy_text("cxaudit: 1\nsystem: {name: x\nchecks: []\n"),
          ("p.yaml:", "malformed YAML")),
    one("tab-indentation", policy_text("cxaudit: 1\nsystem:\n\tname: x\n"),
        ("p.yaml:3:1", "malformed YAML")),
    *both("python-object-tag",
          policy_text("cxaudit: 1\nsystem: !!python/object/apply:os.system ['touch pwned']\n"),
          ("p.yaml:2:9", "constructor")),
    one("binary-junk", policy_text(bytes(range(256)) * 4), ("p.yaml:1:1", "binary")),
    *both("latin-1-bytes", policy_text("cxaudit: 1\nsystem: {name: café}\n".encode("latin-1")),
          ("p.yaml:2:19", "not UTF-8")),
    one("utf-16-with-bom", policy_text(POLICY.encode("utf-16")), ("p.yaml:1:1", "UTF-16")),
    one("control-character", policy_text("cxaudit: 1\nsystem: {name: a\x07b}\n"),
        ("p.yaml:2:17", "#x0007")),
    one("utf-8-bom-keeps-lines", policy_text(b"\xef\xbb\xbf" + POLICY.replace(
        "{min: 0.8}", "{min: -1}").encode()), (MIN_AT, "ratio")),
    one("one-megabyte-check-type",
        policy_text(_check(f"  - id: big\n    type: {LONG}\n")),
        ("p.yaml:11:5", "unknown check type", "1,000,000 characters")),
    one("one-megabyte-key", threshold("{min: 0.8}", extra=f"    {LONG}: 1\n"),
        ("p.yaml:12:", "malformed YAML")),  # YAML keys stop at 1,024 characters
    one("long-unknown-key", threshold("{min: 0.8}", extra=f"    {'k' * 1000}: 1\n"),
        ("p.yaml:12:5", "unknown key", "1,000 characters")),
    one("one-megabyte-value-of-a-key-that-must-be-a-word", threshold(
        "{min: 0.8}", extra=f"    severity: {LONG}\n"), ("p.yaml:12:5", "severity")),
    *both("file-over-5-mb", policy_text(TOO_LARGE), ("p.yaml", "too large")),
    one("directory-as-policy", lambda folder: (folder / "p.yaml").mkdir() or "p.yaml",
        ("p.yaml", "directory")),
    *both("missing-policy", lambda folder: "nope.yaml", ("nope.yaml", "not found")),
    pytest.param(one("unreadable-policy", lambda folder: (_write(folder, "p.yaml", POLICY)
                                                          .chmod(0) or "p.yaml"),
                     ("p.yaml", "permission denied")), id="unreadable-policy",
                 marks=pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                                          reason="root reads every file")),
    *both("fifo-as-policy", fifo_policy, ("p.yaml", "FIFO"), subprocess_timeout=SPECIAL),
    # ---- extends ----------------------------------------------------------------------
    *both("extends-fifo", lambda folder: (os.mkfifo(folder / "base.yaml"), policy_text(
        POLICY.replace("cxaudit: 1\n", "cxaudit: 1\nextends: [base.yaml]\n"))(folder))[1],
          ("base.yaml", "FIFO", "extended from p.yaml:2:11"), subprocess_timeout=SPECIAL),
    *both("extends-dev-zero", policy_text(POLICY.replace(
        "cxaudit: 1\n", "cxaudit: 1\nextends: [/dev/zero]\n")),
          ("/dev/zero", "character device", "p.yaml:2:11"), subprocess_timeout=SPECIAL),
    one("extends-symlink-to-dev-zero", lambda folder: (
        (folder / "base.yaml").symlink_to("/dev/zero"), policy_text(POLICY.replace(
            "cxaudit: 1\n", "cxaudit: 1\nextends: [base.yaml]\n"))(folder))[1],
        ("base.yaml", "character device", "p.yaml:2:11"), subprocess_timeout=SPECIAL),
    one("policy-symlink-to-fifo", lambda folder: (
        os.mkfifo(folder / "pipe"), (folder / "p.yaml").symlink_to(folder / "pipe"))
        and "p.yaml", ("p.yaml", "FIFO"), subprocess_timeout=SPECIAL),
    one("extends-directory", lambda folder: ((folder / "base.yaml").mkdir(), policy_text(
        POLICY.replace("cxaudit: 1\n", "cxaudit: 1\nextends: [base.yaml]\n"))(folder))[1],
        ("base.yaml", "directory", "p.yaml:2:11")),
    *both("extends-cycle", policy_text(
        POLICY.replace("cxaudit: 1\n", "cxaudit: 1\nextends: [b.yaml]\n"),
        b_yaml="cxaudit: 1\nextends: [p.yaml]\n"), ("b.yaml:2:11", "cycle")),
    one("extends-itself", policy_text(POLICY.replace("cxaudit: 1\n",
                                                     "cxaudit: 1\nextends: [p.yaml]\n")),
        ("p.yaml:2:11", "cycle")),
    one("extends-missing-file", policy_text(POLICY.replace(
        "cxaudit: 1\n", "cxaudit: 1\nextends: [missing.yaml]\n")),
        ("missing.yaml", "not found", "p.yaml:2:11")),
    *both("extends-unknown-pack", policy_text(POLICY.replace(
        "cxaudit: 1\n", "cxaudit: 1\nextends: [gdpr-profilin]\n")),
          ("p.yaml:2:11", "unknown policy pack", "gdpr-profiling")),
    one("extends-billion-laughs", policy_text(
        POLICY.replace("cxaudit: 1\n", "cxaudit: 1\nextends: [base.yaml]\n"),
        base_yaml="cxaudit: 1\n" + _billion_laughs()), ("base.yaml:3:8", "aliases")),
    one("extends-same-file-forty-times", policy_text(
        POLICY.replace("cxaudit: 1\n", "cxaudit: 1\nextends: [" + ", ".join(["b.yaml"] * 40)
                       + "]\n"), b_yaml="cxaudit: 1\n"), ("p.yaml", "more than 32 files")),
    one("extends-duplicate-id-in-base", policy_text(
        POLICY.replace("cxaudit: 1\n", "cxaudit: 1\nextends: [base.yaml]\n"),
        base_yaml="cxaudit: 1\nchecks:\n  - id: a\n    type: data.duplicates\n"
                  "  - id: a\n    type: data.duplicates\n"),
        ("base.yaml:5:5", "duplicate check id 'a'", "line 3")),
    one("extends-not-a-string", policy_text(POLICY.replace(
        "cxaudit: 1\n", "cxaudit: 1\nextends: [{pack: gdpr}]\n")), ("p.yaml:2:11", "extends[0]")),
    one("extends-empty-string", policy_text(POLICY.replace(
        "cxaudit: 1\n", "cxaudit: 1\nextends: ['']\n")), ("p.yaml:2:11", "empty")),
    one("extends-threshold-nan-in-base", policy_text(
        POLICY.replace("cxaudit: 1\n", "cxaudit: 1\nextends: [base.yaml]\n"),
        base_yaml="cxaudit: 1\nchecks:\n  - id: b\n    type: bias.selection_rate\n"
                  "    threshold: {min: .nan}\n"), ("base.yaml:5:17", "is nan")),
    # ---- waivers files (audit --waivers) ------------------------------------------------
    Case(id="waivers-billion-laughs", build=waivers(_billion_laughs("waivers")),
         mentions=("w.yaml:2:8", "aliases"), tags=("waivers",)),
    Case(id="waivers-fifo", build=waivers(None, fifo=True), mentions=("w.yaml", "FIFO"),
         subprocess_timeout=SPECIAL, tags=("waivers",)),
    Case(id="waivers-dev-zero", build=waivers(None, path="/dev/zero"),
         mentions=("/dev/zero", "character device"), subprocess_timeout=SPECIAL,
         tags=("waivers",)),
    Case(id="waivers-missing", build=waivers(None), mentions=("w.yaml", "not found"),
         tags=("waivers",)),
    Case(id="waivers-directory", build=lambda folder: ((folder / "w.yaml").mkdir(),
                                                       waivers(None)(folder))[1],
         mentions=("w.yaml", "directory"), tags=("waivers",)),
    Case(id="waivers-latin-1", build=waivers("waivers:\n  - check: café\n".encode("latin-1")),
         mentions=("w.yaml:2:15", "not UTF-8"), tags=("waivers",)),
    Case(id="waivers-mapping-without-list", build=waivers("check: parity\n"),
         mentions=("w.yaml:1:1", "`waivers:` list"), tags=("waivers",)),
    Case(id="waivers-python-tag", build=waivers("waivers: !!python/object/apply:os.system "
                                                "['touch pwned']\n"),
         mentions=("w.yaml:1:10", "constructor"), tags=("waivers",)),
    Case(id="waivers-binary", build=waivers(b"\x00\x01\x02waivers"),
         mentions=("w.yaml:1:1", "binary"), tags=("waivers",)),
    Case(id="waivers-scalar", build=waivers("just words\n"),
         mentions=("w.yaml:1:1", "waivers:"), tags=("waivers",)),
    Case(id="waivers-empty", build=waivers(""), mentions=("w.yaml", "empty"),
         tags=("waivers",)),
    Case(id="waivers-duplicate-key",
         build=waivers("waivers:\n  - check: parity\n    check: other\n"),
         mentions=("w.yaml:3:5", "duplicate key 'check'", "line 2"), tags=("waivers",)),
    Case(id="waivers-long-unknown-key", build=waivers(f"waivers:\n  - {'k' * 1000}: 1\n"),
         mentions=("w.yaml:2:5", "unknown key", "1,000 characters"), tags=("waivers",)),
    Case(id="waivers-one-megabyte-justification",
         build=waivers(f"waivers:\n  - check: parity\n    justification: {LONG}\n"),
         mentions=("w.yaml:2:5",), tags=("waivers",)),
    Case(id="waivers-over-5-mb", build=waivers("waivers: []\n#" + "-" * (5 * 1024 * 1024)),
         mentions=("w.yaml", "too large"), tags=("waivers",)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id if isinstance(c, Case) else None)
def test_policy_case_fails_closed(case: Case, tmp_path: Path) -> None:
    outcome = check_case(case, tmp_path)
    # A message quotes values only cut: a 1 MB string never comes back whole.
    assert len(outcome.text) < 20_000, f"case {case.id}: {len(outcome.text):,} characters"
    assert not (tmp_path / "pwned").exists()


def test_corpus_size() -> None:
    assert len(CASES) >= 50


def test_loading_indexes_locations_once_per_file(tmp_path: Path, monkeypatch) -> None:
    """Linear loading, asserted structurally (timings live in benchmarks/bench_policy_load.py).

    Loading used to copy the file's whole location map for every check (8,000 checks:
    68 s). Each check now reads its own slice of an index built once per file: the
    number of location entries visited grows with the file, not with checks × file.
    """
    from cxaudit.policy import loader

    visited = {"n": 0}
    real = loader._Layer.check_locations

    def counting(self, index):
        found = real(self, index)
        visited["n"] += len(found)
        return found

    monkeypatch.setattr(loader._Layer, "check_locations", counting)
    body = "".join(f"  - id: c{i}\n    type: data.duplicates\n    max_rate: 0.01\n"
                   for i in range(400))
    path = _write(tmp_path, "p.yaml", _check(body))
    policy = loader.load_policy(path)
    assert len(policy.checks) == 400
    # Each check has 4 locations (the item and its 3 keys), read twice (validation and
    # the loaded policy's locations): 8 per check, whatever the number of checks.
    assert visited["n"] == 400 * 4 * 2
