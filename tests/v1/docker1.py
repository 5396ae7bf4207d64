"""A client speaking the v1 protocol exactly as Docker 1.4 does (V1_PROTOCOL.md §7).

Used by the v1 API tests and by the end-to-end tests against a real gunicorn.
"""

import json

from tests.v1.conftest import chunks, sha256


class Docker1:
    """The calls Docker 1.4 makes, reading each answer the way it does (graph/push.go, pull.go, session.go)."""

    def __init__(self, http, base_url):
        self.http = http
        self.index = base_url
        self.registry = None  # from X-Docker-Endpoints
        self.token = None

    def _auth(self):
        return {"Authorization": f"Token {self.token}"} if self.token else {}

    def _take_index_headers(self, response):
        token, endpoints = response.headers.get("X-Docker-Token"), response.headers.get("X-Docker-Endpoints")
        assert token, "Index response didn't contain an access token"
        assert endpoints, "Index response didn't contain any endpoints"
        assert token.startswith("Token signature=") and ",access=" in token
        assert response.headers["WWW-Authenticate"] == token
        self.token = token
        self.registry = f"http://{endpoints.split(',')[0].strip()}"

    def ping(self):
        response = self.http.get(f"{self.index}/v1/_ping")
        assert response.status_code == 200
        assert response.headers["X-Docker-Registry-Standalone"].lower() in ("true", "1")
        assert response.json() == {}

    def push(self, repo, images, tag="latest"):
        self.ping()
        entries = [{"id": i.id} for i in images[:-1]] + [{"id": images[-1].id, "Tag": tag}]
        response = self.http.put(
            f"{self.index}/v1/repositories/{repo}/",
            data=json.dumps(entries),
            headers={"Content-Type": "application/json", "X-Docker-Token": "true", "Authorization": "Basic Og=="},
        )
        assert response.status_code in (200, 201), response.text
        assert response.json() == ""
        self._take_index_headers(response)
        assert 'repository="' in self.token and ",access=write" in self.token
        pushed = []
        for image in images:
            url = f"{self.registry}/v1/images/{image.id}"
            if self.http.get(f"{url}/json", headers=self._auth()).status_code == 200:
                continue  # "Image already pushed, skipping"
            response = self.http.put(
                f"{url}/json", data=image.json, headers={"Content-Type": "application/json", **self._auth()}
            )
            if response.status_code == 409 and response.json() == {"error": "Image already exists"}:
                continue
            assert response.status_code == 200, response.text
            assert response.json() is True
            response = self.http.put(
                f"{url}/layer",
                data=chunks(image.layer),
                headers={"Content-Type": "application/octet-stream", **self._auth()},
            )
            assert response.request.headers.get("Transfer-Encoding") == "chunked"
            assert "Content-Length" not in response.request.headers
            assert response.status_code == 200, response.text
            response = self.http.put(
                f"{url}/checksum",
                headers={
                    "X-Docker-Checksum": image.tarsum,
                    "X-Docker-Checksum-Payload": image.payload_checksum,
                    **self._auth(),
                },
            )
            assert response.status_code == 200, response.text
            pushed.append(image.id)
        response = self.http.put(
            f"{self.registry}/v1/repositories/{repo}/tags/{tag}",
            data=json.dumps(images[-1].id),
            headers={"Content-Type": "application/json", **self._auth()},
        )
        assert response.status_code in (200, 201), response.text
        response = self.http.put(
            f"{self.index}/v1/repositories/{repo}/images",
            data="[]",
            headers={"Content-Type": "application/json", "X-Docker-Token": "true", "X-Docker-Endpoints": "x"},
        )
        assert response.status_code == 204
        assert response.content == b""
        self._take_index_headers(response)
        return pushed

    def pull(self, repo, tag="latest"):
        """Returns {image id: (json bytes, layer bytes, X-Docker-Size)} from base to top."""
        self.ping()
        response = self.http.get(f"{self.index}/v1/repositories/{repo}/images", headers={"X-Docker-Token": "true"})
        assert response.status_code == 200, response.text
        self._take_index_headers(response)
        assert ",access=read" in self.token
        listed = {entry["id"] for entry in response.json()}
        tags_repo = repo if "/" in repo else f"library/{repo}"
        response = self.http.get(f"{self.registry}/v1/repositories/{tags_repo}/tags", headers=self._auth())
        assert response.status_code == 200
        top = response.json()[tag]
        assert top in listed
        response = self.http.get(f"{self.registry}/v1/images/{top}/ancestry", headers=self._auth())
        assert response.status_code == 200
        ancestry = response.json()
        pulled = {}
        for image_id in reversed(ancestry):
            response = self.http.get(f"{self.registry}/v1/images/{image_id}/json", headers=self._auth())
            assert response.status_code == 200
            size = int(response.headers["X-Docker-Size"])
            checksum = response.headers["X-Docker-Checksum-Payload"]
            image_json = response.content
            response = self.http.get(f"{self.registry}/v1/images/{image_id}/layer", headers=self._auth())
            assert response.status_code == 200
            assert response.headers["Accept-Ranges"] == "bytes"
            assert response.headers["Content-Type"] == "application/octet-stream"
            assert int(response.headers["Content-Length"]) == size == len(response.content)
            assert checksum == sha256(image_json + b"\n" + response.content)
            pulled[image_id] = (image_json, response.content, size)
        return ancestry, pulled
