"""Parse and validate the custom resource's properties (pure; Contract 1 in docs/architecture.md).

CloudFormation delivers every scalar as a string, so booleans arrive as "true"/"false".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .rules import app_id_problem, branch_name_problem
from .site_paths import key_prefix_problem, normalize_key_prefix, pattern_problem

ZIP = "ZIP"
FILES = "FILES"
PULL = "PULL"  # Amplify fetches the single source zip itself (StartDeployment sourceUrl): pull.py
UPLOAD_MODES = (ZIP, FILES, PULL)

MAX_SOURCES = 100
MAX_FILTERS = 1000  # Exclude and Include patterns each


class PropsError(ValueError):
    """Malformed resource properties; the message is a one-line reason for CloudFormation."""


@dataclass(frozen=True)
class Source:
    bucket: str
    key: str
    # (marker, replacement) pairs in the order they are applied; replacements already json-escaped
    # when the source's MarkersConfig asks for it.
    markers: tuple[tuple[bytes, bytes], ...] = ()

    @property
    def has_markers(self) -> bool:
        return bool(self.markers)


@dataclass(frozen=True)
class DeploymentProps:
    app_id: str
    branch_name: str
    upload_mode: str
    sources: tuple[Source, ...]
    # aws s3 sync filters on the merged site's paths: every exclude, then every include (site_paths.py)
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    key_prefix: str = ""  # normalised: '' or ending with '/'

    @property
    def physical_id(self) -> str:
        return physical_resource_id(self.app_id, self.branch_name)

    @property
    def branch_url(self) -> str:
        return branch_url(self.app_id, self.branch_name)


def physical_resource_id(app_id: str, branch_name: str) -> str:
    return f"{app_id}/{branch_name}"


def branch_url(app_id: str, branch_name: str) -> str:
    return f"https://{branch_name.replace('/', '-')}.{app_id}.amplifyapp.com"


def parse_bool(value: Any, name: str) -> bool:
    """CloudFormation booleans are the strings "true"/"false"; real booleans are accepted too."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise PropsError(f'{name} must be "true" or "false", got {_show(value)}')


def json_escape(value: str) -> str:
    """The escaping aws-cdk-lib's s3-deployment handler applies with MarkersConfig jsonEscape."""
    return json.dumps(value)[1:-1]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _string(raw: Mapping[str, Any], name: str, where: str = "") -> str:
    value = raw.get(name)
    label = f"{where}{name}"
    if value is None:
        raise PropsError(f"{label} is required")
    if not isinstance(value, str):
        raise PropsError(f"{label} must be a string, got {_show(value)}")
    if not value:
        raise PropsError(f"{label} must not be empty")
    return value


def _parse_markers(raw: Mapping[str, Any], where: str) -> tuple[tuple[bytes, bytes], ...]:
    markers = raw.get("Markers")
    if markers is None or markers == "":
        return ()
    if not isinstance(markers, Mapping):
        raise PropsError(f"{where}Markers must be an object of marker -> value")
    config = raw.get("MarkersConfig")
    if config is None or config == "":
        config = {}
    if not isinstance(config, Mapping):
        raise PropsError(f"{where}MarkersConfig must be an object")
    escape_raw = config.get("JsonEscape", config.get("jsonEscape", "false"))
    escape = parse_bool(escape_raw, f"{where}MarkersConfig.JsonEscape")
    pairs: list[tuple[bytes, bytes]] = []
    for marker, value in markers.items():
        if not isinstance(marker, str) or not marker:
            raise PropsError(f"{where}Markers has an empty or non-string marker")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise PropsError(f"{where}Markers[{_show(marker)}] must be a string")
        text = value if isinstance(value, str) else json.dumps(value)
        if escape:
            text = json_escape(text)
        pairs.append((marker.encode("utf-8"), text.encode("utf-8")))
    return tuple(pairs)


def parse_source(raw: Any, index: int) -> Source:
    where = f"Sources[{index}]."
    if not isinstance(raw, Mapping):
        raise PropsError(f"Sources[{index}] must be an object with BucketName and ObjectKey")
    return Source(
        bucket=_string(raw, "BucketName", where),
        key=_string(raw, "ObjectKey", where),
        markers=_parse_markers(raw, where),
    )


def _parse_patterns(raw: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = raw.get(name)
    if value is None or value == "":
        return ()
    if not isinstance(value, list):
        raise PropsError(f"{name} must be a list of glob patterns, got {_show(value)}")
    if len(value) > MAX_FILTERS:
        raise PropsError(f"{name} has {len(value)} patterns, at most {MAX_FILTERS} are supported")
    for i, pattern in enumerate(value):
        problem = pattern_problem(pattern)
        if problem:
            raise PropsError(f"{name}[{i}] {_show(pattern)} {problem}")
    return tuple(value)


def _parse_key_prefix(raw: Mapping[str, Any]) -> str:
    value = raw.get("DestinationKeyPrefix")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PropsError(f"DestinationKeyPrefix must be a string, got {_show(value)}")
    problem = key_prefix_problem(value)
    if problem:
        raise PropsError(f"DestinationKeyPrefix {_show(value)} {problem}")
    return normalize_key_prefix(value)


def parse_props(raw: Any) -> DeploymentProps:
    """ResourceProperties -> DeploymentProps, or PropsError with a one-line reason."""
    if not isinstance(raw, Mapping):
        raise PropsError("ResourceProperties must be an object")
    app_id = _string(raw, "AppId")
    problem = app_id_problem(app_id)
    if problem:
        raise PropsError(f"AppId {_show(app_id)} {problem}")
    branch = _string(raw, "BranchName")
    problem = branch_name_problem(branch)
    if problem:
        raise PropsError(f"BranchName {problem}")
    mode_raw = raw.get("UploadMode", ZIP)
    if not isinstance(mode_raw, str) or mode_raw.strip().upper() not in UPLOAD_MODES:
        raise PropsError(f"UploadMode must be ZIP, FILES or PULL, got {_show(mode_raw)}")
    sources_raw = raw.get("Sources")
    if not isinstance(sources_raw, list) or not sources_raw:
        raise PropsError("Sources must be a non-empty list of {BucketName, ObjectKey}")
    if len(sources_raw) > MAX_SOURCES:
        raise PropsError(f"Sources has {len(sources_raw)} entries, at most {MAX_SOURCES} are supported")
    sources = tuple(parse_source(s, i) for i, s in enumerate(sources_raw))
    return DeploymentProps(
        app_id,
        branch,
        mode_raw.strip().upper(),
        sources,
        exclude=_parse_patterns(raw, "Exclude"),
        include=_parse_patterns(raw, "Include"),
        key_prefix=_parse_key_prefix(raw),
    )
