"""The README's promises: its commands, the CI script, and an environment table listing every id."""

from pathlib import Path

from papergym.registration import ENVIRONMENTS, MULTI_AGENT_ENVIRONMENTS

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = text.split("```bash")[1:3]
    return [line for block in blocks for line in block.split("```")[0].splitlines()
            if line.strip() and not line.startswith("#")]


def test_ci_runs_the_readme_test_command_verbatim():
    install_and_run, install_and_test = _readme_commands()
    assert "reproduce" in install_and_run
    assert install_and_test in (ROOT / ".ci" / "run").read_text().splitlines()


def test_readme_lists_every_environment():
    readme = (ROOT / "README.md").read_text()
    missing = [entry.id for entry in ENVIRONMENTS + MULTI_AGENT_ENVIRONMENTS if f"`{entry.id}`" not in readme]
    assert missing == [], f"add these ids to the README's environment table: {missing}"
