"""The REST-JSON side of the domain-association operations (CreateDomainAssociation,
GetDomainAssociation, ListDomainAssociations, UpdateDomainAssociation, DeleteDomainAssociation):
request in, :class:`~.models.AmplifyBackend` call, ``DomainAssociation`` JSON out. The rules are in
domains.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from .domains import association_json
from .exceptions import BadRequestException
from .httpd import Response
from .models import AmplifyBackend
from .responses import Request, json_response


def create_domain_association(backend: AmplifyBackend, req: Request) -> Response:
    domain, now = backend.create_domain_association(req.params["appId"], req.body, region=req.region)
    return json_response(200, {"domainAssociation": association_json(domain, now)})


def get_domain_association(backend: AmplifyBackend, req: Request) -> Response:
    domain, now = backend.get_domain_association(
        req.params["appId"], req.params["domainName"], region=req.region
    )
    return json_response(200, {"domainAssociation": association_json(domain, now)})


def list_domain_associations(backend: AmplifyBackend, req: Request) -> Response:
    query = parse_qs(req.query)
    max_results = None
    if query.get("maxResults"):
        try:
            max_results = int(query["maxResults"][0])
        except ValueError as exc:
            raise BadRequestException("maxResults must be an integer.") from exc
    listed, now, token = backend.list_domain_associations(
        req.params["appId"], max_results, query.get("nextToken", [None])[0], region=req.region
    )
    data: dict[str, Any] = {"domainAssociations": [association_json(d, now) for d in listed]}
    if token:
        data["nextToken"] = token
    return json_response(200, data)


def update_domain_association(backend: AmplifyBackend, req: Request) -> Response:
    domain, now = backend.update_domain_association(
        req.params["appId"], req.params["domainName"], req.body, region=req.region
    )
    return json_response(200, {"domainAssociation": association_json(domain, now)})


def delete_domain_association(backend: AmplifyBackend, req: Request) -> Response:
    domain, now = backend.delete_domain_association(
        req.params["appId"], req.params["domainName"], region=req.region
    )
    return json_response(200, {"domainAssociation": association_json(domain, now)})
