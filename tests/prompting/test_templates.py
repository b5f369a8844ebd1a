from __future__ import annotations

from pathlib import Path

import pytest

from llmga.errors import ConfigError
from llmga.prompting import PLACEHOLDERS, TEMPLATE_NAMES, Templates


def test_shipped_templates_load_and_the_top_level_folder_is_the_same():
    templates = Templates.load()
    assert set(templates.texts) == set(TEMPLATE_NAMES) and templates.source == "shipped"
    top = Path(__file__).resolve().parents[2] / "prompts"
    for name in TEMPLATE_NAMES:
        assert (top / f"{name}.txt").read_text() == templates.texts[name]
    readme = (top / "README.md").read_text()
    for placeholder in PLACEHOLDERS:
        assert f"`${placeholder}`" in readme  # every placeholder is documented


def test_prompt_dir_overrides_some_templates(tmp_path):
    (tmp_path / "mutation.txt").write_text("Improve $parents for $description; give $k.")
    templates = Templates.load(tmp_path)
    assert templates.source == str(tmp_path)
    text = templates.render("mutation", dict.fromkeys(PLACEHOLDERS, "X") | {"k": 3})
    assert text == "Improve X for X; give 3."
    assert templates.texts["crossover"] == Templates.load().texts["crossover"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Use $smiles please", r"unknown placeholder \$smiles; valid placeholders: \$objective"),
        ("costs 5$ each", r"stray '\$'.*write \$\$ for a literal \$"),
    ],
)
def test_bad_templates_are_rejected_before_a_run(tmp_path, content, message):
    (tmp_path / "crossover.txt").write_text(content)
    with pytest.raises(ConfigError, match=message):
        Templates.load(tmp_path)


def test_missing_or_empty_prompt_dir(tmp_path):
    with pytest.raises(ConfigError, match="is not a folder"):
        Templates.load(tmp_path / "nope")
    with pytest.raises(ConfigError, match=r"holds none of system\.txt"):
        Templates.load(tmp_path)
