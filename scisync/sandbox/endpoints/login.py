"""``auth/login``, ``auth/ldap``, ``auth/whoami``, ``auth/logout``."""

from __future__ import annotations

from scisync.sandbox.endpoints.base import (
    Endpoints,
)
from scisync.sandbox.http import Request, Response, error


class LoginEndpoints(Endpoints):
    """Logging in and asking who you are."""

    def login(self, req: Request) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        account = self.auth.check_password(body.get("username"), body.get("password"))
        if account is None:
            raise error(401, "Unauthorized", with_error_name=False)
        return Response(201, self.auth.login_response(account))

    def ldap_login(self, req: Request) -> Response:
        """``auth/ldap`` (and legacy ``auth/msad``): accounts marked ``authStrategy: ldap``.

        The backend's LdapAuthGuard answers like the local one: 201 with the same body, or
        401 ``Unauthorized`` (also for a functional account, which LDAP does not know).
        """
        body = req.body if isinstance(req.body, dict) else {}
        account = self.auth.check_password(body.get("username"), body.get("password"), "ldap")
        if account is None:
            raise error(401, "Unauthorized", with_error_name=False)
        return Response(201, self.auth.login_response(account))

    def users_login(self, req: Request) -> Response:
        # Deprecated route: the guard checks the password, the handler returns nothing.
        self.login(req)
        return Response(201, None)

    def whoami(self, req: Request) -> Response:
        account = req.caller.account
        if account is None:
            return Response(200, None)
        return Response(
            200,
            {
                "_id": account.user_id,
                "username": account.username,
                "email": account.email,
                "currentGroups": list(req.caller.groups),
                "authStrategy": account.strategy,
            },
        )

    def logout(self, req: Request) -> Response:
        return Response(201, {"logout": "successful"} if req.caller.account else None)
