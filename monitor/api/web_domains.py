"""The domain pages: what is a domain's own, its register and edit forms (a name inside the agency's domain scope, no
port, no expected ports); the list, the domain's page, delete and re-scan are every asset's (web_assets)."""

from __future__ import annotations

from aiohttp import web

from monitor.api import web_assets
from monitor.api.forms import Form, domain_form, settings_form
from monitor.api.web_assets import posted_checks, settings_of
from monitor.api.web_base import words
from monitor.store.audit import Actor
from monitor.store.endpoint_store import EndpointView
from monitor.usecases.registration import DomainRequest, EndpointChange, Registration

FORM_FIELDS = ("agency", "name", "checks", "interval", "labels")


def _blank_form(check_names: list[str]) -> Form:
    return Form({"name": "", "agency": "", "checks": check_names, "interval": "", "labels": ""})


async def register_domain(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    form = domain_form(posted, posted_checks(posted), words(request))

    async def add(registration: Registration, agency: str, actor: Actor) -> EndpointView:
        interval, labels = settings_of(form)
        wanted = DomainRequest(form.values["name"], form.values["checks"], interval or None, labels)
        return await registration.register_domain(agency, wanted, actor)

    return await web_assets.register(request, "domain", form, add, FORM_FIELDS, "name")


def _change(form: Form) -> EndpointChange:
    interval, labels = settings_of(form)
    return EndpointChange(form.values["checks"], interval, labels)


async def edit_domain(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    form = settings_form(posted, posted_checks(posted), words(request))
    return await web_assets.save_settings(request, "domain", form, _change, FORM_FIELDS)


ROUTES = web_assets.routes("domain", _blank_form, register_domain, edit_domain)
