"""The README's tutorial files are the tutorials' own, verbatim (whitespace
aside: the stored tutorial texts lost their indentation), so the end-to-end
tests that run the README prove that the tutorials themselves work."""

from __future__ import annotations

import re

import pytest
import yaml
from tests.support.readme import ROOT, common_blocks, tutorials, yaml_of

SEEDS = ROOT.parent / "shared" / "seeds"
TITLES = {
    "HuggingFace": "Kong AI Gateway and HuggingFace",
    "Anthropic": "Kong AI Gateway and Anthropic",
    "DashScope (Qwen)": "Kong AI Gateway and DashScope",
    "Gemini (Vertex AI)": "Kong AI Gateway and Gemini",
    "OpenAI": "Kong AI Gateway and OpenAI",
}

pytestmark = pytest.mark.skipif(
    not SEEDS.is_dir(), reason="the tutorials (../shared/seeds) are not beside this checkout"
)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _seed(title: str) -> str:
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text()
        if (
            title in text.split("\n", 5)[0]
            or f"title: Route Claude CLI traffic through {title}" in text
        ):
            return text
    raise AssertionError(f"no tutorial titled {title!r} in {SEEDS}")


def _seed_blocks(text: str) -> list[str]:
    return [_squash(b) for b in re.findall(r"echo '(.*?)' \| deck gateway apply -", text, re.S)]


@pytest.mark.parametrize("name", [n for n in TITLES if n != "OpenAI"])
def test_tutorial_files_are_verbatim(name: str) -> None:
    seed = _seed(TITLES[name])
    expected = _seed_blocks(seed)
    ours = [
        _squash(b[b.index("echo '") + 6 : b.rindex("' | lockgate")])
        for b in common_blocks() + tutorials()[name].apply_blocks
    ]
    assert ours == expected


def test_openai_tutorial_is_its_entity_examples_rendered() -> None:
    seed = _seed(TITLES["OpenAI"])
    examples = re.findall(r"\{% entity_examples %\}(.*?)\{% endentity_examples %\}", seed, re.S)
    assert len(examples) == 2
    blocks = tutorials()["OpenAI"].apply_blocks
    for example, block in zip(examples, blocks, strict=True):
        data = yaml.safe_load(example)
        rendered = yaml.safe_dump(data["entities"]["plugins"])
        for var in data.get("variables") or {}:
            # decK's rendering of a docs variable: an env placeholder named after it.
            rendered = rendered.replace("${" + var + "}", '${{ env "DECK_OPENAI_API_KEY" }}')
        ours = yaml.safe_load(yaml_of(block).replace('${{ env "DECK_OPENAI_API_KEY" }}', "__KEY__"))
        assert ours["plugins"] == yaml.safe_load(
            rendered.replace('${{ env "DECK_OPENAI_API_KEY" }}', "__KEY__")
        )


def test_claude_commands_are_the_tutorials() -> None:
    for name, title in TITLES.items():
        seed = _squash(_seed(title))
        env = tutorials()[name].claude_env
        assert f"ANTHROPIC_BASE_URL={env['ANTHROPIC_BASE_URL']}" in seed
        model = env["ANTHROPIC_MODEL"]
        assert f"ANTHROPIC_MODEL={model}" in seed or name == "Gemini (Vertex AI)"
