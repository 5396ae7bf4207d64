"""Properties of images.references: every name the grammar generates is accepted, every name with a
traversal or illegal character is refused with NameInvalid (never another exception); tags likewise."""

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from images import references
from images.errors import DigestInvalid, NameInvalid, TagInvalid

PROPERTY = settings(max_examples=300, deadline=None, database=None)
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
SEPARATORS = st.sampled_from([".", "_", "__", "-", "--", "---"])


@st.composite
def components(draw):
    """[a-z0-9]+ runs joined by the grammar's separators (at most 4 runs: at most 41 characters)."""
    runs = draw(st.lists(st.text(ALNUM, min_size=1, max_size=8), min_size=1, max_size=4))
    return runs[0] + "".join(draw(SEPARATORS) + run for run in runs[1:])


NAMES = st.lists(components(), min_size=1, max_size=6).map("/".join)
HOSTILE = ["..", "../", "/..", "//", "\\", "\x00", "%2e", "%2f", " ", "\n", ":", "@", "#", "?", "~", "A", "é", "\ud800"]
TAGS = st.from_regex(r"\A[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}\Z")


def outcome(function, value, error):
    try:
        return function(value)
    except error:
        return error


@PROPERTY
@given(NAMES)
def test_generated_names_are_accepted(name):
    assert references.validate_name(name) == name
    canonical = references.canonical_name(name)
    assert canonical == (name if "/" in name else f"library/{name}")
    assert references.validate_name(canonical) == canonical


@PROPERTY
@given(NAMES, st.sampled_from(HOSTILE), st.data())
def test_names_with_traversal_or_illegal_characters_are_refused(name, fragment, data):
    position = data.draw(st.integers(0, len(name)))
    hostile = name[:position] + fragment + name[position:]
    assert outcome(references.validate_name, hostile, NameInvalid) is NameInvalid, hostile


@PROPERTY
@given(NAMES)
def test_leading_trailing_slashes_and_absolute_paths_are_refused(name):
    for hostile in (f"/{name}", f"{name}/", f"/etc/{name}", f"{name}/../../etc"):
        assert outcome(references.validate_name, hostile, NameInvalid) is NameInvalid


@PROPERTY
@given(st.one_of(st.text(), st.text("abc./_-\\%\x00"), st.binary(), st.integers(), st.none()))
def test_any_value_is_a_valid_name_or_name_invalid(value):
    result = outcome(references.validate_name, value, NameInvalid)
    if result is not NameInvalid:
        assert result == value and len(value) <= 255
        assert ".." not in value and "//" not in value and not value.startswith("/") and not value.endswith("/")
        assert set(value) <= set(ALNUM + "._-/")


@PROPERTY
@given(TAGS)
def test_generated_tags_are_accepted_and_are_tag_references(tag):
    assert references.validate_tag(tag) == tag
    assert references.split_reference(tag) == ("tag", tag)


@PROPERTY
@given(TAGS, st.sampled_from(["/", "\\", "\x00", ":", "@", " ", "%", "é"]), st.data())
def test_tags_with_illegal_characters_are_refused(tag, fragment, data):
    position = data.draw(st.integers(0, len(tag)))
    hostile = tag[:position] + fragment + tag[position:]
    assume(fragment != ":")  # with a colon it is read as a digest (tested below)
    assert outcome(references.validate_tag, hostile, TagInvalid) is TagInvalid


@PROPERTY
@given(st.one_of(st.text(), st.text("sha256:abcdef0123456789/.\\%\x00")))
def test_any_reference_is_a_tag_a_digest_or_a_domain_error(value):
    try:
        kind, parsed = references.split_reference(value)
    except (TagInvalid, DigestInvalid):
        return
    assert parsed == value and kind in ("tag", "digest")
    assert "/" not in value and "\x00" not in value and "\\" not in value
