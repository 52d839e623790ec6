"""Principal reasons for adverse decisions, in plain language, with personal data masked.

A reason is a feature whose SHAP value pushed the score towards the adverse
decision (down for an assistive model, where not being selected is adverse;
up for a punitive one, where being flagged is). Up to four reasons per
decision, strongest first. The sentence compares the customer's value with
customers who received the favourable decision: the weighted median for
numbers, the share holding the same value for categories.

Values are shown only when they cannot single a customer out: identifiers are
hashed (:func:`cxaudit.masking.hash_id`), features listed in ``mask_features``
and category values rarer than ``min_value_count`` in the sample are masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.masking import examples_enabled, hash_id, mask_value


@dataclass(frozen=True)
class Wording:
    """How decisions are named in reasons, e.g. 'offered a retention discount'."""

    favourable: str
    adverse: str


def principal_reasons(values: np.ndarray, sign: int, max_reasons: int,
                      min_contribution: float) -> list[list[tuple[int, float]]]:
    """Per row, up to ``max_reasons`` (feature index, contribution) pushing towards adverse.

    Parameters
    ----------
    values
        SHAP values of the adverse rows ``(n, m)``.
    sign
        +1 when a positive SHAP value pushes towards the adverse decision, else −1.
    max_reasons
        Most reasons per decision.
    min_contribution
        A feature counts as a reason only if it pushes by more than this.
    """
    pushed = sign * values
    order = np.argsort(-pushed, axis=1, kind="stable")[:, :max_reasons]
    out = []
    for row, picks in zip(pushed, order, strict=True):
        out.append([(int(j), float(row[j])) for j in picks if row[j] > min_contribution])
    return out


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The value at which the cumulative weight first reaches half the total."""
    keep = ~np.isnan(values)
    values, weights = values[keep], weights[keep]
    if not len(values):
        return float("nan")
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}"


class ReasonWriter:
    """Builds masked reason sentences for one sample."""

    def __init__(self, rows: pd.DataFrame, features: tuple[str, ...], weights: np.ndarray,
                 favourable: np.ndarray, wording: Wording, *, id_column: str | None,
                 mask_features: set[str], min_value_count: int,
                 units: dict[str, str] | None = None) -> None:
        self.rows = rows
        self.features = features
        self.weights = weights
        self.favourable = favourable
        self.wording = wording
        self.id_column = id_column
        self.mask_features = mask_features
        self.min_value_count = min_value_count
        self.units = units or {}
        self._stats: dict[str, Any] = {}

    def _numeric(self, feature: str) -> bool:
        series = self.rows[feature]
        return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)

    def _median(self, feature: str) -> float:
        if feature not in self._stats:
            values = pd.to_numeric(self.rows[feature], errors="coerce").to_numpy(dtype=float)
            self._stats[feature] = weighted_median(values[self.favourable],
                                                   self.weights[self.favourable])
        return self._stats[feature]

    def _shares(self, feature: str) -> tuple[dict[str, float], dict[str, float], dict[str, int]]:
        if feature not in self._stats:
            text = self.rows[feature].astype("string").fillna("missing").to_numpy(dtype=object)
            frame = pd.DataFrame({"v": text, "w": self.weights, "fav": self.favourable})
            fav = frame[frame.fav].groupby("v")["w"].sum()
            adv = frame[~frame.fav].groupby("v")["w"].sum()
            self._stats[feature] = ((fav / max(fav.sum(), 1e-300)).to_dict(),
                                    (adv / max(adv.sum(), 1e-300)).to_dict(),
                                    frame.groupby("v").size().to_dict())
        return self._stats[feature]

    def sentence(self, row: int, feature: str) -> str:
        """Plain-language reason that ``feature`` of sampled ``row`` drove the decision."""
        w = self.wording
        value = self.rows[feature].iloc[row]
        if feature == self.id_column:
            return f"{feature} {hash_id(value)} (an identifier) moved the score"
        if feature in self.mask_features:
            return f"{feature} (value masked) pushed the score towards the adverse decision ({w.adverse})"
        if pd.isna(value):
            return f"{feature} is missing, which pushed the score towards the adverse decision ({w.adverse})"
        if self._numeric(feature):
            median = self._median(feature)
            unit = f" {self.units[feature]}" if feature in self.units else ""
            shown = _number(float(value)) + unit
            if np.isnan(median):
                return f"{feature} of {shown} pushed the score towards the adverse decision ({w.adverse})"
            if float(value) == median:
                return (f"{feature} of {shown} (the median for customers who were {w.favourable} "
                        f"is the same) still pushed the score towards the adverse decision ({w.adverse})")
            level = "high" if float(value) > median else "low"
            return (f"{feature} of {shown} is {level} compared with customers who were "
                    f"{w.favourable} (median {_number(median)}{unit})")
        fav, adv, counts = self._shares(feature)
        key = str(value)
        if counts.get(key, 0) < self.min_value_count:
            return (f"{feature} has a rare value ({mask_value(key)}, masked) that pushed the score "
                    f"towards the adverse decision ({w.adverse})")
        return (f"{feature} is \"{key}\": {fav.get(key, 0.0):.0%} of customers who were "
                f"{w.favourable} have this value, against {adv.get(key, 0.0):.0%} of customers "
                f"who were {w.adverse}")

    def customer(self, row: int) -> str | None:
        """Hashed id of the sampled row's customer (None without an id column)."""
        if self.id_column is None or self.id_column not in self.rows or not examples_enabled():
            return None
        return hash_id(self.rows[self.id_column].iloc[row])
