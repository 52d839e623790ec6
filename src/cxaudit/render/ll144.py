"""The NYC Local Law 144 public summary of a bias audit (6 RCNY § 5-303), as Markdown and HTML.

Both forms render one dictionary (:func:`summary_document`) built from ``audit.json``
alone — the summary the audit stored in its impact-ratio check's details
(:func:`cxaudit.ll144.build_summary`), the policy's ``system.ll144`` fields and the
audit's date — so a re-render of a bundle gives the same bytes and the two forms
never disagree. Every value from the data or the policy is escaped.
"""

from __future__ import annotations

import html
from typing import Any

from cxaudit.result import AuditResult

RULE = "6 RCNY § 5-303(a)(1)"


def _count(n: Any) -> str:
    return "—" if n is None else f"{int(n):,}"


def _rate(x: Any) -> str:
    return "—" if x is None else f"{float(x):.4f}"


def _share(x: Any) -> str:
    return "—" if x is None else f"{100 * float(x):.2f} %"


def summary_document(result: AuditResult) -> dict[str, Any]:
    """Everything the summary shows, as plain values (raises InputError when it cannot be
    published: no ``system.ll144``, no tables, or no audit date)."""
    from cxaudit.errors import InputError
    from cxaudit.ll144 import EEO1_RACE_ETHNICITY, UNKNOWN, audit_day, summary_of

    summary, check = summary_of(result)
    spec = result.system.get("ll144") or {}
    as_of = (result.policy or {}).get("as_of") or {}
    day = audit_day({"policy": result.policy})
    if day is None:
        raise InputError("the LL144 summary states the date of the audit, and this audit has "
                         f"none ({as_of.get('source') or 'no audit date'})",
                         hint="give --as-of DATE (or the policy's as_of, or data.timestamp)")
    scoring = summary["variant"] == "scoring"
    rate_name = "Scoring rate" if scoring else "Selection rate"
    counted = "Scored above the median" if scoring else "Selected"
    if scoring:
        median = summary.get("median_score")
        definition = ("Scoring rate: the share of a category's individuals who received a "
                      "score above the median score of the full sample"
                      + (f" ({median:.6g})" if isinstance(median, (int, float)) else "") + ".")
    else:
        definition = "Selection rate: the share of a category's individuals who were selected."
    unknown = summary["unknown"]
    packs = {p.get("name"): p.get("version") for p in (result.policy or {}).get("packs") or []}
    race_map = summary.get("race_map") or {}
    by_category: dict[str, list[str]] = {}
    for raw, category in race_map.items():
        by_category.setdefault(category, []).append(raw)
    mapping = [(c, by_category[c]) for c in (*EEO1_RACE_ETHNICITY, UNKNOWN) if c in by_category]
    facts = [
        ("Automated employment decision tool", result.system.get("name")),
        ("Date of the bias audit", f"{day.isoformat()} ({as_of.get('source')})"),
        ("Distribution date of the tool", spec.get("distribution_date")),
        ("Source of the data", spec.get("data_source")),
        ("Explanation of the data", spec.get("data_explanation")),
        ("Number of applicants", _count(summary["applicants"])),
        ("Individuals in the unknown category",
         f"sex: {_count(unknown['sex'])}; race/ethnicity: {_count(unknown['race_ethnicity'])}; "
         f"sex or race/ethnicity (left out of the intersectional ratios): "
         f"{_count(unknown['intersection'])}"),
        (rate_name, definition),
    ]
    notes = [
        "Impact ratio: a category's " + rate_name.lower() + " divided by the highest "
        + rate_name.lower() + " among the categories of the same table (6 RCNY § 5-301). "
        "The unknown category is counted but not compared. Local Law 144 sets no pass mark.",
        "Race/ethnicity in the EEO-1 categories; the data's values were mapped as declared "
        "in the policy (system.ll144.race_map).",
        f"Computed by cxaudit {result.versions.get('cxaudit', '')} from check "
        f"{summary['check']} ({summary['check_type']})"
        + (f", pack nyc-ll144 {packs['nyc-ll144']}" if packs.get("nyc-ll144") else "")
        + f"; policy SHA-256 {str((result.policy or {}).get('sha256', ''))[:16]}….",
    ]
    excluded = summary.get("excluded") or []
    return {"title": "Summary of the results of a bias audit (NYC Local Law 144)",
            "facts": facts, "rate_name": rate_name, "counted": counted,
            "tables": summary["tables"], "excluded": excluded,
            "exclude_under": summary.get("exclude_under"),
            "justification": summary.get("exclusion_justification"),
            "mapping": mapping, "notes": notes}


def _ratio_cell(row: dict[str, Any], under: Any) -> str:
    if row["unknown"]:
        return "not compared (unknown)"
    if row["excluded"]:
        return f"left out (under {float(under):.0%})"
    if not row["applicants"]:
        return "— (no applicants)"
    return _rate(row["impact_ratio"])


