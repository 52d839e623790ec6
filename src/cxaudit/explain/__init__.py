"""Explainability machinery: one SHAP explanation per audit, shared by the explain.* checks.

- :mod:`.sampling`: the stratified sample (protected group × decision) with
  design weights, and the stratified bootstrap that gives every global figure
  its sampling error;
- :mod:`.pipeline`: unwraps scikit-learn pipelines so SHAP values are computed
  on the final estimator and summed back onto the original input features;
- :mod:`.explainers`: picks the explainer for the model (tree, linear or
  model-agnostic permutation) and verifies additivity;
- :mod:`.shared`: computes all that once and caches it on the audit context;
- :mod:`.stats` and :mod:`.reasons`: importances, rank correlation, stability
  and plain-language reasons for adverse decisions.

shap is imported only inside functions that need it (its import takes seconds).
"""
