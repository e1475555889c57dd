"""The API reference at ``/docs``: the app's own OpenAPI document rendered as one HTML page, server-side.

Swagger UI (still served, at ``/docs/swagger``) needs 1.8-2.5 s on this 2-core machine before its
first operation shows in a fresh browser: ~0.6 s to parse its 1.4 MB bundle and ~1.1 s resolving an
OpenAPI 3.1 document through ApiDOM (a CPU profile is mostly ApiDOM's ``visit``). Neither a newer
Swagger UI (5.35) nor RapiDoc (3 s) met the one-second target of issue #15, so the reference every
user sees first is this page: every operation with its parameters (types, enums, bounds, defaults),
request body, responses and a ``curl`` line; every schema with its fields; and a small "try it"
form per operation (``/static/web/apidocs.js``). It is rendered from ``app.openapi()``, so it can
never describe another API than the one served.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def reference_html(spec: dict[str, Any]) -> str:
    """The whole page for an OpenAPI 3.x document."""
    info = spec.get("info", {})
    ops = [
        (path, method, op)
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
        if method in METHODS
    ]
    tags: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, method, op in ops:
        tags.setdefault((op.get("tags") or ["other"])[0], []).append((path, method, op))
    schemas = spec.get("components", {}).get("schemas", {})
    toc = "".join(
        f"<li>{escape(tag)}<ul>"
        + "".join(
            f'<li><a href="#{_anchor(op)}">{method.upper()} {escape(path)}</a></li>' for path, method, op in items
        )
        + "</ul></li>"
        for tag, items in tags.items()
    )
    body = "".join(
        f'<section class="tag"><h2>{escape(tag)}</h2>{"".join(_operation(p, m, o, spec) for p, m, o in items)}</section>'
        for tag, items in tags.items()
    )
    schema_html = "".join(_schema(name, s) for name, s in schemas.items())
    title = escape(f"{info.get('title', 'API')} {info.get('version', '')}".strip())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API reference</title>
<link rel="stylesheet" href="/static/web/style.css"><link rel="stylesheet" href="/static/web/apidocs.css">
</head><body>
<header><h1>{title} API</h1><nav><a href="/">Explorer</a><a href="/docs/swagger">Swagger UI</a>
<a href="/redoc">ReDoc</a><a href="/openapi.json">openapi.json</a></nav></header>
<main>
<p>{escape(info.get("summary") or info.get("description") or "")}</p>
<nav class="toc" aria-label="Operations"><ul>{toc}</ul><p><a href="#schemas">Schemas</a></p></nav>
{body}
<section id="schemas"><h2>Schemas</h2>{schema_html}</section>
</main>
<script src="/static/web/apidocs.js"></script>
</body></html>
"""


def _anchor(op: dict[str, Any]) -> str:
    return "op-" + str(op.get("operationId", "")).replace("/", "-")


def _operation(path: str, method: str, op: dict[str, Any], spec: dict[str, Any]) -> str:
    params = op.get("parameters", [])
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code>{' <em>required</em>' if p.get('required') else ''}</td>"
        f"<td>{escape(p.get('in', ''))}</td><td>{_type(p.get('schema', {}))}</td>"
        f"<td>{escape(p.get('description') or p.get('schema', {}).get('description', ''))}</td></tr>"
        for p in params
    )
    table = (
        "<table><thead><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if params
        else ""
    )
    request = op.get("requestBody", {}).get("content", {})
    request_html = "".join(
        f"<p>Request body <code>{escape(kind)}</code>: {_type(media.get('schema', {}))}</p>"
        for kind, media in request.items()
    )
    responses = "".join(
        f"<tr><td>{escape(code)}</td><td>{escape(r.get('description', ''))}</td><td>"
        + ", ".join(
            f"<code>{escape(kind)}</code> {_type(m.get('schema', {}))}" for kind, m in r.get("content", {}).items()
        )
        + "</td></tr>"
        for code, r in op.get("responses", {}).items()
    )
    example = _example_body(request.get("application/json", {}).get("schema"), spec)
    return f"""<section class="op" id="{_anchor(op)}">
<h3><span class="method {method}">{method.upper()}</span> <code>{escape(path)}</code> {escape(op.get("summary", ""))}</h3>
{_paragraph(op.get("description"))}
{table}{request_html}
<table class="responses"><thead><tr><th>status</th><th>meaning</th><th>body</th></tr></thead><tbody>{responses}</tbody></table>
<pre class="curl">{escape(_curl(path, method, params, example))}</pre>
{_try_form(path, method, op, params, example)}
</section>"""


