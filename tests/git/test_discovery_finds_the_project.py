"""Discovery: which compose project (or buildable project) a repository's files hold, and the one-service
analysis of a project without compose."""

from __future__ import annotations

from app.compose.discovery import LANGUAGES, SourceProject, discover, exposed_ports, project_analysis


def test_one_compose_project_anywhere_is_found_with_its_override() -> None:
    found = discover(
        [
            "README.md",
            "deploy/prod/docker-compose.yml",
            "deploy/prod/docker-compose.override.yml",
            "deploy/prod/compose.override.yaml",
            "node_modules/pkg/compose.yaml",
            "vendor/x/docker-compose.yml",
            ".git/compose.yaml",
        ]
    )
    assert found.compose is not None
    assert found.compose.folder == "deploy/prod"
    assert found.compose.files == ("deploy/prod/docker-compose.yml", "deploy/prod/compose.override.yaml")


def test_compose_yaml_wins_in_a_folder() -> None:
    found = discover(["docker-compose.yml", "compose.yaml", "compose.yml"])
    assert found.compose is not None
    assert found.compose.files == ("compose.yaml",)


def test_several_compose_folders_are_candidates() -> None:
    found = discover(["compose.yaml", "examples/a/compose.yml", "examples/b/docker-compose.yaml"])
    assert found.compose is None
    assert found.candidates == (".", "examples/a", "examples/b")
    assert found.compose_candidates


def test_a_chosen_folder_or_file_is_used() -> None:
    files = ["compose.yaml", "examples/a/compose.yml", "examples/a/compose.override.yml", "ops/stack.yaml"]
    assert discover(files, "examples/a").compose is not None
    assert discover(files, "examples/a").compose.files == (
        "examples/a/compose.yml",
        "examples/a/compose.override.yml",
    )  # type: ignore[union-attr]
    assert discover(files, "").compose.files == ("compose.yaml",)  # type: ignore[union-attr]
    assert discover(files, "ops/stack.yaml").compose.files == ("ops/stack.yaml",)  # type: ignore[union-attr]
    assert discover(files, "nowhere").problem == "nowhere was not found in the repository"
    assert "no compose file" in (discover([*files, "docs/x.md"], "docs").problem or "")
    assert "neither a compose file" in (discover([*files, "docs/x.md"], "docs/x.md").problem or "")


def test_without_compose_a_dockerfile_or_a_language_project() -> None:
    docker = discover(["Dockerfile", "package.json", "src/index.js"])
    assert docker.project == SourceProject("", "Dockerfile", LANGUAGES[0])
    node = discover(["package.json"])
    assert (
        node.project is not None and node.project.dockerfile is None and node.project.language == LANGUAGES[0]
    )
    nested = discover(["services/api/go.mod", "docs/readme.md"])
    assert nested.project is not None and nested.project.folder == "services/api"
    several = discover(["web/package.json", "api/Dockerfile"])
    assert several.candidates == ("api", "web")
    assert not several.compose_candidates
    nothing = discover(["README.md", "docs/index.md"])
    assert (
        nothing.problem is not None and "no compose file, Dockerfile or language project" in nothing.problem
    )


def test_the_final_stage_exposes_the_ports() -> None:
    dockerfile = """# build
FROM node:20 AS build
EXPOSE 9999
FROM nginx:1.27
EXPOSE 80/tcp \\
  443 ${EXTRA:-8443}/udp
# EXPOSE 1
expose 80
"""
    assert exposed_ports(dockerfile) == [80, 443, 8443]
    assert exposed_ports("FROM x\nEXPOSE $PORT 70000\n") == []


def test_a_dockerfile_project_is_one_service_with_its_build() -> None:
    analysis = project_analysis(
        SourceProject("apps/web", "apps/web/Dockerfile", None),
        dockerfile_text="FROM nginx\nEXPOSE 8080\n",
        name="Web App",
        namespace="shop",
        repo_url="https://git.example.com/acme/shop.git",
        ref="v1",
    )
    assert analysis.errors == ()
    assert analysis.services == ("web-app",)
    nodes = {node.id: node for node in analysis.canvas.nodes}
    deployment = nodes["web-app"]
    assert deployment.kind == "Deployment"
    assert deployment.data["image"] == "web-app:latest"
    assert deployment.data["port"] == 8080
    assert deployment.data["namespace"] == "shop"
    assert deployment.data["build"] == {
        "context": "apps/web",
        "dockerfile": "Dockerfile",
        "target": None,
        "args": {},
        "useNixpacks": False,
        "repoUrl": "https://git.example.com/acme/shop.git",
        "ref": "v1",
    }
    service = nodes["web-app-svc"]
    assert (service.kind, service.data["port"], service.data["targetPort"]) == ("Service", 8080, 8080)
    assert [(e.source, e.target) for e in analysis.canvas.edges] == [("web-app-svc", "web-app")]


def test_a_language_project_is_built_with_nixpacks() -> None:
    analysis = project_analysis(
        SourceProject("", None, LANGUAGES[1]),
        dockerfile_text=None,
        name="api",
        namespace=None,
        repo_url="https://git.example.com/acme/api.git",
        ref=None,
    )
    (deployment,) = analysis.canvas.nodes
    assert deployment.data["build"]["useNixpacks"] is True
    assert deployment.data["build"]["context"] == ""
    assert deployment.data["port"] == 8000
    assert [w.code for w in analysis.warnings] == ["PORT_ASSUMED", "IMAGE_TO_BUILD"]
