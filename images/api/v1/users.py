"""/v1/users: the standalone index accepts every login and registration."""

from images import v1_format
from images.api.v1.base import IndexView, empty, read_small, respond
from images.errors import DataInvalid


class UsersView(IndexView):
    def get(self, request):
        return respond("OK")

    def post(self, request):
        if v1_format.loads(read_small(request)) is None:
            raise DataInvalid("Error Decoding JSON")
        return respond("User Created", status=201)


class UserView(IndexView):
    def put(self, request, username):
        return empty(204)
