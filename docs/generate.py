"""Generate the documentation pages that come from the code: one per environment, agent list and paper.

Run by Sphinx at every build (``conf.py``); the pages go to ``docs/*/generated/`` and are not committed.
A paper page's measured part (claims with verdicts, plots, unit times) comes from a results folder of
``papergym reproduce all``, copied into ``docs/papers/results/`` by::

    python docs/generate.py --results DIR

That folder is committed: it is the record the published pages show. Without it a paper page still lists
the paper's claims and sources, and says that no results were generated.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import shutil
import textwrap
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np

import papergym
from papergym.agents import AGENTS
from papergym.experiments import REPRODUCTIONS, get_reproduction
from papergym.experiments.claims import evaluate_claims, markdown_claims
from papergym.experiments.contract import Reproduction, _field_note
from papergym.registration import ENVIRONMENTS, MULTI_AGENT_ENVIRONMENTS, EnvEntry

DOCS = Path(__file__).resolve().parent
RESULTS_DIR = DOCS / "papers" / "results"

#: The environment folders a reproduction runs on, where they are not the folder of its own name.
PAPER_ENV_FOLDERS = {"ttpois": ("lqg",)}


# --- small helpers ---------------------------------------------------------------------------------

def slug(env_id: str) -> str:
    """The page name of an id: ``papergym/LQG-v0`` -> ``LQG-v0``."""
    return env_id.split("/", 1)[-1]


def env_folder(entry: EnvEntry) -> str:
    """The ``papergym.envs`` folder of an entry (``papergym.envs.lqg:LQGEnv`` -> ``lqg``)."""
    return entry.entry_point.split(":")[0].split(".")[2]


def cell(value: object) -> str:
    """A value as inline code that a Markdown table cell can hold."""
    return "`" + str(value).replace("|", "\\|").replace("`", "'").replace("\n", " ") + "`"


def table(rows: list[tuple[str, str]], header: tuple[str, str] = ("", "")) -> str:
    return "\n".join([f"| {header[0]} | {header[1]} |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])


def docstring(obj: object) -> str:
    """An object's docstring as Markdown; sections written ``## Name`` stay headings."""
    return inspect.cleandoc(inspect.getdoc(obj) or "(no documentation)")


HEADING_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+]){3,}$")


def docstring_as_rst(text: str) -> str:
    """A Markdown docstring as reStructuredText for autodoc; headings become rubrics (a docstring cannot
    open sections inside the page)."""
    import m2r2

    if re.search(r"^:(param|returns?|raises)\b", text, flags=re.M):
        return text  # already reStructuredText (a field list)
    spans: list[str] = []

    def stash(match: re.Match) -> str:  # m2r2 mis-reads code spans holding ``*``, ``_`` or a line break
        spans.append(match.group(0).replace("\n", " "))
        return f"CODESPAN{len(spans) - 1}X"

    converted = m2r2.convert(re.sub(r"``.+?``", stash, text, flags=re.S))
    converted = re.sub(r"(?<=[/\w])\*(?=[\w.])", r"\\*", converted)  # a glob such as config/*.json
    converted = re.sub(r"(?<=\w)_(?=[^\w`]|$)", r"\\_", converted, flags=re.M)  # word_ is a link target in RST
    lines = re.sub(r"CODESPAN(\d+)X", lambda match: spans[int(match.group(1))], converted).splitlines()
    out: list[str] = []
    for line in lines:
        if HEADING_UNDERLINE.match(line) and out and out[-1].strip() and len(line) == len(out[-1]):
            out[-1] = f".. rubric:: {out[-1]}"
            continue
        out.append(line)
    return "\n".join(out)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:  # unchanged pages keep their time: faster rebuilds
        path.write_text(text)


# --- environments --------------------------------------------------------------------------------

def render_image(env: gym.Env | object, path: Path, steps: int = 5) -> bool:
    """Save one ``rgb_array`` frame after a few seeded random steps; False where the env draws nothing."""
    import matplotlib.pyplot as plt

    frame = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env.reset(seed=0)
        env.action_space.seed(0)
        for _ in range(steps):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                break
        frame = env.render()
    if frame is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    plt.imsave(path, np.asarray(frame, dtype=np.uint8))
    return True


def environment_page(entry: EnvEntry, image_dir: Path) -> str:
    env = gym.make(entry.id, render_mode="rgb_array", disable_env_checker=True)
    try:
        has_image = render_image(env, image_dir / f"{slug(entry.id)}.png")
        rows = [
            ("Paper", entry.paper),
            ("The agent controls", entry.controls),
            ("Make", cell(f'gymnasium.make("{entry.id}")')),
            ("Entry point", cell(entry.entry_point)),
            ("Vector entry point", cell(entry.vector_entry_point) if entry.vector_entry_point else "none"),
            ("Action space", cell(env.action_space)),
            ("Observation space", cell(env.observation_space)),
            ("max_episode_steps", cell(entry.max_episode_steps)),
            ("Registered kwargs", cell(entry.kwargs) if entry.kwargs else "none"),
        ]
        body = docstring(type(env.unwrapped))
    finally:
        env.close()
    image = f"![{entry.id}](../../_static/generated/{slug(entry.id)}.png)\n\n" if has_image else ""
    return f"# {entry.id}\n\n{image}{table(rows)}\n\n{body}\n"


