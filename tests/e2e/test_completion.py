"""Shell completion of the default command: ``acmerun runb<TAB>`` completes runbook paths."""

from __future__ import annotations

from tests.support.processes import REPO, environment, run_acmerun


def complete(words: str, cword: int) -> tuple[int, list[str]]:
    env = environment(_ACMERUN_COMPLETE="bash_complete", COMP_WORDS=words, COMP_CWORD=str(cword))
    run = run_acmerun(env=env, cwd=REPO)
    assert "Traceback" not in run.stderr
    return run.returncode, run.stdout.splitlines()


def test_a_first_word_that_is_no_command_completes_as_a_file() -> None:
    code, lines = complete("acmerun runb", 1)
    assert code == 0
    assert lines == ["file,runb"]


def test_a_first_word_completes_commands_and_files() -> None:
    code, lines = complete("acmerun va", 1)
    assert code == 0
    assert lines == ["plain,validate", "file,va"]


def test_an_option_of_the_default_command_completes_after_a_runbook() -> None:
    code, lines = complete("acmerun runbooks/upgrade-earth.yml --chec", 2)
    assert code == 0
    assert "plain,--check" in lines
