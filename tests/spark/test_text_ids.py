"""Zero-padded numeric ids stay text on every engine: 00042 is a customer, not the number 42."""

from __future__ import annotations

import pandas as pd

from cxaudit.masking import hash_id
from cxaudit.runner import AuditInputs, audit

POLICY = """\
cxaudit: 1
system: {name: padded-ids, purpose: offers}
data: {id: account, label: churned, prediction: offer, timestamp: scored_at, protected: [region]}
checks:
  - {id: coverage, type: consent.coverage, examples: 3}
"""


def test_zero_padded_ids_match_the_ledger_on_every_engine(engine, tmp_path):
    accounts = [f"{i:05d}" for i in range(1, 61)]  # 00001 ... 00060
    pd.DataFrame({"account": accounts, "churned": [i % 2 for i in range(60)],
                  "offer": [i % 3 == 0 for i in range(60)],
                  "region": ["north", "south"] * 30,
                  "scored_at": ["2025-06-01T00:00:00Z"] * 60}).to_csv(tmp_path / "data.csv",
                                                                      index=False)
    # Consent for every account but the last ten, written exactly as the CRM exports them.
    granted = accounts[:50]
    pd.DataFrame({"subject_id": granted, "purpose": "offers", "lawful_basis": "consent",
                  "status": "granted", "granted_at": "2025-01-01T00:00:00Z",
                  "withdrawn_at": None, "expires_at": None, "notice_version": "v1",
                  "channel": "web", "jurisdiction": "EU-DE"}).to_csv(tmp_path / "ledger.csv",
                                                                    index=False)
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    result = audit(AuditInputs(policy=str(tmp_path / "policy.yaml"), data=str(tmp_path / "data.csv"),
                               consent=str(tmp_path / "ledger.csv"), engine=engine.name))
    check = result.checks[0]
    assert check.details["affected_rows"] == 10, check.summary  # only the ten without consent
    # Examples are hashes of the ids as written (00051...), so a reader can look them up.
    assert set(check.details["example_subjects"]) <= {hash_id(a) for a in accounts[50:]}
    assert len(check.details["example_subjects"]) == 3