def multi_agent_page(entry: EnvEntry, image_dir: Path) -> str:
    import pettingzoo

    env = pettingzoo.make("parallel", entry.id)
    first = env.possible_agents[0]
    rows = [
        ("Paper", entry.paper),
        ("The agents control", entry.controls),
        ("Make", cell(f'pettingzoo.make("parallel", "{entry.id}")')),
        ("Entry point", cell(entry.entry_point)),
        ("Agents", cell(", ".join(env.possible_agents))),
        ("Action space (per agent)", cell(env.action_space(first))),
        ("Observation space (per agent)", cell(env.observation_space(first))),
        ("max_cycles", cell(entry.max_episode_steps)),
    ]
    body = docstring(type(env.unwrapped))
    env.close()
    return f"# {entry.id} (PettingZoo)\n\n{table(rows)}\n\n{body}\n"


def environment_pages(docs: Path) -> list[str]:
    """Write one page per registered id (Gymnasium and PettingZoo); return the page names."""
    out, image_dir = docs / "environments" / "generated", docs / "_static" / "generated"
    names = []
    for entry in ENVIRONMENTS:
        write(out / f"{slug(entry.id)}.md", environment_page(entry, image_dir))
        names.append(slug(entry.id))
    for entry in MULTI_AGENT_ENVIRONMENTS:
        write(out / f"{slug(entry.id)}.md", multi_agent_page(entry, image_dir))
        names.append(slug(entry.id))
    return names


# --- agents ----------------------------------------------------------------------------------------

def agent_class(factory: object) -> type | None:
    """The class a named agent's factory builds (``Class.from_env``, a partial of it, or a function)."""
    target = getattr(factory, "func", factory)
    owner = getattr(target, "__self__", None)
    return owner if isinstance(owner, type) else None


def agents_page() -> str:
    rows = []
    for name, factory in AGENTS.items():
        owner = agent_class(factory)
        if owner is None:
            target = getattr(factory, "func", factory)
            where, summary = f"{target.__module__}.{target.__qualname__}", docstring(target)
        else:
            where, summary = f"{owner.__module__}.{owner.__qualname__}", docstring(owner)
        first_line = summary.split("\n\n")[0].replace("\n", " ").replace("|", "\\|")
        rows.append(f"| `{name}` | `{where}` | {first_line} |")
    return "\n".join([
        "# Named agents",
        "",
        "The names accepted by `papergym evaluate --agent NAME` (the registry `papergym.agents.AGENTS`). "
        "Each builds the agent for a given environment; the classes are documented in the "
        "[API reference](api/agents.md).",
        "",
        "| name | class | what it is |",
        "|---|---|---|",
        *rows,
        "",
    ])


# --- papers ----------------------------------------------------------------------------------------

