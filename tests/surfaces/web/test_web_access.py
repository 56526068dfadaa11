"""Who may open what: the whole route table refuses anonymous callers, roles, CSRF, sign-in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.surfaces.web.page_fragments import with_fragments

#: Reachable without signing in: the sign-in page and API sign-in/out, static assets, the API docs.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/v1/auth/login"), ("POST", "/v1/auth/logout"), ("GET", "/openapi.json"), ("GET", "/docs"),
          ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"), ("GET", "/healthz"),
          ("GET", "/s/{token}"), ("POST", "/s/{token}")}  # the hosted survey: the signed token is the credential
PUBLIC_PREFIXES = ("/static/",)


def _route_table(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route, through included routers on every FastAPI version."""
    try:
        from fastapi.routing import iter_route_contexts

        routes: Any = iter_route_contexts(app.routes)
    except ImportError:  # FastAPI before lazy router inclusion
        routes = app.routes
    out = []
    for route in routes:
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                out.append((method, route.path))
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_every_route_refuses_anonymous_callers(web_env: Any, anonymous: TestClient) -> None:
    table = _route_table(web_env.app)
    assert ("GET", "/journey-map") in table and ("GET", "/v1/journey/map") in table  # the walk sees both surfaces
    checked, open_doors = 0, []
    for method, path in table:
        if (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        response = anonymous.request(method, _concrete(path), follow_redirects=False)
        checked += 1
        to_login = response.status_code == 303 and response.headers["location"].startswith("/login?next=")
        if not (to_login or response.status_code == 401):
            open_doors.append((method, path, response.status_code, response.text[:120]))
    assert open_doors == []
    assert checked > 40


def test_sign_in_sign_out(anonymous: TestClient, csrf: Any, web_env: Any) -> None:
    password, csrf_from = web_env.password, csrf
    page = anonymous.get("/login")
    assert page.status_code == 200 and "Sign in" in page.text
    token = csrf_from(page.text)
    wrong = anonymous.post("/login", data={"email": "admin@example.com", "password": "not it at all",
                                           "csrf_token": token, "next": "/"})
    assert wrong.status_code == 401 and "wrong" in wrong.text
    assert anonymous.post("/login", data={"email": "admin@example.com", "password": password, "csrf_token": "forged"},
                          follow_redirects=False).status_code == 403
    ok = anonymous.post("/login", data={"email": "admin@example.com", "password": password, "csrf_token": token,
                                        "next": "https://evil.example/steal"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    home = anonymous.get("/")
    assert home.status_code == 200 and "admin@example.com" in home.text
    assert anonymous.post("/logout", data={}, follow_redirects=False).status_code == 403  # no CSRF token
    out = anonymous.post("/logout", data={"csrf_token": csrf_from(home.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert anonymous.get("/", follow_redirects=False).status_code == 303


def test_sign_in_returns_to_the_page_asked_for(anonymous: TestClient, csrf: Any, web_env: Any) -> None:
    password, csrf_from = web_env.password, csrf
    first = anonymous.get("/channels?channel=web", follow_redirects=False)
    assert first.headers["location"] == "/login?next=%2Fchannels%3Fchannel%3Dweb"
    token = csrf_from(anonymous.get(first.headers["location"]).text)
    done = anonymous.post("/login", data={"email": "viewer@example.com", "password": password, "csrf_token": token,
                                          "next": "/channels?channel=web"}, follow_redirects=False)
    assert done.headers["location"] == "/channels?channel=web"


@pytest.mark.parametrize(("role", "path", "status"), [
    ("agent", "/customers", 200), ("agent", "/journey-map", 403), ("agent", "/settings", 403),
    ("viewer", "/journey-map", 200), ("viewer", "/customers", 403), ("viewer", "/customers/C000007", 403),
    ("viewer", "/settings", 403), ("analyst", "/data-health", 200), ("analyst", "/customers", 200),
    ("analyst", "/customers/C000007", 200), ("analyst", "/settings", 403), ("admin", "/settings", 200),
])
def test_roles(client_for: Any, role: str, path: str, status: int) -> None:
    assert client_for(role).get(path).status_code == status


def test_agents_land_on_customer_lookup(anonymous: TestClient, csrf: Any, web_env: Any) -> None:
    password, csrf_from = web_env.password, csrf
    token = csrf_from(anonymous.get("/login").text)
    done = anonymous.post("/login", data={"email": "agent@example.com", "password": password, "csrf_token": token},
                          follow_redirects=False)
    assert done.headers["location"] == "/customers"
    nav = anonymous.get("/customers").text
    assert 'href="/customers"' in nav and 'href="/journey-map"' not in nav


def test_settings_forms_need_admin_and_csrf(client_for: Any, csrf: Any, web_env: Any) -> None:
    password, csrf_from = web_env.password, csrf
    viewer = client_for("viewer")
    assert viewer.post("/settings/users", data={"csrf_token": csrf_from(viewer.get("/").text),
                                                 "email": "x@example.com", "password": password}).status_code == 403
    admin = client_for("admin")
    form = {"email": "new.analyst@example.com", "password": password, "role": "analyst"}
    assert admin.post("/settings/users", data=form).status_code == 403  # no token
    page = admin.get("/settings")
    added = admin.post("/settings/users", data={**form, "csrf_token": csrf_from(page.text)})
    assert added.status_code == 200 and "new.analyst@example.com" in added.text
    created = admin.post("/settings/keys", data={"csrf_token": csrf_from(added.text), "name": "ci key",
                                                 "scope_read": "1"})
    key = re.search(r'<code class="key">(jl_[^<]+)</code>', created.text)
    assert key, created.text[:500]
    assert admin.get("/v1/auth/me", headers={"Authorization": f"Bearer {key.group(1)}"}).json()["scopes"] == ["read"]
    short = admin.post("/settings/users", data={"csrf_token": csrf_from(created.text), "email": "s@example.com",
                                                "password": "short"})
    assert short.status_code == 400 and "too short" in short.text


def test_role_table_matches_the_docs() -> None:
    from journeylens.operations.auth import ROLES, role_allows

    lookup = [r for r in ROLES if role_allows(r, "customer.lookup")]
    assert lookup == ["admin", "analyst", "agent"]  # analysts read customer journeys; viewers do not
    assert [r for r in ROLES if role_allows(r, "read")] == ["admin", "analyst", "viewer"]
    assert [r for r in ROLES if role_allows(r, "admin")] == ["admin"]


def test_viewers_get_no_customer_identifiers(client_for: Any) -> None:
    viewer, analyst = client_for("viewer"), client_for("analyst")
    page = with_fragments(viewer, "/touchpoints/Mobile%20app%20login")
    assert 'href="/customers/' not in page and 'class="comments"' in page
    assert 'href="/customers/' in with_fragments(analyst, "/touchpoints/Mobile%20app%20login")
    url = "/export/sentiment.csv?touchpoint=Mobile+app+login&part=comments"
    viewer_csv, analyst_csv = viewer.get(url), analyst.get(url)
    assert viewer_csv.status_code == analyst_csv.status_code == 200
    assert "customer_id" in analyst_csv.text.splitlines()[0]
    assert "customer_id" not in viewer_csv.text.splitlines()[0] and "comment" in viewer_csv.text.splitlines()[0]
    assert len(viewer_csv.text.splitlines()) == len(analyst_csv.text.splitlines())


def test_healthz_is_public_json(anonymous: TestClient, web_env: Any) -> None:
    response = anonymous.get("/healthz")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body == {"status": "ok", "warehouse": "duckdb", "data_version": web_env.lens.warehouse.data_version()}
    assert "/healthz" in anonymous.get("/openapi.json").json()["paths"]


def test_healthz_reports_a_broken_warehouse(web_env: Any) -> None:
    from journeylens.surfaces.api.app import create_app

    class Broken:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("warehouse down")

    client = TestClient(create_app(web_env.settings, lens=Broken(), web_prewarm=False))
    response = client.get("/healthz")
    client.close()
    assert response.status_code == 503 and response.json()["status"] == "error"


SECURITY = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}


def test_html_responses_carry_security_headers(anonymous: TestClient, client_for: Any) -> None:
    agent = client_for("agent")
    responses = [anonymous.get("/login"), client_for("admin").get("/"), agent.get("/journey-map"),
                 agent.get("/journey-map", headers={"HX-Request": "true"})]
    assert [r.status_code for r in responses] == [200, 200, 403, 403]
    for response in responses:
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
        assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in policy
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert {k: response.headers[k] for k in SECURITY} == SECURITY


def test_pages_have_no_inline_script(client_for: Any) -> None:
    client = client_for("admin")
    for path in ("/", "/journey-map", "/channels", "/touchpoints/Mobile%20app%20login", "/customers/C000007"):
        html = client.get(path).text
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
        assert scripts, path
        for attributes, body in scripts:
            assert 'src="/static/' in attributes or 'type="application/json"' in attributes, (path, attributes)
            assert body.strip() == "" or 'type="application/json"' in attributes, path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers


def test_healthz_on_an_empty_warehouse(web_env: Any) -> None:
    import journeylens
    from journeylens.surfaces.api.app import create_app

    lens = journeylens.open("duckdb://", settings=web_env.settings)
    client = TestClient(create_app(web_env.settings, lens=lens, web_prewarm=False))
    response = client.get("/healthz")
    client.close()
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert response.json()["data_version"] == lens.warehouse.data_version()


def test_api_customer_timeline_follows_the_role_table(client_for: Any) -> None:
    """The JSON API applies the dashboard's rule: viewers read aggregates, not customers."""
    assert client_for("viewer").get("/v1/customers/C000007").status_code == 403
    assert client_for("viewer").get("/v1/journey/transitions").status_code == 200
    assert client_for("analyst").get("/v1/customers/C000007").status_code == 200
