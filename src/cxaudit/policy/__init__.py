"""The policy: YAML reading, validation and the models checks are declared with."""
