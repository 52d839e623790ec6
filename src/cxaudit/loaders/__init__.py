"""Loading data tables and models, with errors that say what to do."""
