"""/v1/repositories/<repo>/...: the standalone index, tags, metadata, properties, delete."""

from images import v1_format
from images.api.responses import empty
from images.api.v1.base import (
    IndexView,
    V1View,
    index_headers,
    read_small,
    require_standalone,
    respond,
    user_agent,
)
from images.permissions import DELETE, PULL, PUSH
from images.services import v1_repositories


class RepositoryView(V1View):
    """PUT allocates the repository and records the images about to be pushed; DELETE removes it."""

    def put(self, request, repository):
        require_standalone()
        self.require(repository, PUSH)
        repo = v1_repositories.put_index(repository, read_small(request), self.unreadable_images)
        return respond("", headers=index_headers(request, repo.name, "write", self.caller))

    def delete(self, request, repository):
        self.require(repository, DELETE)
        v1_repositories.delete_repository(repository)
        return respond()


class IndexImagesView(IndexView):
    def get(self, request, repository):
        self.require(repository, PULL)
        repo, images = v1_repositories.index(repository)
        return respond(images, headers=index_headers(request, repo.name, "read", self.caller))

    def put(self, request, repository):
        self.require(repository, PUSH)
        repo = v1_repositories.put_index(repository, read_small(request), self.unreadable_images)
        return empty(204, index_headers(request, repo.name, "write", self.caller))

    def delete(self, request, repository):
        name = self.require(repository, DELETE) or v1_repositories.canonical_name(repository)
        return empty(204, index_headers(request, name, "delete", self.caller))


class AuthView(IndexView):
    def put(self, request, repository):
        self.require(repository, PUSH)
        return respond("OK")


class TagsView(V1View):
    def get(self, request, repository):
        self.require(repository, PULL)
        return respond(v1_repositories.list_tags(repository))

    def delete(self, request, repository):
        self.require(repository, DELETE)
        v1_repositories.delete_repository(repository)
        return respond()


class TagView(V1View):
    def get(self, request, repository, tag):
        self.require(repository, PULL)
        return respond(v1_repositories.get_tag(repository, tag))

    def put(self, request, repository, tag):
        self.require(repository, PUSH)
        v1_format.check_tag(tag)
        v1_repositories.put_tag(repository, tag, read_small(request), user_agent(request), self.unreadable_images)
        return respond()

    def delete(self, request, repository, tag):
        self.require(repository, DELETE)
        v1_repositories.delete_tag(repository, tag)
        return respond()


class TagJsonView(V1View):
    def get(self, request, repository, tag):
        self.require(repository, PULL)
        return respond(v1_repositories.tag_metadata(repository, tag))


class RepositoryJsonView(V1View):
    """Deprecated: the metadata of the `latest` tag."""

    def get(self, request, repository):
        self.require(repository, PULL)
        return respond(v1_repositories.tag_metadata(repository, "latest"))


class PropertiesView(V1View):
    """Visibility (§4.7): anyone who may pull reads it; changing it needs the admin level (as delete)."""

    def get(self, request, repository):
        self.require(repository, PULL)
        return respond(v1_repositories.properties(repository))

    def put(self, request, repository):
        self.require(repository, DELETE)
        v1_repositories.set_properties(repository, read_small(request))
        return respond()
