"""Who may open which page, and the sign-in / sign-out pages.

Pages need a signed-in user whose role holds a permission (:mod:`journeylens.operations.auth`):
``read`` for analyses (admin, analyst, viewer), ``customer.lookup`` for one customer's journey
(admin, agent), ``admin`` for settings. Anonymous visitors are sent to ``/login``. Every form
POST carries the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from journeylens.errors import PermissionDeniedError
from journeylens.operations import signin
from journeylens.operations.auth import PERMISSIONS, role_allows
from journeylens.operations.models import User
from journeylens.surfaces.api.deps import (
    AppDbDep,
    CurrentUserDep,
    SettingsDep,
    client_address,
    sign_in,
    sign_out,
    verify_csrf,
)
from journeylens.surfaces.web.rendering import LoginRequired, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def page_user(permission: str) -> Callable[..., Awaitable[User]]:
    """A dependency admitting a signed-in user whose role holds ``permission``."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def dependency(user: CurrentUserDep) -> User:
        if user is None:
            raise LoginRequired
        if not role_allows(user.role, permission):
            raise PermissionDeniedError(f"Your role ({user.role}) cannot open this page.")
        return user

    return dependency


async def signed_in(user: CurrentUserDep) -> User:
    """Any signed-in user."""
    if user is None:
        raise LoginRequired
    return user


SignedInDep = Annotated[User, Depends(signed_in)]
ReaderDep = Annotated[User, Depends(page_user("read"))]
AgentDep = Annotated[User, Depends(page_user("customer.lookup"))]
AdminDep = Annotated[User, Depends(page_user("admin"))]


async def checked_form(request: Request) -> dict[str, str]:
    """The submitted form as text fields, after checking its CSRF token."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    verify_csrf(request, fields.get("csrf_token"))
    return fields


FormDep = Annotated[dict[str, str], Depends(checked_form)]


def safe_next(target: str | None) -> str:
    """Only a local path may follow sign-in (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def home_for(user: User) -> str:
    return "/" if role_allows(user.role, "read") else "/customers"


@router.get("/login")
async def login_page(request: Request, user: CurrentUserDep, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next) if next else home_for(user), status_code=303)
    return render(request, "login.html", {"title": "Sign in", "next": safe_next(next), "error": None})


@router.post("/login")
async def login_submit(request: Request, db: AppDbDep, settings: SettingsDep,
                       email: Annotated[str, Form(max_length=254)], password: Annotated[str, Form(max_length=1000)],
                       csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    verify_csrf(request, csrf_token)
    context = {"title": "Sign in", "next": safe_next(next), "email": email}
    try:
        user = await run_in_threadpool(signin.sign_in, db, email, password, address=client_address(request))
    except signin.TooManyAttemptsError as exc:
        response = render(request, "login.html", {**context, "error": exc.message}, status_code=429)
        response.headers.update(exc.headers)
        return response
    if user is None:
        return render(request, "login.html", {**context, "error": "The email or password is wrong, or the "
                                                                  "account is deactivated."}, status_code=401)
    target = safe_next(next)
    if not role_allows(user.role, "read") and not target.startswith("/customers"):
        target = home_for(user)
    response = RedirectResponse(target, status_code=303)
    await sign_in(request, response, user)
    return response


@router.post("/logout")
async def logout(request: Request, _: SignedInDep, form: FormDep) -> Response:
    response = RedirectResponse("/login", status_code=303)
    await sign_out(request, response)
    return response
