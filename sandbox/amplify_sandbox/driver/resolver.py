"""CloudFormation intrinsic functions, resolved over the resources the local driver knows.

A pure module: no I/O, no AWS. The driver builds a :class:`ResolveContext` from the pseudo parameters
and the resources provisioned so far, and calls :func:`resolve` on a resource's properties.

Supported: ``Ref`` (resources, parameters with a ``Default``, pseudo parameters, ``AWS::NoValue``),
``Fn::GetAtt`` (list and ``"Res.Attr"`` forms), ``Fn::Sub`` (string and ``[string, {vars}]`` forms),
``Fn::Join``, ``Fn::Select``. Anything else raises :class:`ResolveError` naming the function and the
place in the template (``Resources.Site.Properties.Sources[0].BucketName``).

Dynamic references ``{{resolve:secretsmanager:<secret-id>:SecretString:<json-key>:<stage>:<version>}}``
in resource properties (where CDK's ``secret.secret_value_from_json("password")`` puts them, through an
``Fn::Join`` with the secret's ``Ref``) are replaced by the value of a secret the stack created: its
provisioner keeps the value among the secret's attributes under :data:`SECRET_VALUE` (a name with a
``:``, which no ``Fn::GetAtt`` can ask for). They stay as written in Outputs, and are refused in custom
resources, as CloudFormation refuses secure values there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

PSEUDO_PARAMETERS = (
    "AWS::AccountId",
    "AWS::Region",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::NotificationARNs",
)
SUPPORTED_FUNCTIONS = ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select")
#: the attributes under which a secret's provisioner keeps what dynamic references need; they hold a
#: ':' so they are never Fn::GetAtt attributes (CloudFormation's attribute names have none)
SECRET_VALUE = "resolve:secretsmanager:SecretString"  # noqa: S105 - an attribute name
SECRET_NAME = "resolve:secretsmanager:Name"  # noqa: S105 - an attribute name
_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:([a-z-]+):(.*?)\}\}", re.DOTALL)
_SECRET_ARN = re.compile(r"arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:[^:]+")


class _NoValue:
    """``{"Ref": "AWS::NoValue"}``: the enclosing key or list item disappears."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class ResolveError(Exception):
    """An intrinsic function the driver cannot resolve, with where it is in the template."""

    def __init__(self, message: str, path: str = "") -> None:
        self.message = message
        self.path = path
        super().__init__(f"{message} (at {path})" if path else message)


@dataclass
class ResolveContext:
    """What intrinsics can see.

    pseudo: ``{"AWS::Region": "us-east-1", ...}``.
    refs: logical id -> the value of ``Ref`` (resources provisioned so far, parameters' defaults).
    attributes: logical id -> attribute name -> value (``Fn::GetAtt``).
    types: logical id -> resource type (only used in error messages).
    declared: every logical id the template declares (to tell "unknown" from "not provisioned").
    """

    pseudo: Mapping[str, Any]
    refs: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    types: Mapping[str, str] = field(default_factory=dict)
    declared: frozenset[str] | set[str] = frozenset()


def pseudo_parameters(
    *,
    account: str,
    region: str,
    stack_name: str,
    stack_id: str,
    partition: str = "aws",
    url_suffix: str = "amazonaws.com",
) -> dict[str, Any]:
    return {
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::Partition": partition,
        "AWS::URLSuffix": url_suffix,
        "AWS::StackName": stack_name,
        "AWS::StackId": stack_id,
        "AWS::NotificationARNs": [],
    }


def intrinsic_name(value: Any) -> str | None:
    """The intrinsic function a value is (``{"Ref": ...}``, ``{"Fn::X": ...}``), or None."""
    if isinstance(value, dict) and len(value) == 1:
        (key,) = value
        if key == "Ref" or key.startswith("Fn::"):
            return str(key)
    return None