def _try_form(path: str, method: str, op: dict[str, Any], params: list[dict[str, Any]], example: Any) -> str:
    """A form the page's script sends with ``fetch``; only for what a form can say (query/path
    parameters, a JSON body): OPTIONS, HEAD and non-JSON bodies have their ``curl`` line."""
    body = op.get("requestBody", {}).get("content", {})
    if method not in ("get", "post") or (body and "application/json" not in body):
        return ""
    fid = _anchor(op)
    fields = []
    for p in params:
        if p.get("in") not in ("query", "path"):
            continue
        name, schema = p["name"], _nonnull(p.get("schema", {}))
        pid = f"{fid}-{name}"
        label = f'<label for="{pid}">{escape(name)}{" (required)" if p.get("required") else ""}</label>'
        default = schema.get("default")
        if "enum" in schema:
            opts = "".join(
                f"<option{' selected' if v == default else ''}>{escape(str(v))}</option>"
                for v in ([""] if not p.get("required") and default is None else []) + schema["enum"]
            )
            control = f'<select id="{pid}" name="{escape(name)}" data-in="{p["in"]}">{opts}</select>'
        elif schema.get("type") == "boolean":
            control = f'<select id="{pid}" name="{escape(name)}" data-in="{p["in"]}"><option></option><option>true</option><option>false</option></select>'
        else:
            kind = "number" if schema.get("type") in ("integer", "number") else "text"
            bounds = "".join(
                f' {attr}="{schema[key]}"' for key, attr in (("minimum", "min"), ("maximum", "max")) if key in schema
            )
            step = ' step="any"' if schema.get("type") == "number" else ""
            value = "" if default is None else f' value="{escape(str(default))}"'
            required = " required" if p.get("required") else ""
            control = f'<input id="{pid}" name="{escape(name)}" type="{kind}" data-in="{p["in"]}"{bounds}{step}{value}{required}>'
        fields.append(label + control)
    if body:
        fields.append(
            f'<label for="{fid}-body">JSON body</label><textarea id="{fid}-body" name="__body" rows="6">'
            f"{escape(json.dumps(example, indent=2))}</textarea>"
        )
    return (
        f'<details><summary>Try it</summary><form class="try" data-method="{method.upper()}" data-path="{escape(path)}">'
        f'{"".join(fields)}<button type="submit">Send</button><output class="result" aria-live="polite"></output></form></details>'
    )


def _paragraph(text: str | None) -> str:
    return f"<p>{escape(text)}</p>" if text else ""


def _nonnull(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, null]`` (an optional parameter) as ``X``."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    return {**options[0], **{k: v for k, v in schema.items() if k != "anyOf"}} if len(options) == 1 else schema


def _type(schema: dict[str, Any] | bool) -> str:
    """A schema in a few words: ``integer 1..100, default 10``, ``array of <a>ConceptDoc</a>``."""
    if not isinstance(schema, dict):  # ``additionalProperties: true``
        return "any"
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if "anyOf" in schema:
        text = " | ".join(_type(s) for s in schema["anyOf"])
    elif schema.get("type") == "array":
        text = f"array of {_type(schema.get('items', {}))}"
    elif "enum" in schema:
        text = "one of " + ", ".join(f"<code>{escape(json.dumps(v))}</code>" for v in schema["enum"])
    elif schema.get("type") == "object" and "additionalProperties" in schema:
        text = f"object of {_type(schema['additionalProperties'])}"
    else:
        text = escape(str(schema.get("type", "any")))
    lo = schema.get("minimum", schema.get("minLength", schema.get("minItems")))
    hi = schema.get("maximum", schema.get("maxLength", schema.get("maxItems")))
    if lo is not None or hi is not None:
        text += f" {'' if lo is None else _num(lo)}..{'' if hi is None else _num(hi)}"
    if "default" in schema:
        text += f", default <code>{escape(json.dumps(schema['default']))}</code>"
    return text


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _schema(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(field)}</code>{' <em>required</em>' if field in required else ''}</td>"
        f"<td>{_type(sub)}</td><td>{escape(sub.get('description', ''))}</td></tr>"
        for field, sub in schema.get("properties", {}).items()
    )
    return (
        f'<section class="schema" id="schema-{escape(name)}"><h3>{escape(name)}</h3>'
        f"{_paragraph(schema.get('description'))}"
        f"<table><thead><tr><th>field</th><th>type</th><th>description</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _example_body(schema: dict[str, Any] | None, spec: dict[str, Any]) -> Any:
    """A request body to start from: the required fields, each with its default or a placeholder."""
    if not schema:
        return None
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    out: dict[str, Any] = {}
    for field in schema.get("required", []):
        sub = _nonnull(schema.get("properties", {}).get(field, {}))
        out[field] = sub.get("default", ["gradient boosting"] if sub.get("type") == "array" else "gradient boosting")
    return out


def _curl(path: str, method: str, params: list[dict[str, Any]], example: Any) -> str:
    query = "&".join(f"{p['name']}=…" for p in params if p.get("in") == "query" and p.get("required"))
    line = f"curl -s{' -I' if method == 'head' else ''}"
    if method not in ("get", "head"):
        line += f" -X {method.upper()}"
    if example is not None:
        line += f" -H 'content-type: application/json' -d '{json.dumps(example)}'"
    return f"{line} 'http://127.0.0.1:8000{path}{'?' + query if query else ''}'"
