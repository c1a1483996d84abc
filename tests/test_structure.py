"""The architecture's rules, held against scisync/ and against trees that break them.

Each rule is run twice: on the package (it must hold) and on a small tree written to break
it (it must report exactly that), so a rule that silently stopped checking would fail here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.structure import (
    import_cycles,
    imports_of_test_modules,
    long_functions,
    planner_io_imports,
    printing_outside_interface,
    stage_inversions,
    top_level_modules,
)

TESTS = Path(__file__).parent
PACKAGE = TESTS.parent / "scisync"
REPO = PACKAGE.parent

# Functions allowed past the length limit, each a data literal (a table, not logic).
DATA_LITERALS = {
    "manifest/schema.py:build_schema": "the manifest JSON Schema as one dict literal",
    "manifest/schema.py:_dataset_properties": "the dataset fields' schema as one dict literal",
    "sandbox/server.py:build_routes": "the sandbox's route table as one list literal",
}


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "scisync"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# -- the package holds every rule ---------------------------------------------------


def test_no_import_cycles() -> None:
    assert import_cycles(PACKAGE) == []


def test_stages_import_only_earlier_stages() -> None:
    assert stage_inversions(PACKAGE) == []


def test_only_cli_and_render_print_or_import_click() -> None:
    assert printing_outside_interface(PACKAGE) == []


def test_the_planner_imports_no_io() -> None:
    assert planner_io_imports(PACKAGE) == []


def test_importing_the_planner_loads_no_io_module() -> None:
    """The static rule above, confirmed at run time: what importing make_plan loads."""
    # shutil, socket and tempfile are loaded by the standard library itself
    # (importlib.metadata); the static rule above keeps plan/ from importing them.
    code = (
        "import sys, scisync.plan.planner\n"
        "from tests.structure import IO_MODULES\n"
        "print(sorted(m for m in sys.modules for b in IO_MODULES"
        " if (m == b or m.startswith(b + '.'))"
        " and b not in ('shutil', 'socket', 'tempfile')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]"


def test_no_function_is_longer_than_the_limit_but_data_literals() -> None:
    found = long_functions(PACKAGE)
    assert {name: n for name, n in found.items() if name not in DATA_LITERALS} == {}
    # The exemptions stay honest: each still exists and is still long.
    assert sorted(DATA_LITERALS) == sorted(name for name in found if name in DATA_LITERALS)


def test_the_package_top_level_holds_only_its_faces() -> None:
    assert top_level_modules(PACKAGE) == ["__init__.py", "__main__.py", "api.py", "errors.py"]


def test_tests_mirror_the_package() -> None:
    """Every stage package has a test folder of the same name."""
    stages = sorted(
        p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()
    )
    missing = [name for name in stages if not (REPO / "tests" / name.lstrip("_")).is_dir()]
    assert missing == []


def test_no_module_imports_a_conftest_or_a_test_module_by_name() -> None:
    """Helpers live in uniquely named modules, so any set of test folders collects."""
    assert imports_of_test_modules(TESTS) == []


def test_one_copy_of_each_json_schema() -> None:
    """schemas/ at the top is a set of links into the package, which the wheel ships."""
    top = sorted((REPO / "schemas").glob("*.json"))
    assert [p.name for p in top] == ["lock.schema.json", "manifest.schema.json", "plan.schema.json"]
    for path in top:
        assert path.is_symlink(), f"{path} must be a link, not a second copy"
        assert path.resolve() == (PACKAGE / "schemas" / path.name).resolve()


# -- each rule catches a tree that breaks it -----------------------------------------


def test_a_cycle_is_reported(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "cli/__init__.py": "",
            "cli/main.py": "from scisync.cli.other import x\n",
            "cli/other.py": "def f():\n    from scisync.cli.main import y\n",
        },
    )
    assert import_cycles(root) == [["scisync.cli.main", "scisync.cli.other"]]


def test_an_import_against_the_flow_is_reported(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "observe/__init__.py": "",
            "observe/observe.py": "from scisync.apply.ports import CatalogReader\n",
            "apply/__init__.py": "",
            "apply/ports.py": "from scisync.observe.observe import x\n",
        },
    )
    assert stage_inversions(root) == [
        "observe/observe.py:1: observe (stage 3) imports scisync.apply.ports.CatalogReader "
        "(stage 6)",
    ]


def test_printing_and_click_outside_the_interface_are_reported(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "plan/planner.py": "import click\nprint('hello')\n",
            "render/text.py": "print('fine here')\n",
            "cli/main.py": "import click\n",
        },
    )
    assert printing_outside_interface(root) == [
        "plan/planner.py:1: imports click",
        "plan/planner.py:2: prints: print('hello')",
    ]


@pytest.mark.parametrize("banned", ["requests", "scisync.storage.sftp", "subprocess"])
def test_io_in_the_planner_is_reported(tmp_path: Path, banned: str) -> None:
    root = _tree(
        tmp_path,
        {"plan/datasets.py": f"import {banned}\n", "plan/codec.py": "import json, tempfile\n"},
    )
    assert planner_io_imports(root) == [f"plan/datasets.py:1: imports {banned}"]


def test_a_long_function_is_reported(tmp_path: Path) -> None:
    body = "".join(f"        x{i} = {i}\n" for i in range(60))
    root = _tree(
        tmp_path, {"m.py": f"class C:\n    def f(self):\n{body}\n    def g(self):\n        pass\n"}
    )
    assert long_functions(root) == {"m.py:C.f": 61}


def test_importing_a_conftest_or_a_test_module_is_reported(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "scicat/test_a.py": "from conftest import FaultServer\n",
            "apply/test_b.py": "import json\n\nfrom .conftest import Setup\n",
            "storage/test_c.py": "def f():\n    import conftest\n",
            "lock/test_d.py": "from . import conftest\n",
            "e2e/test_e.py": "from tests.e2e.workspace import Workspace\n",
            "scicat/test_f.py": "from tests.scicat.test_other import body\n",
            "adopt/test_g.py": "from .test_import import RAW\nfrom . import helpers\n",
            "util/test_h.py": "import tests.util.test_columns as columns\n",
        },
    )
    assert sorted(imports_of_test_modules(root)) == [
        "adopt/test_g.py:1: imports .test_import",
        "apply/test_b.py:3: imports .conftest",
        "lock/test_d.py:1: imports .conftest",
        "scicat/test_a.py:1: imports conftest",
        "scicat/test_f.py:1: imports tests.scicat.test_other",
        "storage/test_c.py:2: imports conftest",
        "util/test_h.py:1: imports tests.util.test_columns",
    ]
