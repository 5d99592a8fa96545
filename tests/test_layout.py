"""The layout DESIGN.md describes, checked: a newcomer can rely on it."""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "marketplace"
TEMPLATES = PACKAGE.parent / "templates"
MAX_LINES = 400

# Modules allowed past MAX_LINES: table-driven data only (migrations live outside
# marketplace/ and are not checked).
LONG_ALLOWED: set[str] = set()

# Function-level imports of the project's own modules, each with its reason. The
# application factory imports blueprints and commands inside create_app/register_*
# on purpose (as flaskr does), so marketplace/__init__.py is exempt as a whole.
# Third-party imports inside functions (reportlab, openpyxl, pypdf, PIL) are not
# checked: they keep heavy optional libraries off the import path, not cycles.
LOCAL_IMPORT_ALLOWED: dict[str, str] = {}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_cli(path: Path) -> bool:
    return _name(path).startswith("marketplace/cli/")


def _feature_packages() -> list[Path]:
    """Packages whose __init__ defines a blueprint ``bp``: one per feature."""
    found = []
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        for node in _tree(init).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "bp" for t in node.targets
            ):
                found.append(init.parent)
    return found


def _defines_form(path: Path) -> bool:
    return any(
        isinstance(node, ast.ClassDef)
        and any(ast.unparse(base).endswith("Form") for base in node.bases)
        for node in _tree(path).body
    )


