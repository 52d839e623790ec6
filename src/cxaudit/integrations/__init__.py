"""Integrations with the platforms where models live (MLflow).

Everything here imports its platform lazily: importing this package costs nothing.
"""
