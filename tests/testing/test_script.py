"""The directive language and the provider-independent answer planning."""

from __future__ import annotations

import orjson

from lockgate.testing.emulator.script import (
    Reply,
    Script,
    Turn,
    apply_limits,
    json_instance,
    parse_script,
    plan_reply,
    split_chunks,
    split_fragments,
)


def test_every_directive_is_parsed_and_stripped() -> None:
    s = parse_script(
        "before [[sleep 2.5]] [[slow 50]] [[chunks 20]] [[cut 3]] [[think]] "
        "[[fail 529 after 4]] [[echo]] [[reply the exact text]] after"
    )
    assert (s.sleep, s.slow_ms, s.chunks, s.cut, s.think, s.echo) == (2.5, 50, 20, 3, True, True)
    assert (s.fail, s.fail_after, s.reply) == (529, 4, "the exact text")
    assert s.text == "before after"


def test_faults_scoped_to_a_provider_or_model() -> None:
    text = "go [[fail 429 on openai]] [[sleep 2 on gpt-4.1]] [[cut 3 on anthropic]] on"
    openai_4 = parse_script(text, "openai", "gpt-4.1")
    assert (openai_4.fail, openai_4.sleep, openai_4.cut) == (429, 2.0, None)
    other_model = parse_script(text, "openai", "gpt-4o")
    assert (other_model.fail, other_model.sleep, other_model.cut) == (429, 0.0, None)
    anthropic = parse_script(text, "anthropic", "claude-sonnet-4-6")
    assert (anthropic.fail, anthropic.sleep, anthropic.cut) == (None, 0.0, 3)
    unnamed = parse_script(text)  # a scoped fault applies only where it is named
    assert (unnamed.fail, unnamed.sleep, unnamed.cut) == (None, 0.0, None)
    for script in (openai_4, other_model, anthropic, unnamed):
        assert script.text == "go on"  # applied or not, the directive is not text
    late = parse_script("[[fail 529 after 3 on Qwen/Qwen3-32B:fast]]", "x", "Qwen/Qwen3-32B:fast")
    assert (late.fail, late.fail_after) == (529, 3)
    assert parse_script("[[fail 500]]", "gemini", "g").fail == 500  # unscoped: everywhere
    kept = parse_script("[[sleep 1 on]] [[fail 500 on a b]]", "a", "m")
    assert kept.sleep == 0 and kept.fail is None
    assert kept.text == "[[sleep 1 on]] [[fail 500 on a b]]"


def test_tool_directives_anywhere_in_claude_code_text() -> None:
    text = (
        "<system-reminder>\nctx\n</system-reminder>\n\nRun this: "
        '[[tool Bash {"command":"echo lockgate-e2e-ok","description":"print marker"}]] and '
        '[[tool Read {"path": "a]]b", "n": [[1]]}]] [[tool Noargs]]'
    )
    s = parse_script(text)
    assert s.tools == [
        ("Bash", {"command": "echo lockgate-e2e-ok", "description": "print marker"}),
        ("Read", {"path": "a]]b", "n": [[1]]}),
        ("Noargs", {}),
    ]
    assert "[[" not in s.text and "Run this:" in s.text


def test_malformed_directives_stay_text() -> None:
    s = parse_script("[[tool Bash {not json}]] [[sleep soon]] [[fail x]] [[unknown 1]]")
    assert s.tools == [] and s.sleep == 0 and s.fail is None
    assert "[[sleep soon]]" in s.text and "[[unknown 1]]" in s.text


def test_plan_order_reply_tools_result_schema_default() -> None:
    turn = Turn("openai", "gpt-4o", tool_names={"Bash"})
    assert plan_reply(turn, Script(reply="x")).text == "x"
    tools = plan_reply(turn, Script(tools=[("Bash", {"command": "ls"})]))
    assert tools.finish == "tool_calls" and tools.tool_calls[0].arguments == {"command": "ls"}
    assert tools.tool_calls[0].id.startswith("call_")
    missing = plan_reply(turn, Script(tools=[("Edit", {})]))
    assert (
        missing.text == "The tool Edit is not available in this request." and not missing.tool_calls
    )
    result = plan_reply(
        Turn("openai", "m", tool_results=["  lockgate-e2e-ok\n" + "x" * 500]), Script()
    )
    assert result.text == "Tool result: lockgate-e2e-ok\n" + "x" * 184
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    structured = plan_reply(
        Turn("anthropic", "m", json_schema=schema), Script(tools=[("Bash", {})])
    )
    assert orjson.loads(structured.text) == {"title": "Emulated title"}
    assert plan_reply(Turn("gemini", "gemini-2.0-flash"), Script()).text == (
        "Hello from the gemini emulator, model gemini-2.0-flash."
    )
    assert plan_reply(Turn("gemini", "g"), Script(echo=True, text="said")).text == "said"


def test_limits_stop_sequence_then_max_tokens() -> None:
    stopped = apply_limits(Reply(text="one two STOP three"), None, ["STOP"])
    assert (stopped.text, stopped.finish, stopped.stop_sequence) == (
        "one two ",
        "stop_sequence",
        "STOP",
    )
    cut = apply_limits(Reply(text="x" * 100), 5)
    assert (cut.text, cut.finish) == ("x" * 20, "length")
    assert apply_limits(Reply(text="short"), 100).finish == "stop"


def test_chunks_and_fragments_reassemble() -> None:
    text = "Hello from the emulator, a longer text to split."
    assert "".join(split_chunks(text, None)) == text and len(split_chunks(text, None)) >= 2
    assert len(split_chunks(text, 20)) == 20 and "".join(split_chunks(text, 20)) == text
    args = '{"command":"echo lockgate-e2e-ok","description":"print marker"}'
    frags = split_fragments(args)
    assert "".join(frags) == args and all(3 <= len(f) <= 7 for f in frags[:-1])


def test_json_instance_follows_schema() -> None:
    schema = {
        "$defs": {"Kind": {"enum": ["a", "b"]}},
        "type": "object",
        "properties": {
            "kind": {"$ref": "#/$defs/Kind"},
            "n": {"type": "integer", "minimum": 3},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "maybe": {"type": ["null", "boolean"]},
            "const": {"const": 7},
            "either": {"anyOf": [{"type": "number"}, {"type": "string"}]},
        },
        "additionalProperties": False,
    }
    value = json_instance(schema)
    assert value == {
        "kind": "a",
        "n": 3,
        "tags": ["Emulated tags"],
        "maybe": True,
        "const": 7,
        "either": 0,
    }
