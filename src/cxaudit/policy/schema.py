"""JSON Schema of the policy format, for editors (yaml-language-server) and CI."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, create_model

from cxaudit.checks.registry import load_registry
from cxaudit.policy.model import PolicyEnvelope

SCHEMA_ID = "https://cxaudit.dev/schema/policy-v1.json"


def policy_json_schema() -> dict[str, Any]:
    """The policy schema with one discriminated entry per registered check type."""
    registry = load_registry()
    declarations = []
    for check_type in registry.types():
        cls = registry.checks[check_type]
        name = "".join(part.title() for part in check_type.replace(".", "_").split("_"))
        declarations.append(create_model(
            name,
            __base__=cls.params_model,
            __doc__=cls.title(),
            type=(Literal[check_type], Field(description=cls.title())),  # type: ignore[valid-type]
        ))
    if declarations:
        check_union = Annotated[Union[tuple(declarations)], Field(discriminator="type")]  # noqa: UP007
        envelope = create_model("Policy", __base__=PolicyEnvelope,
                                checks=(list[check_union], Field(default_factory=list)))
    else:
        envelope = PolicyEnvelope
    schema = envelope.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "cxaudit policy (format 1)"
    schema["properties"]["extends"]["items"] = {"type": "string"}
    return schema
