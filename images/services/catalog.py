"""Read-side queries for the catalog UI and the management API.

Each list is one annotated query plus a constant number of helper queries,
however many rows it shows. Image configs are small JSON blobs read from the
blob store (capped) and cached by digest: content-addressed, so never stale.
"""

import json
import re
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import BigIntegerField, CharField, Count, DateTimeField, Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from images import keyset, manifest_formats, permissions
from images.models import (
    PUSHED_KEY,
    Manifest,
    ManifestChild,
    ManifestLayer,
    NamespaceCount,
    RepositoryManifest,
    Tag,
    V1Image,
    V1RepositoryImage,
)
from storage_backends import blobstore

IMAGE_CONFIG_TYPES = {"application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json"}
MAX_CONFIG_BYTES = 4 * 1024 * 1024
CONFIG_CACHE_SECONDS = 24 * 3600
ATTESTATION_REFERENCE = "vnd.docker.reference.digest"
COSIGN_TAG = re.compile(r"^(?P<algo>sha256|sha512)-(?P<hex>[0-9a-f]{32,128})\.(?P<kind>sig|att|sbom)$")

REPOSITORY_SORTS = {
    "name": ("name",),
    "pushed": (F("last_push_at").desc(nulls_last=True), "name"),
    "size": ("-total_size", "name"),
    "tags": ("-tag_count", "name"),
}
_INT, _TEXT = BigIntegerField(), CharField()
# Keyset orders of the catalog's pages (images/keyset.py), each served by an index of the model:
# ([(alias, expression or None for the field itself, field reading cursor values)], descending).
REPOSITORY_KEYS = {
    "grouped": ([("namespace", None, _TEXT), ("name", None, _TEXT)], False),
    "name": ([("name", None, _TEXT)], False),
    "pushed": ([("pushed_key", PUSHED_KEY, DateTimeField()), ("id", None, _INT)], True),
    "size": ([("total_size", None, _INT), ("id", None, _INT)], True),
    "tags": ([("tag_count", None, _INT), ("id", None, _INT)], True),
}
TAG_SORTS = ("pushed", "name")
DESCRIPTION_LABEL = "org.opencontainers.image.description"


# --- repositories ---------------------------------------------------------------------------


def _sum(qs, group, total):
    return qs.order_by().values(group).annotate(total=total).values("total")


def with_stats(qs):
    """Repositories with tag_count and total_size: columns the database keeps (images/counters.py)."""
    return qs


def repositories(user, sort="name", namespace=None):
    qs = permissions.visible_repositories(user)
    if namespace is not None:  # no namespace holds NUL, and PostgreSQL refuses to compare one
        qs = qs.filter(namespace=namespace) if "\x00" not in namespace else qs.none()
    return with_stats(qs).order_by(*REPOSITORY_SORTS.get(sort, REPOSITORY_SORTS["name"]))


def repository_page(user, sort="name", namespace=None, cursor="", per_page=50):
    """One keyset page of the repositories `user` may see (images/keyset.py); deep pages cost the first's."""
    qs = permissions.visible_repositories(user)
    if namespace is not None:
        qs = qs.filter(namespace=namespace) if "\x00" not in namespace else qs.none()
    order = "grouped" if sort == "name" and namespace is None else sort
    keys, descending = REPOSITORY_KEYS.get(order, REPOSITORY_KEYS["name"])
    return keyset.page(qs, keys, cursor, per_page, descending=descending)


def namespaces(user):
    """[{"namespace", "count"}] over the repositories `user` may see: the kept per-namespace counts
    (images/counters.py) plus the private repositories the user sees (a partial index), not a pass
    over every repository."""
    scope = permissions.visible_scope(user)
    if scope is None:
        qs = permissions.visible_repositories(user).order_by().values("namespace").annotate(count=Count("pk"))
        return list(qs.order_by("namespace"))
    field = {"all": "repositories", "public": "public_repositories"}.get(scope)
    counts = {}
    if field:
        for namespace, count in NamespaceCount.objects.filter(**{f"{field}__gt": 0}).values_list("namespace", field):
            counts[namespace] = count
    if scope != "all":
        private = permissions.visible_repositories(user).filter(is_public=False)
        for row in private.order_by().values("namespace").annotate(count=Count("pk")):
            counts[row["namespace"]] = counts.get(row["namespace"], 0) + row["count"]
    return [{"namespace": ns, "count": counts[ns]} for ns in sorted(counts)]


