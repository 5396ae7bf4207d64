"""The account a registry token's claims name, read with SQL compiled once per process.

Every call with a bearer token resolves its subject again (a user disabled or an access token revoked since
the token was issued loses access at once), so this runs on every pull. Compiling the ORM query each time
cost more than the rest of an authorised manifest GET; images/services/prepared.py compiles it once (and
prepares it on PostgreSQL). Whole rows are read, so nothing loads later behind the caller's back.
"""

from django.contrib.auth import get_user_model
from django.db.models import Value

from accounts.models import AccessToken, Organisation
from images.services import prepared


def _user_query(name):
    User = get_user_model()
    return User._default_manager.filter(**{User.USERNAME_FIELD: name}).values_list(*prepared.columns(User))[:1]


def _token_query(column):
    def build(value):
        joined = [f"user__{name}" for name in prepared.columns(get_user_model())]
        joined += [f"organisation__{name}" for name in prepared.columns(Organisation)]
        fields = (*prepared.columns(AccessToken), *joined)
        return AccessToken.objects.filter(**{column: Value(value)}).values_list(*fields)[:1]

    return build


_USER = prepared.Prepared(_user_query, "name")
_TOKEN_BY_ID = prepared.Prepared(_token_query("pk"), "value")
_TOKEN_BY_KEY = prepared.Prepared(_token_query("key_id"), "value")


def user_named(name):
    """The user with this login name, or None."""
    found = _USER.instances(prepared.columns(get_user_model()), name=name)
    return found[0] if found else None


def access_token(token_id):
    """The AccessToken with this id, its user and organisation read with it, or None."""
    return _token(_TOKEN_BY_ID.rows(value=token_id))


def access_token_keyed(key_id):
    """The AccessToken whose secret starts `berth_<key_id>_`, read the same way, or None."""
    return _token(_TOKEN_BY_KEY.rows(value=key_id))


def _token(rows):
    if not rows:
        return None
    User = get_user_model()
    token_end = len(prepared.columns(AccessToken))
    user_end = token_end + len(prepared.columns(User))
    row, db = rows[0], AccessToken.objects.db
    token = AccessToken.from_db(db, prepared.columns(AccessToken), row[:token_end])
    token.user = User.from_db(db, prepared.columns(User), row[token_end:user_end])
    if token.organisation_id is not None:
        token.organisation = Organisation.from_db(db, prepared.columns(Organisation), row[user_end:])
    return token
