"""/docs works offline (issue 21): Swagger UI's assets come from the swagger-ui-bundle package, not a CDN."""

from __future__ import annotations

import re

from test_records_api import NURSE, api  # noqa: F401 (the fixture)


def test_docs_page_loads_only_this_servers_assets(api):
    client, _, _ = api
    page = client.get("/docs", headers=NURSE)
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]|url: ?['"]([^'"]+)['"]""", page.text)
    found = [u for pair in urls for u in pair if u]
    assert found and all(u.startswith("/") for u in found), found
    for url in found:
        if url.startswith("/docs/assets/"):
            r = client.get(url)
            assert r.status_code == 200 and len(r.content) > 500, url
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/docs/assets/..%2F..%2F__init__.py").status_code == 404