def render_ll144_markdown(result: AuditResult) -> str:
    """The public summary as Markdown (``audit-ll144.md``)."""
    from cxaudit.render.markdown_escape import md_escape as e

    doc = summary_document(result)
    out = [f"# {doc['title']}", "",
           f"Published summary as {RULE} requires. Figures from the audited data; not legal "
           "advice.", "", "| | |", "|---|---|"]
    out += [f"| {e(k)} | {e(v)} |" for k, v in doc["facts"]]
    for table in doc["tables"]:
        out += ["", f"## {e(table['title'])}", "",
                f"| Category | Applicants | {e(doc['counted'])} | {e(doc['rate_name'])} | "
                "Impact ratio |", "|---|---:|---:|---:|---:|"]
        for row in table["rows"]:
            out.append(f"| {e(row['category'])} | {_count(row['applicants'])} | "
                       f"{_count(row['selected'])} | {_rate(row['rate'])} | "
                       f"{e(_ratio_cell(row, doc['exclude_under']))} |")
    if doc["excluded"]:
        out += ["", f"## Categories left out of the impact ratios (under "
                    f"{float(doc['exclude_under']):.0%} of the applicants)", "",
                f"Justification: {e(doc['justification'])}", "",
                f"| Table | Category | Applicants | Share | {e(doc['rate_name'])} |",
                "|---|---|---:|---:|---:|"]
        out += [f"| {e(x['table'].replace('_', '/'))} | {e(x['category'])} | "
                f"{_count(x['applicants'])} | {_share(x['share'])} | {_rate(x['rate'])} |"
                for x in doc["excluded"]]
    out += ["", "## Race/ethnicity values and their EEO-1 categories", "",
            "| EEO-1 category | Values in the data |", "|---|---|"]
    out += [f"| {e(c)} | {e(', '.join(values))} |" for c, values in doc["mapping"]]
    out += ["", "## Notes", ""] + [f"- {e(n)}" for n in doc["notes"]]
    return "\n".join(out) + "\n"


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
          "color:#1b1b1b}table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
          "th,td{border:1px solid #bbb;padding:.3rem .6rem;text-align:left;vertical-align:top}"
          "td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f2f2f2}")


def render_ll144_html(result: AuditResult) -> str:
    """The public summary as a self-contained HTML page (``audit-ll144.html``)."""
    doc = summary_document(result)

    def e(value: Any) -> str:
        return html.escape("" if value is None else str(value), quote=True)

    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'\">",
           f"<title>{e(doc['title'])}</title><style>{_STYLE}</style></head><body>",
           f"<h1>{e(doc['title'])}</h1>",
           f"<p>Published summary as {e(RULE)} requires. Figures from the audited data; not "
           "legal advice.</p>", "<table>"]
    out += [f"<tr><th scope=\"row\">{e(k)}</th><td>{e(v)}</td></tr>" for k, v in doc["facts"]]
    out.append("</table>")
    for table in doc["tables"]:
        out += [f"<h2>{e(table['title'])}</h2>", "<table><thead><tr><th>Category</th>"
                f"<th>Applicants</th><th>{e(doc['counted'])}</th><th>{e(doc['rate_name'])}</th>"
                "<th>Impact ratio</th></tr></thead><tbody>"]
        for row in table["rows"]:
            out.append(f"<tr><td>{e(row['category'])}</td>"
                       f"<td class=\"n\">{_count(row['applicants'])}</td>"
                       f"<td class=\"n\">{_count(row['selected'])}</td>"
                       f"<td class=\"n\">{_rate(row['rate'])}</td>"
                       f"<td class=\"n\">{e(_ratio_cell(row, doc['exclude_under']))}</td></tr>")
        out.append("</tbody></table>")
    if doc["excluded"]:
        out += [f"<h2>Categories left out of the impact ratios (under "
                f"{float(doc['exclude_under']):.0%} of the applicants)</h2>",
                f"<p>Justification: {e(doc['justification'])}</p>",
                "<table><thead><tr><th>Table</th><th>Category</th><th>Applicants</th>"
                f"<th>Share</th><th>{e(doc['rate_name'])}</th></tr></thead><tbody>"]
        out += [f"<tr><td>{e(x['table'].replace('_', '/'))}</td><td>{e(x['category'])}</td>"
                f"<td class=\"n\">{_count(x['applicants'])}</td>"
                f"<td class=\"n\">{_share(x['share'])}</td>"
                f"<td class=\"n\">{_rate(x['rate'])}</td></tr>" for x in doc["excluded"]]
        out.append("</tbody></table>")
    out += ["<h2>Race/ethnicity values and their EEO-1 categories</h2>",
            "<table><thead><tr><th>EEO-1 category</th><th>Values in the data</th></tr></thead>"
            "<tbody>"]
    out += [f"<tr><td>{e(c)}</td><td>{e(', '.join(values))}</td></tr>"
            for c, values in doc["mapping"]]
    out += ["</tbody></table>", "<h2>Notes</h2>", "<ul>"]
    out += [f"<li>{e(n)}</li>" for n in doc["notes"]]
    out += ["</ul>", "</body></html>"]
    return "\n".join(out) + "\n"
