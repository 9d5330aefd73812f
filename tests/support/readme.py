"""The README's tutorial sections, as the tests run them (so the docs cannot rot)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROOT", "Tutorial", "common_blocks", "reset_block", "tutorials"]

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


@dataclass
class Tutorial:
    name: str
    text: str

    @property
    def apply_blocks(self) -> list[str]:
        """The ``echo '...' | lockgate gateway apply -`` commands, in order."""
        return [b for b in _BLOCK.findall(self.text) if "| lockgate gateway apply -" in b]

    @property
    def setup_blocks(self) -> list[str]:
        """What a reader using the emulator runs before Claude Code, in order: the
        apply commands and the "# With the emulator" steps."""
        return [
            b
            for b in _BLOCK.findall(self.text)
            if "| lockgate gateway apply -" in b or b.startswith("# With the emulator")
        ]

    @property
    def claude_env(self) -> dict[str, str]:
        for block in _BLOCK.findall(self.text):
            if "ANTHROPIC_BASE_URL=" in block:
                return dict(re.findall(r"(ANTHROPIC_[A-Z_]+)=(\S+)", block))
        raise AssertionError(f"no Claude Code command in the {self.name} tutorial")


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## The tutorials, with lockgate")
    end = text.index("\n## ", start + 5)
    return text[start:end]


def common_blocks() -> list[str]:
    section = _section()
    head = section[: section.index("\n### ")]
    return [b for b in _BLOCK.findall(head) if "| lockgate gateway apply -" in b]


def reset_block() -> str:
    """The command the README gives for starting a tutorial on an empty gateway."""
    section = _section()
    head = section[: section.index("\n### ")]
    (block,) = [b for b in _BLOCK.findall(head) if "lockgate gateway reset" in b]
    return block


def tutorials() -> dict[str, Tutorial]:
    parts = re.split(r"\n### ", _section())[1:]
    out = {}
    for part in parts:
        name, _, body = part.partition("\n")
        out[name.strip()] = Tutorial(name.strip(), body)
    return out


def yaml_of(block: str) -> str:
    """The file an ``echo '...' |`` line delivers (the shell drops the single quotes inside)."""
    inner = block[block.index("echo '") + 6 : block.rindex("' | lockgate")]
    return inner.replace("'", "")