def search(user, query, page=1, per_page=25):
    """(rows with stats in the search service's order, total) over the repositories `user` may see."""
    from search.services import search_repositories

    visible = with_stats(permissions.visible_repositories(user))
    found = search_repositories(query, page=page, page_size=per_page, repositories=visible)
    return list(found.results), found.total


def search_page(user, query, cursor="", per_page=50):
    """(keyset page of matches in the search service's order, total) over the repositories `user` may see."""
    from search.services import search_page as found

    return found(query, cursor, per_page, repositories=permissions.visible_repositories(user))


def visible_repository(user, name):
    """The repository with stats, or None when missing or hidden from `user`."""
    return with_stats(permissions.visible_repositories(user).filter(name=name)).first()


# --- tags and manifest sizes ----------------------------------------------------------------


def image_size_expression(manifest_ref):
    """Bytes of an image: config + layers, from ManifestLayer (0 for an index)."""
    layers = _sum(ManifestLayer.objects.filter(manifest=manifest_ref), "manifest", Sum("size"))
    return Coalesce(Subquery(layers), 0)


REFERRER_TAG_REGEX = r"^sha(256|512)-[0-9a-f]{32,128}\.(sig|att|sbom)$"
_DIGITS = re.compile(r"(\d+)")


def natural_key(name):
    """Sort key that reads numbers as numbers: build-9 before build-60, v1.10 after v1.9."""
    parts = _DIGITS.split(name.lower())
    return [int(p) if i % 2 else p for i, p in enumerate(parts)], name


def push_ordered(rows, name=1, pushed_at=2):
    """Rows newest first by push time; tags pushed at the same instant in natural order (two stable sorts)."""
    rows.sort(key=lambda row: natural_key(row[name]))
    rows.sort(key=lambda row: row[pushed_at], reverse=True)
    return rows


def _listed_tags(repo, referrer_tags=False, query=""):
    qs = Tag.objects.filter(repository=repo)
    if not referrer_tags:
        qs = qs.exclude(name__regex=REFERRER_TAG_REGEX)
    query = query.replace("\x00", "")  # no name holds NUL, and PostgreSQL refuses to compare one
    return qs.filter(name__icontains=query) if query else qs


def tag_page(repo, sort="pushed", referrer_tags=False, query="", cursor="", per_page=50, digest=""):
    """One keyset page (images/keyset.py) of the tags `tags()` lists, optionally only those naming `digest`.

    "name" reads (sort_key, id) off an index; "pushed" (newest first, ties in natural order) reads the
    rest of the cursor's instant, then what was pushed before it: two index ranges, never the whole list."""
    qs = _listed_tags(repo, referrer_tags, query).select_related("manifest").defer("manifest__payload")
    if digest:
        qs = qs.filter(manifest__digest=digest.replace("\x00", ""))
    qs = qs.annotate(image_size=image_size_expression(OuterRef("manifest_id")))
    if sort == "name":
        keys = [("sort_key", None, CharField()), ("id", None, BigIntegerField())]
        return keyset.page(qs, keys, cursor, per_page)
    return _pushed_page(qs, cursor, per_page)


def tag_count(repo, referrer_tags=False, query="", digest=""):
    """How many tags `tag_page` pages through with this filter, counted up to TAG_COUNT_CAP + 1 (more means
    "more than TAG_COUNT_CAP": 100,000 tags of one image take 16 ms to count)."""
    qs = _listed_tags(repo, referrer_tags, query)
    if digest:
        qs = qs.filter(manifest__digest=digest.replace("\x00", ""))
    return qs[: TAG_COUNT_CAP + 1].count()


_PUSHED_FIELDS = [DateTimeField(), CharField()]