def resolve(value: Any, ctx: ResolveContext, path: str = "") -> Any:
    """Resolve every intrinsic inside ``value``. ``AWS::NoValue`` removes the key or list item
    that holds it; at the top level it returns :data:`NO_VALUE`."""
    name = intrinsic_name(value)
    if name is not None:
        resolved = _resolve_function(name, value[name], ctx, f"{path}.{name}" if path else name)
        return _dynamic(resolved, ctx, path) if isinstance(resolved, str) else resolved
    if isinstance(value, str):
        return _dynamic(value, ctx, path)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            resolved = resolve(item, ctx, f"{path}.{key}" if path else key)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out
    if isinstance(value, list):
        items = [resolve(item, ctx, f"{path}[{i}]") for i, item in enumerate(value)]
        return [item for item in items if item is not NO_VALUE]
    return value


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template's parameters that ``Ref`` resolves: those with a ``Default`` (SSM parameter types
    are read from SSM on AWS, so they are left unresolved)."""
    return {
        name: param["Default"]
        for name, param in (template.get("Parameters") or {}).items()
        if "Default" in param and not str(param.get("Type", "")).startswith("AWS::SSM::")
    }


def evaluate_conditions(conditions: Mapping[str, Any], ctx: ResolveContext) -> dict[str, bool]:
    """Every condition of a template's ``Conditions`` block, as CloudFormation evaluates them:
    ``Fn::Equals`` (over what :func:`resolve` resolves: parameters, pseudo parameters...),
    ``Fn::Not``, ``Fn::And``, ``Fn::Or`` and ``{"Condition": name}``. One that cannot be evaluated
    (an undeclared name, a cycle, another function) raises :class:`ResolveError`."""
    done: dict[str, bool] = {}
    visiting: set[str] = set()

    def condition(name: Any, path: str) -> bool:
        if not isinstance(name, str) or name not in conditions:
            raise ResolveError(f"condition {name!r} is not declared in the template's Conditions", path)
        if name not in done:
            if name in visiting:
                raise ResolveError(f"circular condition {name}", path)
            visiting.add(name)
            done[name] = evaluate(conditions[name], f"Conditions.{name}")
            visiting.discard(name)
        return done[name]

    def evaluate(value: Any, path: str) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            here = f"{path}.{fn}"
            if fn == "Condition":
                return condition(arg, here)
            if fn == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
                return not evaluate(arg[0], f"{here}[0]")
            if fn in ("Fn::And", "Fn::Or") and isinstance(arg, list) and 2 <= len(arg) <= 10:
                values = [evaluate(item, f"{here}[{i}]") for i, item in enumerate(arg)]
                return all(values) if fn == "Fn::And" else any(values)
            if fn == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
                left, right = (_comparable(resolve(item, ctx, f"{here}[{i}]")) for i, item in enumerate(arg))
                return bool(left == right)
        raise ResolveError(
            f"a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition, got {value!r}", path
        )

    for name in conditions:
        condition(name, f"Conditions.{name}")
    return done


def _comparable(value: Any) -> Any:
    """Fn::Equals compares values as CloudFormation's template strings: ``1`` equals ``"1"``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else value


