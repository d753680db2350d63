"""mrs-asp as a long-running HTTP service (``mrs-asp serve``).

The knowledge base stays loaded, every decision is recorded in a SQLite
decision log before its answer is sent, and the payer's Da Vinci endpoints
(CDS Hooks CRD, PAS, DTR) sit beside a plain JSON API.

Modules, one per concern:

- ``config``: what ``mrs-asp serve`` is told (host, port, kb, db, limits, auth);
- ``store``: the decision log (standard-library ``sqlite3``; no web framework,
  so ``mrs-asp decisions`` reads it without importing one);
- ``decider``: cases in, answers and records out (the one place that calls
  the reasoning library);
- ``problems``: RFC 9457 problem details for every error a client can cause;
- ``auth``: CDS Hooks JWT verification against locally configured JWKS;
- ``rest``, ``cds``, ``fhir_api``: the routes, one module per family (the JSON
  API; CDS Hooks discovery and feedback; CRD, PAS and DTR through ``mrs_asp.fhir``);
- ``openapi``: the OpenAPI document's schemas, taken from the case model;
- ``app``: ``create_app(config)``, the Litestar application factory;
- ``server``: running it under uvicorn.

Nothing here is imported by the one-case command-line path.
"""