def _pushed_page(qs, cursor, per_page):
    decoded = keyset.decode(cursor, _PUSHED_FIELDS)
    backwards = decoded is not None and decoded[0] == "p"
    if decoded is None:
        rows = list(qs.order_by("-updated_at", "sort_key")[: per_page + 1])
    elif not backwards:
        when, key = decoded[1]
        rows = list(qs.filter(updated_at=when, sort_key__gt=key).order_by("sort_key")[: per_page + 1])
        rows += qs.filter(updated_at__lt=when).order_by("-updated_at", "sort_key")[: per_page + 1 - len(rows)]
    else:
        when, key = decoded[1]
        rows = list(qs.filter(updated_at=when, sort_key__lt=key).order_by("-sort_key")[: per_page + 1])
        rows += qs.filter(updated_at__gt=when).order_by("updated_at", "-sort_key")[: per_page + 1 - len(rows)]
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    page = keyset.KeysetPage(rows, invalid=bool(cursor) and decoded is None)
    page.has_next = True if backwards else more
    page.has_previous = more if backwards else decoded is not None
    if rows:
        page.next_cursor = keyset.encode("n", [rows[-1].updated_at, rows[-1].sort_key])
        page.previous_cursor = keyset.encode("p", [rows[0].updated_at, rows[0].sort_key])
    return page


MAX_SELECTED_TAGS = 1000


def named_tags(repo, names):
    """The repository's tags among `names` (at most MAX_SELECTED_TAGS), with their manifests, natural order."""
    names = [n.replace("\x00", "") for n in names[:MAX_SELECTED_TAGS]]
    rows = Tag.objects.filter(repository=repo, name__in=names).select_related("manifest").defer("manifest__payload")
    return sorted(rows, key=lambda t: natural_key(t.name))


def newest_tag(repo):
    """The tag a visitor most likely wants: the first in the "newest" order (None when there are none).
    Kept on the repository object: a page asks twice (pull command, description)."""
    if not hasattr(repo, "_newest_tag"):
        # sort_key breaks ties in natural order (100 rows sorted here were an arbitrary 100 of a tie on SQLite)
        newest = _listed_tags(repo).order_by("-updated_at", "sort_key").values_list("name", flat=True)
        repo._newest_tag = newest.first()
    return repo._newest_tag


def pull_tag(repo):
    """`latest` when the repository has it, else its newest tag (None when it has no tag)."""
    if Tag.objects.filter(repository=repo, name="latest").exists():
        return "latest"
    return newest_tag(repo)


@dataclass
class Platform:
    os: str = ""
    architecture: str = ""
    variant: str = ""

    @classmethod
    def of(cls, raw):
        raw = raw or {}
        return cls(str(raw.get("os") or ""), str(raw.get("architecture") or ""), str(raw.get("variant") or ""))

    @property
    def unknown(self):
        return self.os in ("", "unknown") and self.architecture in ("", "unknown")

    def __str__(self):
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p) or "unknown"


def referrer_tag_count(repo):
    """Signature/attestation tags (sha256-<hex>.sig …): the name prefixes narrow it to an index range first."""
    prefixes = Q(name__startswith="sha256-") | Q(name__startswith="sha512-")
    return Tag.objects.filter(prefixes, repository=repo, name__regex=REFERRER_TAG_REGEX).count()


def decorate_tags(tag_rows):
    """Give each tag .kind, .size, .platforms (list of str) and .referrer_kind; constant queries."""
    tag_rows = list(tag_rows)
    index_ids = [t.manifest_id for t in tag_rows if t.manifest.media_type in manifest_formats.INDEX_TYPES]
    children = {}
    for child in ManifestChild.objects.filter(parent_id__in=index_ids).order_by("parent_id", "position"):
        children.setdefault(child.parent_id, []).append(child)
    child_digests = {c.digest for group in children.values() for c in group}
    child_sizes = manifest_sizes(child_digests)
    configs = configs_for([t.manifest for t in tag_rows if t.manifest.media_type not in manifest_formats.INDEX_TYPES])
    for tag in tag_rows:
        m = tag.manifest
        match = COSIGN_TAG.match(tag.name)
        tag.referrer_kind = {"sig": "signature", "att": "attestation", "sbom": "sbom"}[match["kind"]] if match else ""
        if m.media_type in manifest_formats.INDEX_TYPES:
            real = [c for c in children.get(m.pk, []) if not Platform.of(c.platform).unknown]
            tag.kind = "index"
            tag.platforms = [str(Platform.of(c.platform)) for c in real]
            tag.size = sum(child_sizes.get(c.digest, 0) for c in real)
        else:
            config = configs.get(m.config_digest)
            tag.kind = "image" if m.config_media_type in IMAGE_CONFIG_TYPES else "artifact"
            tag.platforms = [config["platform"]] if config and config.get("platform") else []
            tag.size = tag.image_size
    return tag_rows


