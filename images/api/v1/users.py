"""/v1/users: `docker login` over v1 (V1_PROTOCOL.md §2).

With REGISTRY AUTH=none (the original's standalone mode) every login and
registration is accepted. Otherwise GET checks the Basic credentials (200 "OK",
401 wrong), and POST registers only when REGISTRY ALLOW_REGISTRATION is on;
when it is off POST answers 401, on which Docker 1.x checks the credentials
with GET, so existing accounts log in and no account's existence is revealed.
"""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from accounts import credentials, registry_auth
from images import v1_format
from images.api.responses import empty
from images.api.v1.base import IndexView, read_small, respond
from images.conf import registry_setting
from images.errors import DataInvalid, RegistryError

USERNAME_TAKEN = "Username or email already exists"


class UsernameTaken(RegistryError):
    code = "USERNAME_TAKEN"
    status = 400
    message = USERNAME_TAKEN


class UsersView(IndexView):
    def get(self, request):
        if self.caller.scheme == "open":
            return respond("OK")
        if self.caller.scheme != "basic":
            raise registry_auth.v1_unauthorized()
        return respond("OK")

    @sensitive_variables("body")
    def post(self, request):
        body = v1_format.loads(read_small(request))
        if body is None:
            raise DataInvalid("Error Decoding JSON")
        if self.caller.scheme == "open":
            return respond("User Created", status=201)
        if not registry_setting("ALLOW_REGISTRATION"):
            raise registry_auth.v1_unauthorized("Registration is closed: log in with an existing account")
        return register(request, body)


@sensitive_variables("body", "password")
def register(request, body):
    if not isinstance(body, dict):
        raise DataInvalid()
    username, password, email = (str(body.get(k) or "") for k in ("username", "password", "email"))
    if not username or not password:
        raise DataInvalid("username and password are required")
    User = get_user_model()
    address = credentials.client_address(request)
    if credentials.throttled(address, username):
        raise credentials.too_many(address, username)
    try:
        with transaction.atomic():
            if User.objects.filter(username__iexact=username).exists():
                raise IntegrityError
            User.objects.create_user(username=username, password=password, email=email)
    except IntegrityError:
        credentials.record_failure(address, username)
        raise UsernameTaken() from None
    return respond("User Created", status=201)


class UserView(IndexView):
    def put(self, request, username):
        return empty(204)
