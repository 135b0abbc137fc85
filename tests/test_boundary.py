"""The observability boundary: platform code never imports the world's latent state."""
from __future__ import annotations

import ast
from pathlib import Path

import feedsim

PACKAGE = Path(feedsim.__file__).parent
PLATFORM = ["retrieval", "ranking", "rerank", "logs", "policy"]
ALLOWED = {"feedsim.world.observable", "feedsim.world.markets"}
LATENT = ("feedsim.world", "feedsim.behavior")
DECLARED_EXCEPTIONS = {"policy/oracle.py"}          # the oracle reads the truth by design


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_platform_modules_import_only_the_observable_view():
    offenders = []
    for pkg in PLATFORM:
        for path in (PACKAGE / pkg).rglob("*.py"):
            rel = str(path.relative_to(PACKAGE))
            if rel in DECLARED_EXCEPTIONS:
                continue
            for name in imported_modules(path):
                latent = name.startswith(LATENT) and name not in {"feedsim.world", "feedsim.behavior"}
                if name in ("feedsim.world", "feedsim.behavior") or latent:
                    if not any(name == a or name.startswith(a + ".") for a in ALLOWED):
                        offenders.append(f"{rel}: {name}")
    assert not offenders, offenders


def test_the_check_catches_a_latent_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from feedsim.world.users import Users\nimport feedsim.behavior\n")
    names = imported_modules(bad)
    assert "feedsim.world.users" in names and "feedsim.behavior" in names
