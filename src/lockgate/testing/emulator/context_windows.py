"""How much prompt each emulated model takes, and when a request overflows it.

A request overflows when its counted prompt is larger than the model's window,
or when the ``[[overflow]]`` directive says so (a real overflow needs a prompt
of 10^5 to 10^6 tokens; the directive lets a test ask for the error with a
small one). ``[[overflow N]]`` claims a prompt of N tokens (when N exceeds the
window). Each provider module words the error as its real API does.

These are the emulated APIs' own facts, kept apart from the gateway's model
table on purpose: a gateway tested against a copy of its own table would
never find that table wrong.
"""

from __future__ import annotations

__all__ = ["context_window", "overflow_tokens"]

#: (provider, model prefix, prompt tokens accepted), first match wins.
_WINDOWS: tuple[tuple[str, str, int], ...] = (
    ("anthropic", "", 200_000),
    ("openai", "gpt-4.1", 1_047_576),
    ("openai", "gpt-5", 400_000),
    ("openai", "o", 200_000),
    ("openai", "gpt-3.5", 16_385),
    ("openai", "", 128_000),
    ("gemini", "", 1_048_576),
    # DashScope reports the input range: the window less the output it reserves.
    ("dashscope", "qwen-max", 30_720),
    ("dashscope", "qwen-turbo", 1_000_000),
    ("dashscope", "qwen3-coder", 1_000_000),
    ("dashscope", "", 129_024),
    ("huggingface", "qwen/qwen3", 40_960),
    ("huggingface", "", 131_072),
)


def context_window(provider: str, model: str) -> int:
    """The most prompt tokens ``model`` of ``provider`` accepts."""
    lowered = model.lower()
    for name, prefix, window in _WINDOWS:
        if name == provider and lowered.startswith(prefix):
            return window
    return 128_000


def overflow_tokens(directive: int | None, prompt: int, window: int) -> int | None:
    """The prompt size to report in an overflow error; None when it fits.

    ``directive`` is the ``[[overflow N]]`` directive's N (0 when given
    without a number, None when absent)."""
    if directive is not None:
        return directive if directive > window else window + 1000
    return prompt if prompt > window else None
