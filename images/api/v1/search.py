"""GET /v1/search?q=&n=&page= (what `docker search HOST/term` calls, to this day)."""

from images.api.v1.base import V1View, respond
from search import services


def _result(repo):
    return {
        "name": repo.name,
        "description": repo.description or None,
        "star_count": 0,
        "is_official": False,
        "is_trusted": False,
        "is_automated": False,
    }


class SearchView(V1View):
    def get(self, request):
        params = request.query_params
        page, page_size = services.page_params(params.get("n"), params.get("page"))
        visible = None if self.caller.scheme == "open" else self.caller.visible()
        found = services.search_repositories(params.get("q", ""), page, page_size, repositories=visible)
        return respond(
            {
                "query": found.query,
                "num_results": found.total,
                "num_pages": found.num_pages,
                "page": found.page,
                "page_size": found.page_size,
                "results": [_result(repo) for repo in found.results],
            }
        )