def manifest_sizes(digests):
    """{digest: bytes of config + layers} for image manifests, one query."""
    if not digests:
        return {}
    rows = ManifestLayer.objects.filter(manifest__digest__in=digests).values("manifest__digest")
    return {r["manifest__digest"]: r["total"] for r in rows.annotate(total=Sum("size")).order_by()}


TAGS_SHOWN = 100
TAG_COUNT_CAP = 10_000


@dataclass
class TagNames:
    """The first `TAGS_SHOWN` tags (natural order) naming one image, and how many there are in all.

    Iterating gives the names shown; len() and `|length` give the total (100,000 tags may share an image:
    the page shows the first ones and links to the tag list filtered by the digest for the rest)."""

    names: list
    total: int
    digest: str = ""
    capped: bool = False  # more than TAG_COUNT_CAP tags: `total` says TAG_COUNT_CAP ("at least")

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return self.total

    @property
    def more(self):
        return self.total - len(self.names)

    def __str__(self):
        at_least = "at least " if self.capped else ""
        return ", ".join(self.names) + (f" and {at_least}{self.more} more" if self.more else "")


def image_tags(repo, manifest, limit=TAGS_SHOWN, exact=False):
    """TagNames of `manifest` in the repository: two index reads whatever the number of tags (counted up to
    TAG_COUNT_CAP unless `exact`: 100,000 tags of one image take 16 ms to count)."""
    qs = Tag.objects.filter(repository=repo, manifest=manifest)
    names = list(qs.order_by("sort_key").values_list("name", flat=True)[:limit])
    if len(names) < limit:
        return TagNames(names, len(names), manifest.digest)
    total = qs.count() if exact else qs[: TAG_COUNT_CAP + 1].count()
    capped = total > TAG_COUNT_CAP and not exact
    return TagNames(names, TAG_COUNT_CAP if capped else total, manifest.digest, capped)


def tag_names(repo, manifest_ids):
    """{manifest_id: [tag names]} within the repository."""
    out = {}
    rows = Tag.objects.filter(repository=repo, manifest_id__in=manifest_ids).order_by("name")
    for manifest_id, name in rows.values_list("manifest_id", "name"):
        out.setdefault(manifest_id, []).append(name)
    return out


# --- image configs --------------------------------------------------------------------------


def _config_cache_key(digest):
    return f"berth:config:{digest}"


def configs_for(manifest_rows):
    """{config digest: summary} for image manifests; cached reads, no queries."""
    wanted = {m.config_digest for m in manifest_rows if m.config_digest and m.config_media_type in IMAGE_CONFIG_TYPES}
    if not wanted:
        return {}
    found = cache.get_many([_config_cache_key(d) for d in wanted])
    out = {d: found[_config_cache_key(d)] for d in wanted if _config_cache_key(d) in found}
    for digest in wanted - set(out):
        out[digest] = image_config(digest)
    return out


def image_config(digest):
    """A summary of the image config blob (dict), or None when it is missing or unreadable."""
    key = _config_cache_key(digest)
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        with blobstore.open_blob(digest) as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except (FileNotFoundError, OSError):
        return None
    if len(data) > MAX_CONFIG_BYTES:
        summary = {"error": "the config is larger than the catalog reads"}
    else:
        try:
            summary = summarize_config(json.loads(data))
        except (ValueError, UnicodeDecodeError, TypeError, AttributeError):
            summary = {"error": "the config is not valid JSON"}
    cache.set(key, summary, CONFIG_CACHE_SECONDS)
    return summary