def stringify_scalars(value: Any) -> Any:
    """As CloudFormation delivers a custom resource's properties: every scalar becomes a string
    (``True`` -> ``"true"``, ``3`` -> ``"3"``); dicts and lists keep their shape; None stays None."""
    if isinstance(value, dict):
        return {key: stringify_scalars(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stringify_scalars(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def references(value: Any) -> set[str]:
    """Logical ids (resources or parameters) that ``value`` refers to through Ref, Fn::GetAtt or
    Fn::Sub, at any depth; pseudo parameters are left out. Used to order resources."""
    found: set[str] = set()
    for name, arg in _walk_intrinsics(value):
        if name == "Ref" and isinstance(arg, str) and not arg.startswith("AWS::"):
            found.add(arg)
        elif name == "Fn::GetAtt":
            if isinstance(arg, list) and arg and isinstance(arg[0], str):
                found.add(arg[0])
            elif isinstance(arg, str):
                found.add(arg.split(".", 1)[0])
        elif name == "Fn::Sub":
            template, variables = (
                (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) else (arg, {})
            )
            if isinstance(template, str):
                for var in _sub_variables(template):
                    head = var.split(".", 1)[0]
                    if not var.startswith("AWS::") and not (isinstance(variables, dict) and var in variables):
                        found.add(head)
    return found


def attribute_references(value: Any) -> set[tuple[str, str]]:
    """``(logical id, attribute)`` of every ``Fn::GetAtt`` and ``Fn::Sub`` ``${Res.Attr}`` inside
    ``value``: the attributes a resource must provide (an attribute name that is itself an
    intrinsic is left out)."""
    found: set[tuple[str, str]] = set()
    for name, arg in _walk_intrinsics(value):
        if name == "Fn::GetAtt":
            if isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg):
                found.add((arg[0], arg[1]))
            elif isinstance(arg, str) and "." in arg:
                head, attr = arg.split(".", 1)
                found.add((head, attr))
        elif name == "Fn::Sub":
            template, variables = (
                (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) else (arg, {})
            )
            if isinstance(template, str):
                for var in _sub_variables(template):
                    if "." in var and not var.startswith("AWS::"):
                        if not (isinstance(variables, dict) and var in variables):
                            head, attr = var.split(".", 1)
                            found.add((head, attr))
    return found


def _walk_intrinsics(value: Any) -> Iterator[tuple[str, Any]]:
    name = intrinsic_name(value)
    if name is not None:
        yield name, value[name]
        yield from _walk_intrinsics(value[name])
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk_intrinsics(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_intrinsics(item)


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _sub_variables(template: str) -> list[str]:
    return [m.group(1).strip() for m in _SUB_VARIABLE.finditer(template) if not m.group(1).startswith("!")]


def _resolve_function(name: str, arg: Any, ctx: ResolveContext, path: str) -> Any:
    if name == "Ref":
        return _ref(arg, ctx, path)
    if name == "Fn::GetAtt":
        return _get_att(arg, ctx, path)
    if name == "Fn::Sub":
        return _sub(arg, ctx, path)
    if name == "Fn::Join":
        return _join(arg, ctx, path)
    if name == "Fn::Select":
        return _select(arg, ctx, path)
    raise ResolveError(
        f"{name} is not supported by the local driver (it resolves {', '.join(SUPPORTED_FUNCTIONS)} "
        "and the pseudo parameters)",
        path,
    )


def _ref(arg: Any, ctx: ResolveContext, path: str) -> Any:
    if not isinstance(arg, str):
        raise ResolveError(f"Ref needs a logical id or pseudo parameter name, got {arg!r}", path)
    if arg == "AWS::NoValue":
        return NO_VALUE
    if arg.startswith("AWS::"):
        if arg in ctx.pseudo:
            return ctx.pseudo[arg]
        raise ResolveError(f"Ref {arg}: unknown pseudo parameter", path)
    if arg in ctx.refs:
        return ctx.refs[arg]
    raise ResolveError(_missing(arg, ctx, "Ref"), path)


def _missing(logical_id: str, ctx: ResolveContext, what: str) -> str:
    if logical_id in ctx.declared:
        kind = ctx.types.get(logical_id, "?")
        return (
            f"{what} {logical_id}: resource {logical_id} ({kind}) has no value here "
            "(not provisioned by the local driver)"
        )
    return f"{what} {logical_id}: no resource or parameter named {logical_id} in the template"


def _get_att(arg: Any, ctx: ResolveContext, path: str) -> Any:
    if isinstance(arg, str) and "." in arg:
        logical_id, attribute = arg.split(".", 1)
    elif isinstance(arg, list) and len(arg) == 2:
        logical_id = arg[0]
        attribute = resolve(arg[1], ctx, f"{path}[1]")
    else:
        raise ResolveError(
            f"Fn::GetAtt needs [LogicalId, Attribute] or 'LogicalId.Attribute', got {arg!r}", path
        )
    if not isinstance(logical_id, str) or not isinstance(attribute, str):
        raise ResolveError(f"Fn::GetAtt needs string names, got {arg!r}", path)
    return _attribute(logical_id, attribute, ctx, path)


def _attribute(logical_id: str, attribute: str, ctx: ResolveContext, path: str) -> Any:
    attrs = ctx.attributes.get(logical_id)
    if attrs is None:
        raise ResolveError(_missing(logical_id, ctx, f"Fn::GetAtt {logical_id}.{attribute}:"), path)
    if attribute not in attrs or attribute in (SECRET_VALUE, SECRET_NAME):
        kind = ctx.types.get(logical_id, "?")
        known = ", ".join(sorted(a for a in attrs if a not in (SECRET_VALUE, SECRET_NAME))) or "none"
        raise ResolveError(
            f"Fn::GetAtt {logical_id}.{attribute}: {logical_id} ({kind}) has no attribute {attribute} "
            f"(it has: {known})",
            path,
        )
    return attrs[attribute]


def _scalar_text(value: Any, what: str, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ResolveError(f"{what} must be a string, got {type(value).__name__} {value!r}", path)


def _sub(arg: Any, ctx: ResolveContext, path: str) -> str:
    if isinstance(arg, str):
        template, variables = arg, {}
    elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
        template = arg[0]
        variables = {key: resolve(value, ctx, f"{path}[1].{key}") for key, value in arg[1].items()}
    else:
        raise ResolveError(f"Fn::Sub needs a string or [string, {{variables}}], got {arg!r}", path)

    def substitute(match: re.Match[str]) -> str:
        body = match.group(1)
        if body.startswith("!"):
            return "${" + body[1:] + "}"
        name = body.strip()
        if name in variables:
            return _scalar_text(variables[name], f"Fn::Sub variable {name}", path)
        if name.startswith("AWS::"):
            if name in ctx.pseudo and name != "AWS::NotificationARNs":
                return _scalar_text(ctx.pseudo[name], f"Fn::Sub ${{{name}}}", path)
            raise ResolveError(f"Fn::Sub ${{{name}}}: unknown pseudo parameter", path)
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return _scalar_text(_attribute(logical_id, attribute, ctx, path), f"Fn::Sub ${{{name}}}", path)
        if name in ctx.refs:
            return _scalar_text(ctx.refs[name], f"Fn::Sub ${{{name}}}", path)
        raise ResolveError(_missing(name, ctx, f"Fn::Sub ${{{name}}}:"), path)

    return _SUB_VARIABLE.sub(substitute, template)


def _join(arg: Any, ctx: ResolveContext, path: str) -> str:
    if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
        raise ResolveError(f"Fn::Join needs [delimiter, [values]], got {arg!r}", path)
    values = resolve(arg[1], ctx, f"{path}[1]")
    if not isinstance(values, list):
        raise ResolveError(f"Fn::Join needs a list of values, got {values!r}", path)
    return arg[0].join(
        _scalar_text(value, "Fn::Join value", f"{path}[1][{i}]") for i, value in enumerate(values)
    )


def _select(arg: Any, ctx: ResolveContext, path: str) -> Any:
    if not (isinstance(arg, list) and len(arg) == 2):
        raise ResolveError(f"Fn::Select needs [index, [values]], got {arg!r}", path)
    index = resolve(arg[0], ctx, f"{path}[0]")
    values = resolve(arg[1], ctx, f"{path}[1]")
    if isinstance(index, str) and index.strip().isdigit():
        index = int(index)
    if isinstance(index, bool) or not isinstance(index, int):
        raise ResolveError(f"Fn::Select index must be an integer, got {index!r}", path)
    if not isinstance(values, list):
        raise ResolveError(f"Fn::Select needs a list of values, got {values!r}", path)
    if not 0 <= index < len(values):
        raise ResolveError(f"Fn::Select index {index} is out of range for a list of {len(values)}", path)
    return values[index]


# ---------------------------------------------------------------------- dynamic references
def _dynamic(text: str, ctx: ResolveContext, path: str) -> str:
    """``text`` with its ``{{resolve:secretsmanager:...}}`` references replaced, in resource properties."""
    if "{{resolve:" not in text or not path.startswith("Resources.") or not _DYNAMIC_REFERENCE.search(text):
        return text  # Outputs keep them as written
    logical_id = path.split(".")[1]
    kind = ctx.types.get(logical_id, "")
    if kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
        raise ResolveError(
            "a {{resolve:...}} dynamic reference in a custom resource: CloudFormation does not resolve "
            "secure values there; pass the secret's ARN and read it in the handler",
            path,
        )

    def one(match: re.Match[str]) -> str:
        service, body = match.group(1), match.group(2)
        if service != "secretsmanager":
            raise ResolveError(
                f"{{{{resolve:{service}:...}}}}: the local driver resolves only secretsmanager dynamic "
                "references",
                path,
            )
        return _secret_reference(body, ctx, path)

    return _DYNAMIC_REFERENCE.sub(one, text)


def _secret_reference(body: str, ctx: ResolveContext, path: str) -> str:
    """``<secret-id>[:SecretString[:json-key[:version-stage[:version-id]]]]`` -> the value (never in an
    error message)."""
    arn = _SECRET_ARN.match(body)
    secret_id = arn.group(0) if arn else body.split(":", 1)[0]
    rest = body[len(secret_id) :].removeprefix(":")
    parts = (rest.split(":") if rest else []) + ["", "", "", ""]
    field, json_key, stage, version = parts[:4]
    where = f"{{{{resolve:secretsmanager:{secret_id}:...}}}}"
    if field not in ("", "SecretString"):
        raise ResolveError(f"{where}: the second segment must be SecretString, got {field!r}", path)
    if stage not in ("", "AWSCURRENT") or version:
        raise ResolveError(
            f"{where}: the local driver resolves only the current version (AWSCURRENT) of a secret", path
        )
    value = None
    for logical_id, attrs in ctx.attributes.items():
        if SECRET_VALUE in attrs and secret_id in (ctx.refs.get(logical_id), attrs.get(SECRET_NAME)):
            value = attrs[SECRET_VALUE]
            break
    if not isinstance(value, str):
        raise ResolveError(
            f"{where}: no secret of this stack has that name or ARN (the local driver resolves "
            "secrets the stack creates, provisioned before this resource)",
            path,
        )
    if not json_key:
        return value
    try:
        document = json.loads(value)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ResolveError(f"{where}: json-key {json_key!r} given, but the secret is not a JSON object", path)
    if json_key not in document:
        raise ResolveError(f"{where}: the secret has no key {json_key!r}", path)
    item = document[json_key]
    return item if isinstance(item, str) else json.dumps(item)
