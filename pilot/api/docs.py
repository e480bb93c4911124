"""The OpenAPI document and a plain page that reads it (no script, nothing from other sites)."""

from flask import jsonify, render_template, url_for

from pilot.api import spec as api_spec
from pilot.api.blueprint import bp

METHODS = ("get", "post", "put", "patch", "delete")


@bp.get("/openapi.json")
def openapi():
    return jsonify(api_spec.document())


@bp.get("/docs")
def docs():
    doc = api_spec.document()
    groups: dict[str, list[dict]] = {}
    for path, operations in doc["paths"].items():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {})
            groups.setdefault((operation.get("tags") or ["api"])[0], []).append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [
                        (p["name"], p["in"], p.get("required", False))
                        for p in operation.get("parameters", [])
                    ],
                    "body": [
                        (kind, _schema_name(content.get("schema", {})))
                        for kind, content in body.items()
                    ],
                    "responses": sorted(operation["responses"]),
                }
            )
    schemas = doc["components"]["schemas"]
    return render_template(
        "api/docs.html",
        info=doc["info"],
        groups=groups,
        schemas=sorted(schemas.items()),
        document_url=url_for("api.openapi", _external=True),
        api_root=url_for("api.me", _external=True).rsplit("/", 1)[0],
    )


def _schema_name(schema: dict) -> str:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else schema.get("type", "")