def image_description(repo):
    """The newest image's `org.opencontainers.image.description`: its config label, else the manifest's
    annotation (for an index: its linux/amd64 or first platform image's, else the index's own); "" if none.
    Two queries whatever the kind of image; configs come from the config cache."""
    name = newest_tag(repo)
    if name is None:
        return ""
    # By the tag's manifest id, not a join through tags: 100,000 tags may name the same image.
    tagged_id = Tag.objects.filter(repository=repo, name=name).values("manifest_id")[:1]
    children = ManifestChild.objects.filter(parent_id=Subquery(tagged_id)).values("digest")
    rows = list(
        Manifest.objects.filter(Q(pk=Subquery(tagged_id)) | Q(digest__in=children), repository_links__repository=repo)
        .annotate(is_tagged=Exists(Tag.objects.filter(repository=repo, name=name, manifest=OuterRef("pk"))))
        .defer("payload")
        .distinct()
    )
    configs = configs_for(rows)
    summary = {m.pk: configs.get(m.config_digest) or {} for m in rows}
    platforms = sorted(
        (m for m in rows if not m.is_tagged and summary[m.pk].get("platform")),
        key=lambda m: (summary[m.pk]["platform"] != "linux/amd64", summary[m.pk]["platform"], m.digest),
    )
    for candidate in platforms[:1] + [m for m in rows if m.is_tagged]:
        annotations = candidate.annotations if isinstance(candidate.annotations, dict) else {}
        text = (summary[candidate.pk].get("labels") or {}).get(DESCRIPTION_LABEL) or annotations.get(DESCRIPTION_LABEL)
        if text:
            return str(text)
    return ""


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _as_dict(value):
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def summarize_config(body):
    if not isinstance(body, dict):
        raise TypeError("config must be an object")
    inner = _as_dict(body.get("config"))
    history = [h for h in body.get("history") or [] if isinstance(h, dict)]
    platform = Platform.of(body)
    return {
        "created": str(body.get("created") or ""),
        "author": str(body.get("author") or ""),
        "platform": "" if platform.unknown else str(platform),
        "entrypoint": _as_list(inner.get("Entrypoint")),
        "cmd": _as_list(inner.get("Cmd")),
        "env": _as_list(inner.get("Env")),
        "labels": {k: str(v) for k, v in sorted(_as_dict(inner.get("Labels")).items())},
        "exposed_ports": sorted(_as_dict(inner.get("ExposedPorts"))),
        "volumes": sorted(_as_dict(inner.get("Volumes"))),
        "working_dir": str(inner.get("WorkingDir") or ""),
        "user": str(inner.get("User") or ""),
        "stop_signal": str(inner.get("StopSignal") or ""),
        "history": [
            {
                "created": str(h.get("created") or ""),
                "created_by": str(h.get("created_by") or ""),
                "comment": str(h.get("comment") or ""),
                "empty_layer": bool(h.get("empty_layer")),
            }
            for h in history
        ],
    }


def instruction(created_by):
    """A history entry's command, the way a Dockerfile would spell it."""
    text = created_by.strip()
    if text.startswith("/bin/sh -c #(nop)"):
        return text[len("/bin/sh -c #(nop)") :].strip()
    if text.startswith("/bin/sh -c "):
        return "RUN " + text[len("/bin/sh -c ") :].strip()
    text = text.removesuffix("# buildkit").strip()
    if text.startswith("RUN /bin/sh -c "):
        return "RUN " + text[len("RUN /bin/sh -c ") :].strip()
    return text


def build_history(config, layers):
    """History entries paired with the layer each non-empty step produced."""
    rows, position = [], 0
    for entry in (config or {}).get("history", []):
        layer = None
        if not entry["empty_layer"]:
            layer = layers[position] if position < len(layers) else None
            position += 1
        rows.append({**entry, "instruction": instruction(entry["created_by"]), "layer": layer})
    return rows


# --- manifest details -----------------------------------------------------------------------


@dataclass
class Referrer:
    kind: str
    digest: str
    artifact_type: str
    media_type: str
    size: int
    via: str  # "subject" (OCI referrers), "tag" (cosign tag scheme), "index" (buildx attestation)
    created_at: object = None
    annotations: dict = field(default_factory=dict)


def artifact_kind(artifact_type, hint=""):
    text = f"{artifact_type} {hint}".lower()
    if hint == "sig" or any(w in text for w in ("signature", "cosign.artifact.sig", "notary", "simplesigning")):
        return "signature"
    if hint == "sbom" or any(w in text for w in ("spdx", "cyclonedx", "sbom", "syft")):
        return "sbom"
    if hint == "att" or any(w in text for w in ("in-toto", "intoto", "dsse", "attestation", "provenance")):
        return "attestation"
    return "artifact"


def linked_manifest(repo, digest):
    """The manifest named by `digest` if the repository holds it (payload included), else None."""
    return Manifest.objects.filter(digest=digest, repository_links__repository=repo).first()


@dataclass
class ImageDetail:
    manifest: Manifest
    kind: str  # "image" or "artifact"
    layers: list
    config_layer: object
    config: dict | None
    history: list
    size: int
    tags: list
    indexes: list
    referrers: list
    subject: Manifest | None


