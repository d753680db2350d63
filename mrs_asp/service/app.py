"""The Litestar application factory.

``create_app(config)`` loads the knowledge base, opens the decision log and
returns the application; the routes come in families (``rest``, ``cds``,
``fhir_api``), each a list of handlers. Another family (the server-rendered
pages of issue 12, say) is one more list passed as ``extra_routes``, with its
own ``template_config`` if it renders templates; it reaches the same
``Decider`` as ``request.app.state.decider``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Tag

from .. import __version__
from ..cases import case_from_data
from .auth import Issuers, TokenVerifier
from .config import ServiceConfig
from .decider import Decider
from .openapi import complete
from .problems import exception_handlers
from .store import DecisionLog

__all__ = ["create_app"]

_log = logging.getLogger("mrs_asp.service")

_WARM_CASE = {"id": "warm-up", "request": {"cpt": "76390", "date": "2026-01-02",
                                           "body_region": "brain"}}


def route_families() -> list[Any]:
    """Every route of the service, family by family."""
    from . import cds, fhir_api, rest
    routes: list[Any] = [*rest.ROUTES, *cds.ROUTES, *fhir_api.ROUTES]
    from .pages import ROUTES as PAGES  # the reviewer's and the author's pages (issue 12)
    routes += PAGES
    return routes


def create_app(config: ServiceConfig, *, extra_routes: Sequence[Any] = (),
               **litestar_options: Any) -> Litestar:
    """The application for ``config``. Raises ``AuthConfigError``, ``KnowledgeBaseError``
    or ``StoreError`` (one line each) when the issuers file, the knowledge base or the
    decision log cannot be used."""
    # No issuers file (and no --no-auth): nobody may call the CDS services yet.
    issuers = Issuers.from_file(config.issuers) if config.issuers else Issuers({})
    log = DecisionLog(config.db, durability=config.durability)
    decider = Decider(config, log)
    decider.warm(case_from_data(_WARM_CASE))
    verifier = None if config.no_auth else TokenVerifier(issuers, log)

    def starting(app: Litestar) -> None:
        app.state.stopping = False
        decider.start()

    def stopping(app: Litestar) -> None:
        app.state.stopping = True

    def close(app: Litestar) -> None:
        log.close()

    openapi = OpenAPIConfig(
        title="mrs-asp",
        version=__version__,
        description=("The MR spectroscopy guideline (CPT 76390, version "
                     f"{decider.guideline_version}) as a service: determinations, minimal "
                     "explanations, what is missing, every decision recorded."),
        tags=[Tag(name="decisions"), Tag(name="guideline"), Tag(name="cds-hooks"),
              Tag(name="fhir"), Tag(name="health")],
        # The interactive page at /docs; the document itself at /openapi.json
        # (rest.openapi_json), leaving / to the pages.
        path="/docs",
        render_plugins=[SwaggerRenderPlugin(path="/"), JsonRenderPlugin(path="/openapi.json")],
    )
    app = Litestar(
        route_handlers=[*route_families(), *extra_routes],
        openapi_config=openapi,
        exception_handlers=exception_handlers(),  # type: ignore[arg-type]
        request_max_body_size=config.body_limit,
        on_startup=[starting],
        on_shutdown=[stopping, close],  # the log opens again if the app is started again
        **litestar_options,
    )
    # Litestar fills components/schemas from the handlers' types alone; the bodies
    # this service reads itself are declared by name (openapi.documented), and
    # their schemas are added to the document once it is built.
    complete(app.openapi_schema)
    app.state.decider = decider
    app.state.verifier = verifier
    app.state.config = config
    app.state.stopping = False
    return app
