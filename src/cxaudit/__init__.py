"""cxaudit: audit customer-experience models before they ship.

The top level stays import-light: ``cxaudit --help`` must not pay for pandas,
scikit-learn, shap, Great Expectations or MLflow.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