@dataclass
class ChildEntry:
    digest: str
    media_type: str
    size: int
    platform: Platform
    present: bool
    image_size: int
    attestation_for: str = ""


@dataclass
class IndexDetail:
    manifest: Manifest
    children: list
    tags: list
    referrers: list
    annotations: dict

    @property
    def platforms(self):
        return [c for c in self.children if not c.attestation_for and not c.platform.unknown]


def image_detail(repo, manifest, extra_referrers=()):
    layers = list(ManifestLayer.objects.filter(manifest=manifest).order_by("position"))
    config_layer = next((layer for layer in layers if layer.position == -1), None)
    layers = [layer for layer in layers if layer.position >= 0]
    config = None
    if manifest.config_media_type in IMAGE_CONFIG_TYPES and manifest.config_digest:
        config = image_config(manifest.config_digest)
    kind = "image" if manifest.config_media_type in IMAGE_CONFIG_TYPES else "artifact"
    indexes = list(
        Manifest.objects.filter(children__digest=manifest.digest, repository_links__repository=repo)
        .defer("payload")
        .distinct()
    )
    subject = None
    if manifest.subject_digest:
        subject = Manifest.objects.filter(digest=manifest.subject_digest, repository_links__repository=repo).first()
    return ImageDetail(
        manifest=manifest,
        kind=kind,
        layers=layers,
        config_layer=config_layer,
        config=config if config and "error" not in config else None,
        history=build_history(config if config and "error" not in config else None, layers),
        size=sum(layer.size for layer in layers) + (config_layer.size if config_layer else 0),
        tags=image_tags(repo, manifest),
        indexes=indexes,
        referrers=referrers(repo, [manifest.digest]) + list(extra_referrers),
        subject=subject,
    )


def index_detail(repo, manifest):
    try:
        parsed = manifest_formats.parse(bytes(manifest.payload), manifest.media_type)
        descriptors, annotations = list(parsed.children), parsed.annotations
    except Exception:  # stored bytes were valid when pushed; stay readable whatever happens
        descriptors, annotations = [], {}
    rows = list(ManifestChild.objects.filter(parent=manifest).order_by("position"))
    digests = {r.digest for r in rows}
    present = set(
        RepositoryManifest.objects.filter(repository=repo, manifest__digest__in=digests).values_list(
            "manifest__digest", flat=True
        )
    )
    sizes = manifest_sizes(digests)
    children = []
    for i, row in enumerate(rows):
        notes = (descriptors[i].annotations or {}) if i < len(descriptors) else {}
        children.append(
            ChildEntry(
                digest=row.digest,
                media_type=row.media_type,
                size=row.size,
                platform=Platform.of(row.platform),
                present=row.digest in present,
                image_size=sizes.get(row.digest, 0),
                attestation_for=str(notes.get(ATTESTATION_REFERENCE) or ""),
            )
        )
    return IndexDetail(
        manifest=manifest,
        children=children,
        tags=image_tags(repo, manifest),
        referrers=referrers(repo, [manifest.digest]),
        annotations=annotations,
    )


def select_child(index, wanted=""):
    """The platform entry the switcher shows: the one asked for, else linux/amd64, else the first."""
    entries = index.platforms
    for entry in entries:
        if wanted and wanted in (str(entry.platform), entry.digest):
            return entry
    for entry in entries:
        if (entry.platform.os, entry.platform.architecture) == ("linux", "amd64"):
            return entry
    return entries[0] if entries else None


def index_attestations(index, child_digest):
    """Buildx attestation manifests the index carries for one of its platform images."""
    return [
        Referrer("attestation", c.digest, "", c.media_type, c.size, "index")
        for c in index.children
        if c.attestation_for == child_digest and c.present
    ]


def referrers(repo, subject_digests):
    """Signatures, SBOMs and attestations pointing at the digests: OCI subject links and cosign tags."""
    out = []
    qs = Manifest.objects.filter(subject_digest__in=subject_digests, repository_links__repository=repo)
    for m in qs.defer("payload").order_by("created_at", "id"):
        out.append(
            Referrer(
                artifact_kind(m.artifact_type),
                m.digest,
                m.artifact_type,
                m.media_type,
                m.size,
                "subject",
                m.created_at,
                m.annotations or {},
            )
        )
    names = [f"{d.replace(':', '-')}.{suffix}" for d in subject_digests for suffix in ("sig", "att", "sbom")]
    for tag in (
        Tag.objects.filter(repository=repo, name__in=names).select_related("manifest").defer("manifest__payload")
    ):
        m = tag.manifest
        kind = artifact_kind(m.artifact_type, tag.name.rsplit(".", 1)[1])
        out.append(Referrer(kind, m.digest, "", m.media_type, m.size, "tag", tag.updated_at))
    return out


