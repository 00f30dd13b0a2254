"""Publishing: the licences, the workflows that test and publish the book, and the citation file,
validated offline with check-jsonschema's built-in schemas (the release itself: tests/test_book.py)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
# Any attempt to reach the network fails: the schemas must come from inside check-jsonschema.
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "",
              "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "no_proxy": ""}


def validate(schema: str, *files: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with one of its built-in (vendored) schemas, offline."""
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
                          capture_output=True, text=True, env={**os.environ, **NO_NETWORK}, timeout=120)


def _workflow(name: str) -> dict:
    wf = yaml.safe_load((WORKFLOWS / name).read_text())
    wf["on"] = wf.pop(True, wf.get("on"))  # YAML 1.1 reads the key `on` as True
    return wf


def _steps(wf: dict) -> list[dict]:
    return [s for job in wf["jobs"].values() for s in job.get("steps", [])]


def _uses(wf: dict, action: str) -> list[dict]:
    return [s for s in _steps(wf) if s.get("uses", "").split("@")[0] == action]


def test_workflows_validate_offline_against_githubs_workflow_schema():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["pages.yml", "test.yml"]
    result = validate("vendor.github-workflows", *files)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("break_it", [
    lambda text: text.replace("    runs-on: ubuntu-24.04\n", "", 1),     # a job without a runner
    lambda text: text.replace("  pull_request:", "  pull-request:", 1),   # an event that does not exist
], ids=["no-runs-on", "unknown-event"])
def test_a_broken_workflow_fails_validation(tmp_path, break_it):
    text = (WORKFLOWS / "test.yml").read_text()
    broken = tmp_path / "test.yml"
    broken.write_text(break_it(text))
    assert broken.read_text() != text
    result = validate("vendor.github-workflows", broken)
    assert result.returncode == 1 and "Schema validation errors" in result.stdout, result.stdout + result.stderr


def test_ci_workflow_runs_ci_run_on_every_push_and_pull_request_with_the_data_beside_the_checkout():
    wf = _workflow("test.yml")
    assert {"push", "pull_request"} <= set(wf["on"])
    assert [s["with"]["python-version"] for s in _uses(wf, "actions/setup-python")] == ["3.11"]
    checkout = Path(_uses(wf, "actions/checkout")[0]["with"]["path"])
    run = [s for s in _steps(wf) if s.get("run", "").strip() == "bash .ci/run"]
    assert len(run) == 1 and Path(run[0]["working-directory"]) == checkout
    # .ci/run reads $(cd .. && pwd)/shared/data: the data restored, downloaded and cached must lie there
    data = checkout.parent / "shared" / "data"
    assert "$(cd .. && pwd)/shared/data" in (REPO / ".ci" / "run").read_text()
    restore, save = _uses(wf, "actions/cache/restore"), _uses(wf, "actions/cache/save")
    assert len(restore) == len(save) == 1
    assert Path(restore[0]["with"]["path"]) == Path(save[0]["with"]["path"]) == data
    assert restore[0]["with"]["key"] == save[0]["with"]["key"]
    download = [s for s in _steps(wf) if "TUTORIAL_LIB_DATA" in s.get("env", {})]
    assert len(download) == 1 and download[0]["env"]["TUTORIAL_LIB_DATA"] == f"${{{{ github.workspace }}}}/{data}"
    assert all(f'"{name}"' in download[0]["run"] for name in ("mnist", "fashion", "train", "test"))


def test_pages_workflow_builds_the_book_and_publishes_it_with_the_official_pages_actions():
    wf = _workflow("pages.yml")
    assert wf["on"]["push"] == {"tags": ["v*"]}  # a release tag publishes its book
    assert wf["permissions"]["pages"] == "write" and wf["permissions"]["id-token"] == "write"
    assert any(s.get("run", "").strip() == "make book" for s in _steps(wf))
    assert _uses(wf, "actions/configure-pages")
    assert [s["with"]["path"] for s in _uses(wf, "actions/upload-pages-artifact")] == ["_build/html"]
    deploy = [job for job in wf["jobs"].values() if any(s.get("uses", "").startswith("actions/deploy-pages@")
                                                         for s in job["steps"])]
    assert len(deploy) == 1 and deploy[0]["environment"]["name"] == "github-pages"
    assert deploy[0]["needs"] in ("build", ["build"])


def test_citation_file_validates_offline_and_cites_the_course_and_the_paper():
    result = validate("vendor.citation-file-format", REPO / "CITATION.cff")
    assert result.returncode == 0, result.stdout + result.stderr
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["title"] == "Robustness vs. Accuracy, hands-on" and set(cff["license"]) == {"MIT", "CC-BY-4.0"}
    assert cff["repository-code"] == yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]
    (paper,) = cff["references"]
    assert paper["title"] == "Robustness May Be at Odds with Accuracy" and paper["year"] == 2019
    assert [a["family-names"] for a in paper["authors"]] == ["Tsipras", "Santurkar", "Engstrom", "Turner", "Madry"]
    assert "1805.12152" in paper["url"]


def test_a_broken_citation_file_fails_validation(tmp_path):
    broken = tmp_path / "CITATION.cff"
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    del cff["authors"]  # required by CFF 1.2.0
    broken.write_text(yaml.safe_dump(cff, allow_unicode=True))
    result = validate("vendor.citation-file-format", broken)
    assert result.returncode == 1 and "authors" in result.stdout, result.stdout + result.stderr


def test_licences_say_which_covers_what_in_the_files_the_readme_and_the_books_footer():
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    content = (REPO / "LICENSE-content.md").read_text()
    assert "CC BY 4.0" in content and "https://creativecommons.org/licenses/by/4.0/legalcode" in content
    footer = yaml.safe_load((REPO / "_config.yml").read_text())["html"]["extra_footer"]
    assert "https://creativecommons.org/licenses/by/4.0/" in footer and "LICENSE\">MIT</a>" in footer
    readme = (REPO / "README.md").read_text()
    assert "[`LICENSE`](LICENSE)" in readme and "[`LICENSE-content.md`](LICENSE-content.md)" in readme