def _imported_modules(node: ast.Import | ast.ImportFrom, path: Path) -> list[str]:
    """Absolute dotted names an import statement brings in (relative resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = _name(path)[: -len(".py")].split("/")
        parent = parts[: len(parts) - node.level]
        base = ".".join(parent + ([base] if base else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def _function_imports(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    """(function name, import node) for every import inside a function body."""
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
            elif isinstance(child, ast.Import | ast.ImportFrom) and function:
                found.append((function, child))
            else:
                visit(child, function)

    visit(tree, None)
    return found


def test_feature_packages_are_found():
    names = {package.name for package in _feature_packages()}
    assert {"challenges", "proposals", "contracts", "stats"} <= names


def test_every_feature_package_has_routes_and_services():
    missing = [
        f"{package.name}/{module}"
        for package in _feature_packages()
        for module in ("routes.py", "services.py")
        if not (package / module).exists()
    ]
    assert not missing, missing


def test_a_feature_package_with_forms_keeps_them_in_forms_py():
    missing = [
        package.name
        for package in _feature_packages()
        if any(_defines_form(path) for path in package.glob("*.py"))
        and not (package / "forms.py").exists()
    ]
    assert not missing, missing


def test_no_module_is_longer_than_the_limit():
    long = {
        _name(path): count
        for path in _modules()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not set(long) - LONG_ALLOWED, long
    assert set(long) >= LONG_ALLOWED, "an allowed module is short now: unlist it"


def test_only_the_cli_and_the_factory_import_the_cli():
    offenders = []
    for path in _modules():
        if _is_cli(path) or _name(path) == "marketplace/__init__.py":
            continue
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for module in _imported_modules(node, path):
                if module == "marketplace.cli" or module.startswith("marketplace.cli."):
                    offenders.append(f"{_name(path)}:{node.lineno} {module}")
    assert not offenders, offenders


def test_no_function_level_import_of_the_project_dodges_a_cycle():
    found: dict[str, int] = {}
    for path in _modules():
        if _name(path) == "marketplace/__init__.py":
            continue
        for function, node in _function_imports(_tree(path)):
            modules = _imported_modules(node, path)
            if any(m.split(".")[0] == "marketplace" for m in modules):
                found[f"{_name(path)}::{function}"] = node.lineno
    offenders = {k: line for k, line in found.items() if k not in LOCAL_IMPORT_ALLOWED}
    assert not offenders, offenders
    stale = set(LOCAL_IMPORT_ALLOWED) - set(found)
    assert not stale, f"allowed but no longer there, unlist: {stale}"
    assert all(reason.strip() for reason in LOCAL_IMPORT_ALLOWED.values())


def test_every_command_lives_in_the_cli_package():
    makers = ("click.command", "click.group", "AppGroup")
    found = [
        f"{_name(path)}:{node.lineno}"
        for path in _modules()
        if not _is_cli(path)
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Call)
        and (
            ast.unparse(node.func) in makers
            or ast.unparse(node.func).endswith(".cli.command")
        )
    ]
    assert not found, found


# Globals Flask, Jinja and Flask-WTF register themselves.
FRAMEWORK_GLOBALS = {
    "config",
    "csrf_meta_tag",
    "csrf_token",
    "cycler",
    "dict",
    "g",
    "get_flashed_messages",
    "joiner",
    "lipsum",
    "namespace",
    "range",
    "request",
    "session",
    "url_for",
}
# The project's template globals: labels and formatting of what they are given.
# Whatever queries or checks a permission is a section the page's view builds.
PURE_GLOBALS = {
    "ORG_KIND_LABELS",
    "audit_action",
    "event_state",
    "material_labels",
    "redact_demand",
    # The viewer, for templates to say hello and pass on; it decides nothing.
    "current_user",
    # Flask-WTF's csrf_token, or a slot the page cache fills per answer.
    "form_token",
}


def test_template_globals_are_pure_helpers(app):
    project = set(app.jinja_env.globals) - FRAMEWORK_GLOBALS
    assert project == PURE_GLOBALS


def test_no_template_asks_the_permissions_module():
    # The nav, the anonymous seeker's name and links are booleans and names
    # the views (and the header's context processor) prepare.
    found = [
        p.relative_to(TEMPLATES).as_posix()
        for p in _templates()
        if "perms." in p.read_text(encoding="utf-8")
    ]
    assert not found, found


# `x.status == 'open'`, `x.state in ('a', 'b')`, `status == 'completed'` (a macro's
# argument), a deal's stage, a conclusion or a verification status: a state spelled
# in a template.
STATE_LITERAL = re.compile(
    r"""(?:\.|\b)(?:status|state|stage|conclusion|verification_status)"""
    r"""\s*(?:==|!=|not\s+in|in)\s*[(\[]?\s*['"]"""
)


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_no_template_compares_a_state_with_a_string():
    # Views pass booleans, or templates ask the state enum's properties.
    found = [
        p.relative_to(TEMPLATES).as_posix()
        for p in _templates()
        if STATE_LITERAL.search(p.read_text(encoding="utf-8"))
    ]
    assert not found, found


# Calls that read the clock. Read at import, they go stale when a run, or a worker,
# lives across the city's midnight: a form field that must be today or later then
# holds yesterday's date.
CLOCK_READS = {"local_today", "today", "now", "utcnow", "local_day_start"}


def _import_time_calls(tree: ast.Module) -> list[ast.Call]:
    """Calls evaluated when the module is imported: not inside a function body."""
    found: list[ast.Call] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Lambda):
                continue
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                # decorators (parametrize lists) and defaults run at definition
                for part in [*child.decorator_list, *child.args.defaults]:
                    found.extend(n for n in ast.walk(part) if isinstance(n, ast.Call))
                continue
            if isinstance(child, ast.Call):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def test_no_module_reads_the_clock_at_import():
    roots = [PACKAGE, PACKAGE.parent / "tests", PACKAGE.parent / "bench"]
    stale = []
    for path in sorted(p for root in roots for p in root.rglob("*.py")):
        for call in _import_time_calls(_tree(path)):
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else ""
            name = name or getattr(func, "id", "")
            if name in CLOCK_READS:
                stale.append(f"{_name(path)}:{call.lineno}: {ast.unparse(call)}")
    hint = "read the date when it is needed (tests/dates.py):\n"
    assert stale == [], hint + "\n".join(stale)