def deletion_impact(repo, manifest):
    """What deleting the image by digest takes with it, for the confirmation page."""
    return {
        "tags": image_tags(repo, manifest, exact=True),
        "indexes": list(
            Manifest.objects.filter(children__digest=manifest.digest, repository_links__repository=repo)
            .values_list("digest", flat=True)
            .distinct()
        ),
        "referrers": len(referrers(repo, [manifest.digest])),
    }


# --- v1 images ------------------------------------------------------------------------------


def v1_command(raw_json):
    try:
        body = json.loads(bytes(raw_json))
    except (ValueError, UnicodeDecodeError):
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    cmd = _as_list(_as_dict(body.get("container_config")).get("Cmd"))
    return instruction(" ".join(cmd)), str(body.get("created") or "")


def v1_ancestry(repo, image_id):
    """The chain from the image down to its base (list of dicts), or None if the repo doesn't hold it."""
    if not V1RepositoryImage.objects.filter(repository=repo, image_id=image_id).exists():
        if not Tag.objects.filter(repository=repo, v1_image__image_id=image_id).exists():
            return None
    image = V1Image.objects.filter(image_id=image_id).first()
    if image is None:
        return None
    chain_ids = list(image.ancestry or [image.image_id])
    rows = {i.image_id: i for i in V1Image.objects.filter(image_id__in=chain_ids).select_related("layer")}
    chain = []
    for iid in chain_ids:
        row = rows.get(iid)
        if row is None:
            chain.append({"image_id": iid, "missing": True})
            continue
        command, created = v1_command(row.json)
        size = row.size if row.size is not None else (row.layer.size if row.layer_id else None)
        chain.append(
            {"image_id": iid, "size": size, "command": command, "created": created, "completed": row.completed}
        )
    return chain


def v1_images(repo, limit=200):
    """Image ids of the repository's v1 index with the tags that name them."""
    ids = list(V1RepositoryImage.objects.filter(repository=repo).values_list("image_id", flat=True)[:limit])
    tagged = {}
    rows = Tag.objects.filter(repository=repo, v1_image__isnull=False).values_list("v1_image__image_id", "name")
    for iid, name in rows:
        tagged.setdefault(iid, []).append(name)
        if iid not in ids:
            ids.append(iid)
    return [{"image_id": iid, "tags": tagged.get(iid, [])} for iid in ids]


# --- storage --------------------------------------------------------------------------------


def storage_overview(user, limit=10):
    """Totals from the kept counters (images/counters.py) and the last storage snapshot: no table scan."""
    from images import counters
    from images.models import StorageSnapshot

    kept = counters.totals()
    repos = {
        "count": NamespaceCount.objects.aggregate(n=Coalesce(Sum("repositories"), 0))["n"],
        "tags": kept["tags"],
        "linked_bytes": kept["linked_bytes"],
    }
    snap = StorageSnapshot.objects.filter(pk=1).first()
    referenced_bytes = snap.referenced_bytes if snap else 0
    logical = snap.logical_bytes if snap else 0
    largest = list(repositories(user, sort="size").order_by("-total_size", "-id")[:limit])  # off repo_size_keyset
    return {
        "stored": {"count": kept["blobs"], "bytes": kept["blob_bytes"]},
        "referenced": {"count": snap.referenced_blobs if snap else 0, "bytes": referenced_bytes},
        "orphaned": {"count": snap.orphaned_blobs if snap else 0, "bytes": snap.orphaned_bytes if snap else 0},
        "manifests": {"count": kept["manifests"], "bytes": kept["manifest_bytes"]},
        "repositories": repos["count"],
        "tags": repos["tags"],
        "logical_bytes": logical,
        "saved_bytes": max(0, logical - referenced_bytes),
        "shared_across_repositories": max(0, repos["linked_bytes"] - referenced_bytes) if snap else 0,
        "snapshot_at": snap.computed_at if snap else None,
        "largest": largest,
        "largest_max": max([r.total_size for r in largest] or [0]),
    }
