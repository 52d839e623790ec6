"""Misbehaving models for the data corpus (pickled with joblib; loaded with --trust-model).

They are plain classes in an importable module so that the in-process corpus can
unpickle them; each one breaks one promise a fitted classifier makes.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class _Base:
    classes_ = np.array(["No", "Yes"])

    def predict(self, features: Any) -> Any:
        return np.where(np.asarray(self.predict_proba(features))[:, 1] >= 0.5, "Yes", "No")


class RaisingModel(_Base):
    """Raises inside predict_proba, as a model meeting an unexpected input would."""

    def predict_proba(self, features: Any) -> Any:
        raise ValueError("Input contains NaN, infinity or a value too large for dtype('float64')")


class NanModel(_Base):
    """Returns NaN probabilities for every other row."""

    def predict_proba(self, features: Any) -> Any:
        p = np.full(len(features), 0.7)
        p[::2] = np.nan
        return np.column_stack([1 - p, p])


class OutOfRangeModel(_Base):
    """Returns "probabilities" outside [0, 1] (raw margins)."""

    def predict_proba(self, features: Any) -> Any:
        p = np.linspace(-3, 3, len(features))
        return np.column_stack([1 - p, p])


class WrongLengthModel(_Base):
    """Returns one probability row fewer than it was given."""

    def predict_proba(self, features: Any) -> Any:
        p = np.full(max(len(features) - 1, 0), 0.6)
        return np.column_stack([1 - p, p])


class ThreeColumnModel:
    """predict_proba with three columns and no classes_."""

    def predict_proba(self, features: Any) -> Any:
        return np.full((len(features), 3), 1 / 3)


class TextPredictModel:
    """Only predict, returning free text that is not a class."""

    def predict(self, features: Any) -> Any:
        return np.array(["high", "low", "medium"] * (len(features) // 3 + 1))[: len(features)]


class FloatPredictModel:
    """Only predict, returning regression outputs (never equal to the positive class)."""

    def predict(self, features: Any) -> Any:
        return np.linspace(0.01, 0.99, len(features))


class GoodModel(_Base):
    """A well-behaved model: probability 0.6 or 0.4 alternating (equal rates by group)."""

    def predict_proba(self, features: Any) -> Any:
        p = np.where(np.arange(len(features)) % 2 == 0, 0.6, 0.4)
        return np.column_stack([1 - p, p])
