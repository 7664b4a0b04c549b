"""Sharing over REST on a real frontend: viewers, collaborators, the public link, unsharing."""

from __future__ import annotations

from typing import Any

from tests.frontend.live import Client, LiveFrontend


def name(client: Client) -> str:
    assert client.user is not None
    return str(client.user["username"])


def share(owner: Client, notebook_id: str, user: Client, role: str) -> Any:
    return owner.ok("PUT", f"/api/notebooks/{notebook_id}/shares/{name(user)}", json={"role": role})


def writes(notebook: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """A request of each kind that changes the notebook's content."""
    base = f"/api/notebooks/{notebook['id']}"
    cell = notebook["cells"][0]["id"]
    return [
        ("PATCH", base, {"title": "mine now"}),
        ("POST", f"{base}/cells", {"source": "x"}),
        ("PATCH", f"{base}/cells/{cell}", {"source": "y"}),
        ("POST", f"{base}/cells/{cell}/move", {"position": 0}),
        ("DELETE", f"{base}/cells/{cell}", None),
        ("POST", f"{base}/revisions/1/revert", None),
    ]


def owner_only(notebook: dict[str, Any], someone: str) -> list[tuple[str, str, Any]]:
    base = f"/api/notebooks/{notebook['id']}"
    return [
        ("GET", f"{base}/shares", None),
        ("PUT", f"{base}/shares/{someone}", {"role": "collaborator"}),
        ("DELETE", f"{base}/shares/{someone}", None),
        ("PUT", f"{base}/public", {"enabled": True}),
        ("PUT", f"{base}/location", {"location": "trash"}),
        ("DELETE", base, None),
    ]


def test_a_viewer_reads_but_may_not_write(frontend: LiveFrontend) -> None:
    ada, bob = frontend.user(), frontend.user()
    notebook = ada.new_notebook("Shared read-only")
    assert share(ada, notebook["id"], bob, "viewer") == {"username": name(bob), "role": "viewer"}
    seen = bob.ok("GET", f"/api/notebooks/{notebook['id']}")
    assert (seen["role"], seen["owner"], seen["cells"]) == ("viewer", name(ada), notebook["cells"])
    assert bob.ok("GET", f"/api/notebooks/{notebook['id']}/revisions")["revisions"]
    for method, path, body in writes(notebook) + owner_only(notebook, name(bob)):
        response = bob.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"] == "forbidden"
    assert ada.ok("GET", f"/api/notebooks/{notebook['id']}") == notebook


def test_a_collaborator_edits_but_does_not_own(frontend: LiveFrontend) -> None:
    ada, bob, cy = frontend.user(), frontend.user(), frontend.user()
    notebook = ada.new_notebook("Together")
    share(ada, notebook["id"], bob, "collaborator")
    base = f"/api/notebooks/{notebook['id']}"
    bob.ok("PATCH", base, json={"title": "Together, edited"})
    cell = bob.ok("POST", f"{base}/cells", 201, json={"source": "print('bob was here')"})
    bob.ok("PATCH", f"{base}/cells/{notebook['cells'][0]['id']}", json={"source": "1 + 1"})
    seen = ada.ok("GET", base)
    assert seen["title"] == "Together, edited"
    assert [c["source"] for c in seen["cells"]] == ["1 + 1", "print('bob was here')"]
    assert bob.ok("GET", base)["role"] == "collaborator"
    # The collaborator's work is their own revision, under their name.
    [latest, *_] = ada.ok("GET", f"{base}/revisions")["revisions"]
    assert latest["author"] == name(bob)
    for method, path, body in owner_only(notebook, name(cy)):
        response = bob.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
    bob.ok("DELETE", f"{base}/cells/{cell['id']}", 204)


def test_others_and_anonymous_get_nothing(frontend: LiveFrontend) -> None:
    ada, eve = frontend.user(), frontend.user()
    anonymous = frontend.client()
    notebook = ada.new_notebook("Private")
    base = f"/api/notebooks/{notebook['id']}"
    reads = [("GET", base, None), ("GET", f"{base}/revisions", None)]
    for method, path, body in reads + writes(notebook) + owner_only(notebook, name(ada)):
        response = eve.request(method, path, json=body)
        # As if it did not exist: the notebook's existence is not revealed.
        assert response.status_code == 404, (method, path, response.text)
        response = anonymous.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
    assert eve.ok("GET", "/api/notebooks/shared") == {"notebooks": []}


def test_shared_with_me_lists_role_and_owner(frontend: LiveFrontend) -> None:
    ada, bob = frontend.user(), frontend.user()
    viewed = ada.new_notebook("Viewed")
    edited = ada.new_notebook("Edited")
    ada.new_notebook("Not shared")
    share(ada, viewed["id"], bob, "viewer")
    share(ada, edited["id"], bob, "collaborator")
    listed = bob.ok("GET", "/api/notebooks/shared?sort=title&order=asc")["notebooks"]
    assert [(n["title"], n["role"], n["owner"]) for n in listed] == [
        ("Edited", "collaborator", name(ada)),
        ("Viewed", "viewer", name(ada)),
    ]
    # Shared notebooks are not the user's own.
    assert bob.ok("GET", "/api/notebooks") == {"notebooks": []}
    # A notebook its owner put in the trash drops out of the list.
    ada.ok("PUT", f"/api/notebooks/{edited['id']}/location", json={"location": "trash"})
    listed = bob.ok("GET", "/api/notebooks/shared")["notebooks"]
    assert [n["title"] for n in listed] == ["Viewed"]


def test_the_owner_sees_and_changes_shares(frontend: LiveFrontend) -> None:
    ada, bob, cy = frontend.user(), frontend.user(), frontend.user()
    notebook = ada.new_notebook("Roles")
    base = f"/api/notebooks/{notebook['id']}"
    assert ada.ok("GET", f"{base}/shares") == {"shares": [], "public_link": False}
    share(ada, notebook["id"], bob, "viewer")
    share(ada, notebook["id"], cy, "collaborator")
    # Sharing again changes the role.
    share(ada, notebook["id"], bob, "collaborator")
    shares = ada.ok("GET", f"{base}/shares")["shares"]
    assert sorted((s["username"], s["role"]) for s in shares) == [
        (name(bob), "collaborator"),
        (name(cy), "collaborator"),
    ]
    assert bob.ok("GET", base)["role"] == "collaborator"


def test_bad_shares_are_refused_clearly(frontend: LiveFrontend) -> None:
    ada, bob = frontend.user(), frontend.user()
    notebook = ada.new_notebook("Careful")
    base = f"/api/notebooks/{notebook['id']}/shares"
    for path, body, status, words in [
        (f"{base}/{name(ada)}", {"role": "viewer"}, 400, "you own"),
        (f"{base}/nobody-by-this-name", {"role": "viewer"}, 404, "no user"),
        (f"{base}/{name(bob)}", {"role": "owner"}, 422, "role"),
        (f"{base}/{name(bob)}", {}, 422, "role"),
    ]:
        response = ada.put(path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert words in response.json()["message"]
    response = ada.delete(f"{base}/{name(bob)}")
    assert response.status_code == 404
    assert "not shared" in response.json()["message"]
    assert ada.ok("GET", base)["shares"] == []


def test_unsharing_revokes_access(frontend: LiveFrontend) -> None:
    ada, bob = frontend.user(), frontend.user()
    notebook = ada.new_notebook("Revoked")
    base = f"/api/notebooks/{notebook['id']}"
    share(ada, notebook["id"], bob, "collaborator")
    bob.ok("POST", f"{base}/cells", 201, json={})
    ada.ok("DELETE", f"{base}/shares/{name(bob)}", 204)
    assert bob.get(base).status_code == 404
    assert bob.post(f"{base}/cells", json={}).status_code == 404
    assert bob.ok("GET", "/api/notebooks/shared") == {"notebooks": []}
    assert ada.ok("GET", f"{base}/shares")["shares"] == []


def test_the_public_link(frontend: LiveFrontend) -> None:
    ada, eve = frontend.user(), frontend.user()
    anonymous = frontend.client()
    notebook = ada.new_notebook("Published")
    base = f"/api/notebooks/{notebook['id']}"
    before = ada.ok("GET", base)
    turned = ada.ok("PUT", f"{base}/public", json={"enabled": True})
    assert turned["public_link"] is True
    # Not an edit of the notebook: no revision, same updated time.
    assert turned["updated"] == before["updated"]
    assert len(ada.ok("GET", f"{base}/revisions")["revisions"]) == 1
    assert ada.ok("GET", f"{base}/shares")["public_link"] is True

    for reader in (anonymous, eve):
        seen = reader.ok("GET", base)
        assert (seen["role"], seen["title"], seen["cells"]) == (
            "public",
            "Published",
            notebook["cells"],
        )
        reader.ok("GET", f"{base}/revisions")
    for method, path, body in writes(notebook):
        assert anonymous.request(method, path, json=body).status_code == 401, (method, path)
        assert eve.request(method, path, json=body).status_code == 403, (method, path)
    # A public notebook is still not listed as shared with everyone.
    assert eve.ok("GET", "/api/notebooks/shared") == {"notebooks": []}

    ada.ok("PUT", f"{base}/public", json={"enabled": False})
    assert anonymous.get(base).status_code == 401
    assert eve.get(base).status_code == 404
    assert ada.put(f"{base}/public", json={"enabled": "maybe"}).status_code == 422
