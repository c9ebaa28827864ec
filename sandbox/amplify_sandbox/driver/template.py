"""Reading a CloudFormation template: resource types, dependencies and the order to provision in."""

from __future__ import annotations

from typing import Any

from amplify_sandbox.driver.graph import topological_order
from amplify_sandbox.driver.resolver import (
    ResolveContext,
    ResolveError,
    evaluate_conditions,
    parameter_defaults,
    references,
)

AMPLIFY_APP = "AWS::Amplify::App"
AMPLIFY_BRANCH = "AWS::Amplify::Branch"
AMPLIFY_DOMAIN = "AWS::Amplify::Domain"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
EVENT_INVOKE_CONFIG = "AWS::Lambda::EventInvokeConfig"


class TemplateError(Exception):
    pass


def apply_conditions(template: dict[str, Any], pseudo: dict[str, Any]) -> dict[str, Any]:
    """The template as CloudFormation deploys it: its ``Conditions`` evaluated over the parameters'
    defaults and ``pseudo``, a resource or output whose condition is false left out. A condition
    that cannot be evaluated, or a ``Condition`` naming none of them, refuses the template
    (TemplateError), as CloudFormation's validation does."""
    conditions = template.get("Conditions") or {}
    ctx = ResolveContext(pseudo=pseudo, refs=parameter_defaults(template))
    try:
        values = evaluate_conditions(conditions, ctx)
    except ResolveError as exc:
        raise TemplateError(f"Template error: {exc}") from exc

    def kept(section: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, item in (template.get(section) or {}).items():
            cond = item.get("Condition") if isinstance(item, dict) else None
            if cond is None:
                out[name] = item
            elif not isinstance(cond, str) or cond not in values:
                raise TemplateError(
                    f"Template error: {section}.{name}: condition {cond!r} is not declared in the "
                    "template's Conditions"
                )
            elif values[cond]:
                out[name] = item
        return out

    return {**template, "Resources": kept("Resources"), "Outputs": kept("Outputs")}


def is_custom_resource(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


def dependencies(logical_id: str, resource: dict[str, Any], declared: set[str]) -> set[str]:
    """Resources this one needs first: DependsOn plus every Ref/GetAtt/Sub reference to a resource."""
    depends_on = resource.get("DependsOn") or []
    if isinstance(depends_on, str):
        depends_on = [depends_on]
    for dep in depends_on:
        if dep not in declared:
            raise TemplateError(f"Resources.{logical_id}.DependsOn: {dep} is not a resource of the template")
    refs = references(resource.get("Properties") or {})
    return (set(depends_on) | {r for r in refs if r in declared}) - {logical_id}


def dependency_graph(resources: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    declared = set(resources)
    return {logical_id: dependencies(logical_id, res, declared) for logical_id, res in resources.items()}


def provision_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    """A topological order of the resources (dependencies first), stable in template order."""
    graph = dependency_graph(resources)
    declared = list(resources)
    visiting = {lid: sorted(deps, key=declared.index) for lid, deps in graph.items()}

    def cycle(chain: list[str]) -> TemplateError:
        return TemplateError(f"circular dependency between resources: {' -> '.join(chain)}")

    return topological_order(declared, visiting, on_cycle=cycle)


def ref_target(value: Any) -> str | None:
    """The logical id in ``{"Ref": X}`` or ``{"Fn::GetAtt": [X, ...]}``, else None."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if "Fn::GetAtt" in value:
            arg = value["Fn::GetAtt"]
            if isinstance(arg, list) and arg and isinstance(arg[0], str):
                return arg[0]
            if isinstance(arg, str):
                return arg.split(".", 1)[0]
    return None


def retry_attempts(resources: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Function logical id -> MaximumRetryAttempts from the template's EventInvokeConfigs."""
    found: dict[str, int] = {}
    for res in resources.values():
        if res.get("Type") != EVENT_INVOKE_CONFIG:
            continue
        props = res.get("Properties") or {}
        target = ref_target(props.get("FunctionName"))
        attempts = props.get("MaximumRetryAttempts")
        if target and attempts is not None:
            try:
                found[target] = int(attempts)
            except (TypeError, ValueError):
                continue
    return found
