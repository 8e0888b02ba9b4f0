"""Claims as data: the verdict helpers on hand-made samples, the contract's rules on presets and on claims
of ours, every reproduction's declared claims, ``papergym claims`` and ``reproduce all``'s report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from papergym import cli
from papergym.experiments import REPRODUCTIONS, get_reproduction
from papergym.experiments.claims import Claim, Finding, Verdict, matches, paired, sign_test, values
from papergym.experiments.contract import Results


def test_sign_test_gives_each_verdict():
    assert sign_test([1.0, 1.2, 0.9, 1.1], claimed="positive", what="gap").verdict is Verdict.REPRODUCED
    assert sign_test([-1.0, -1.2, -0.9], claimed="negative", what="gap").verdict is Verdict.REPRODUCED
    assert sign_test([1.0, -1.0, 0.5], claimed="positive", what="gap").verdict is Verdict.NOT_SHOWN
    assert sign_test([-1.0, -1.2, -0.9], claimed="positive", what="gap").verdict is Verdict.CONTRADICTED
    short = sign_test([-1.0, -1.2, -0.9], claimed="positive", what="gap", short_of_paper="10^5 rounds")
    assert short.verdict is Verdict.NOT_SHOWN and "10^5 rounds" in short.reason
    assert sign_test([2.0], claimed="positive", what="gap").verdict is Verdict.NOT_SHOWN  # no interval
    assert sign_test([], claimed="positive", what="gap").verdict is Verdict.NOT_SHOWN


def test_matches_gives_each_verdict():
    assert matches([70.0, 71.0, 72.0], 71.0, tolerance=1.0, what="clicks").verdict is Verdict.REPRODUCED
    far = matches([50.0, 51.0, 52.0], 71.0, tolerance=1.0, what="clicks")
    assert far.verdict is Verdict.CONTRADICTED and far.measured.n == 3
    assert matches([50.0, 51.0], 71.0, tolerance=1.0, what="clicks", short_of_paper="T=10^3").verdict \
        is Verdict.NOT_SHOWN


def test_paired_and_values_select_records():
    records = [{"agent": "a", "seed": 0, "r": 3.0}, {"agent": "b", "seed": 0, "r": 1.0},
               {"agent": "a", "seed": 1, "r": 5.0}, {"agent": "b", "seed": 2, "r": 1.0}]
    assert paired(records, "r", by="agent", first="a", second="b").tolist() == [2.0]  # seed 0 only
    assert values(records, "r", agent="a").tolist() == [3.0, 5.0]


def _claim(check, paper="a figure", presets=("paper",)) -> Claim:
    return Claim("c", "a sentence", paper, "Table 1", presets, check)


def test_a_contradiction_off_the_claims_presets_is_not_shown_and_claims_of_ours_have_no_paper_figure():
    contradicted = lambda settings, results: Finding(Verdict.CONTRADICTED, "opposite")  # noqa: E731
    quick, paper = Results([], "quick"), Results([], "paper")
    assert _claim(contradicted).evaluate(None, paper).verdict is Verdict.CONTRADICTED
    off = _claim(contradicted).evaluate(None, quick)
    assert off.verdict is Verdict.NOT_SHOWN and "preset quick" in off.reason and "opposite" in off.reason
    assert _claim(contradicted, paper="").evaluate(None, paper).verdict is Verdict.NO_PAPER_FIGURE
    with pytest.raises(TypeError, match="source"):
        Claim("c", "a sentence", "x", " ", ("paper",), contradicted)


@pytest.mark.parametrize("name", list(REPRODUCTIONS))
def test_every_reproduction_declares_at_least_two_claims_with_their_sources(name):
    reproduction = get_reproduction(name)
    assert len(reproduction.claims) >= 2
    for claim in reproduction.claims:
        assert claim.source.strip() and claim.sentence.strip()
        assert set(claim.presets) <= set(reproduction.presets)
        if not claim.ours:  # a paper's figure is cited from the paper or from the authors' files
            # a table, figure, section or abstract of the paper, the authors' files (with a commit), or a closed form
            assert re.search(r"Table|Fig|Section|Appendix|abstract|arXiv|authors'|commit|closed form", claim.source), \
                claim.id


def test_claims_command_lists_claims_without_running(capsys):
    assert cli.main(["claims", "lqg"]) == 0
    out = capsys.readouterr().out
    assert "riccati-optimal" in out and "source:" in out
    assert cli.main(["claims", "nope"]) == cli.EXIT_USAGE


def test_reproduce_all_writes_a_readme_whose_images_exist_and_report_rebuilds_it(tmp_path, capsys):
    skip = [arg for name in REPRODUCTIONS if name != "lqg" for arg in ("--skip", name)]
    code = cli.main(["reproduce", "all", "--preset", "quick", "--seeds", "2", "--workers", "1", "--no-progress",
                     "--out", str(tmp_path), *skip])
    assert code == 0
    readme = (tmp_path / "README.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert links and all((tmp_path / link).is_file() for link in links)
    assert "| lqg | quick |" in (tmp_path / "claims-summary.md").read_text()
    assert "riccati-optimal" in readme
    (tmp_path / "README.md").unlink()
    assert cli.main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "README.md").read_text() == readme
    assert cli.main(["reproduce", "all", "--skip", "nope", "--out", str(tmp_path / "x")]) == cli.EXIT_USAGE
    assert "unknown reproduction" in capsys.readouterr().err
    assert not Path(tmp_path / "x").exists()
