"""The endpoint pages: what is an endpoint's own, its register and edit forms (host, port, expected ports); the
list, the endpoint's page, delete and re-scan are every asset's (web_assets)."""

from __future__ import annotations

from aiohttp import web

from monitor.api import web_assets
from monitor.api.forms import (
    Form,
    endpoint_settings_form,
    parse_ports,
    port_number,
    register_form,
)
from monitor.api.web_assets import posted_checks, settings_of
from monitor.api.web_base import words
from monitor.store.audit import Actor
from monitor.store.endpoint_store import EndpointView
from monitor.usecases.registration import EndpointChange, EndpointRequest, Registration

FORM_FIELDS = ("agency", "host", "port", "checks", "interval", "labels", "expected_ports")


def _blank_form(check_names: list[str]) -> Form:
    values = {"host": "", "port": "443", "checks": check_names, "agency": "", "interval": ""}
    return Form(values | {"labels": "", "expected_ports": ""})


def _expected_ports(form: Form) -> list[int]:
    return parse_ports(form.values["expected_ports"]) or []


async def register_endpoint(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    form = register_form(posted, posted_checks(posted), words(request))

    async def add(registration: Registration, agency: str, actor: Actor) -> EndpointView:
        interval, labels = settings_of(form)
        port = port_number(form.values["port"])
        assert port is not None  # the form checked it
        wanted = EndpointRequest(
            form.values["host"], port, form.values["checks"], interval or None, labels, _expected_ports(form)
        )
        return await registration.register_endpoint(agency, wanted, actor)

    return await web_assets.register(request, "endpoint", form, add, FORM_FIELDS, "host")


def _change(form: Form) -> EndpointChange:
    interval, labels = settings_of(form)
    return EndpointChange(form.values["checks"], interval, labels, _expected_ports(form))


async def edit_endpoint(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    form = endpoint_settings_form(posted, posted_checks(posted), words(request))
    return await web_assets.save_settings(request, "endpoint", form, _change, FORM_FIELDS)


ROUTES = web_assets.routes("endpoint", _blank_form, register_endpoint, edit_endpoint)