def settings_rows(reproduction: Reproduction) -> list[str]:
    presets = reproduction.presets
    names = list(presets)
    lines = ["| setting | " + " | ".join(names) + " | meaning |", "|---|" + "---|" * len(names) + "---|"]
    for item in dataclasses.fields(reproduction.settings_type):
        if item.name == "agents":
            continue
        values = " | ".join(cell(getattr(presets[name], item.name)) for name in names)
        meaning = _field_note(item).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{item.name}` | {values} | {meaning} |")
    return lines


def claims_declared(reproduction: Reproduction) -> str:
    if not reproduction.claims:
        return "No claims declared."
    lines = ["| claim | the paper says | source | presets |", "|---|---|---|---|"]
    for claim in reproduction.claims:
        cells = [f"`{claim.id}`: {claim.sentence}", claim.paper or "(a claim of ours: no paper figure)",
                 claim.source, ", ".join(claim.presets) or "all"]
        lines.append("| " + " | ".join(text.replace("|", "\\|").replace("\n", " ") for text in cells) + " |")
    return "\n".join(lines)


def paper_environments(name: str) -> list[EnvEntry]:
    folders = PAPER_ENV_FOLDERS.get(name, (name,))
    return [entry for entry in ENVIRONMENTS + MULTI_AGENT_ENVIRONMENTS if env_folder(entry) in folders]


def paper_agents(name: str) -> list[str]:
    module = f"papergym.agents.{name}"
    found = []
    for agent_name, factory in AGENTS.items():
        owner = agent_class(factory) or getattr(factory, "func", factory)
        if getattr(owner, "__module__", "").startswith(module):
            found.append(agent_name)
    return found


def results_section(name: str) -> str:
    """The measured part of a paper page, from ``docs/papers/results/NAME`` (see :func:`copy_results`)."""
    folder = RESULTS_DIR / name
    if not (folder / "measured.md").is_file():
        return ("No results folder has been generated for this page: the claims above are listed with their "
                "sources but without verdicts. Run `papergym reproduce all --quick --out DIR` and "
                "`python docs/generate.py --results DIR` to add them.")
    return (folder / "measured.md").read_text()


def paper_page(reproduction: Reproduction) -> str:
    module = inspect.getmodule(reproduction.units)
    envs = paper_environments(reproduction.name)
    agents = paper_agents(reproduction.name)
    env_links = ", ".join(f"[{entry.id}](../../environments/generated/{slug(entry.id)}.md)" for entry in envs)
    parts = [
        f"# {reproduction.name}: {reproduction.paper}",
        f"{reproduction.description}.",
        f"Run it with `papergym reproduce {reproduction.name} --quick` (or `--preset paper`); "
        f"`papergym claims {reproduction.name}` lists its claims without running anything.",
        "## Environments",
        env_links or "This reproduction uses Gymnasium's own environments only.",
        "## Agents and baselines",
        (", ".join(f"`{name}`" for name in agents) + " (see [named agents](../../agents.md)); their differences "
         "from the authors' code are in the classes' documentation in the [API reference](../../api/agents.md).")
        if agents else "The agents of this paper are built inside the reproduction (see below).",
        "## What the reproduction runs",
        textwrap.dedent(docstring(module)).replace("\n#", "\n###"),
        "## Presets",
        "\n".join(settings_rows(reproduction)),
        "## The paper's claims",
        "Where a claim's source says the paper's text or figure could not be read, the figure could not be "
        "checked against the paper: the claim is stated in words and its verdict rests on our records only.",
        claims_declared(reproduction),
        "## Measured",
        results_section(reproduction.name),
    ]
    return "\n\n".join(parts) + "\n"


def paper_pages(docs: Path) -> list[str]:
    out = docs / "papers" / "generated"
    for name in REPRODUCTIONS:
        write(out / f"{name}.md", paper_page(get_reproduction(name)))
    return list(REPRODUCTIONS)


def copy_results(results_dir: Path, docs: Path = DOCS) -> list[str]:
    """Copy the measured part of each paper page from a ``reproduce all`` folder into ``docs/papers/results``.

    Per paper: ``measured.md`` (preset, unit times, the claims table with verdicts, the plots) and the plots.
    """
    from papergym.experiments.runner import load_results

    copied = []
    for member in sorted(path for path in Path(results_dir).iterdir() if (path / "reproduction.json").is_file()):
        reproduction, settings, results = load_results(member)
        target = docs / "papers" / "results" / reproduction.name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        images = sorted(member.glob("*.png"))
        for image in images:
            shutil.copy2(image, target / image.name)
        findings = evaluate_claims(reproduction.claims, settings, results)
        kinds = sorted({item.unit.kind for item in results.finished})
        seconds = " ".join(f"{kind} {results.seconds(kind):.0f} s;" for kind in kinds)
        parts = [
            f"Preset `{results.preset}` (seeds = {settings.seeds}), {len(results.finished)} units; the runner's "
            f"seconds per unit kind, summed over units: {seconds} total {results.seconds():.0f} s.",
            markdown_claims(findings) if findings else "No claims declared.",
            *(f"![{image.stem}](../results/{reproduction.name}/{image.name})" for image in images),
        ]
        (target / "measured.md").write_text("\n\n".join(parts) + "\n")
        copied.append(reproduction.name)
    return copied


# --- API reference ---------------------------------------------------------------------------------

#: The API pages: page name -> (title, the packages or modules it documents with every submodule).
API_AREAS = {
    "envs": ("Environments", ("papergym.envs",)),
    "agents": ("Agents and baselines", ("papergym.agents",)),
    "wrappers": ("Wrappers", ("papergym.wrappers",)),
    "core": ("Core: seeding, validation, rollout, statistics", ("papergym.core",)),
    "experiments": ("The reproduction contract and runner", ("papergym.experiments", "papergym.integrations")),
}


def submodules(package_name: str) -> list[str]:
    """A package and every module under it, sorted (a plain module gives itself)."""
    import importlib
    import pkgutil

    package = importlib.import_module(package_name)
    names = [package_name]
    if hasattr(package, "__path__"):
        names += [info.name for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}.")]
    return sorted(names)


def api_page(title: str, packages: tuple[str, ...]) -> str:
    modules = [name for package in packages for name in submodules(package)]
    blocks = [f"## `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n```" for name in modules]
    return f"# {title}\n\n" + "\n\n".join(blocks) + "\n"


def api_pages(docs: Path) -> None:
    for page, (title, packages) in API_AREAS.items():
        write(docs / "api" / f"{page}.md", api_page(title, packages))


def generate_all(docs: Path = DOCS) -> None:
    """Every generated page (Sphinx calls this when the build starts)."""
    environment_pages(docs)
    write(docs / "agents.md", agents_page())
    paper_pages(docs)
    api_pages(docs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, help="a `papergym reproduce all` folder to copy the measured part from")
    args = parser.parse_args(argv)
    if args.results:
        print("copied:", ", ".join(copy_results(args.results)) or "nothing")
    generate_all()
    print(f"pages generated for papergym {papergym.__version__}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
