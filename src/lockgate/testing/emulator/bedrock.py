"""Amazon Bedrock's runtime Converse API: ``/model/{modelId}/converse`` and
``/converse-stream`` (also under the ``/bedrock`` prefix).

Every request must carry a valid SigV4 signature: the emulator recomputes it
with botocore's signer from the request it received and the secret of the
access key id it names, and refuses a mismatch the way AWS does (403,
``x-amzn-ErrorType: InvalidSignatureException``; an unknown key id is
``UnrecognizedClientException``). Key pairs come from ``--key
bedrock=ACCESS_KEY_ID:SECRET``; without one, the pair
:data:`DEFAULT_ACCESS_KEY_ID` / :data:`DEFAULT_SECRET_ACCESS_KEY` is accepted.

Bodies are checked by :mod:`.bedrock_validate`; streams are AWS
event-stream frames (prelude, headers, JSON payload, CRC32s), including
exception frames for ``[[fail N after K]]``.
"""

from __future__ import annotations

import asyncio
import datetime
import hmac
import re
import secrets
import struct
import time
import zlib
from typing import Any

import orjson
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .anthropic_validate import sign_thinking
from .bedrock_validate import aws_error, validate_converse
from .context_windows import overflow_tokens
from .responses import ApiError, json_response
from .script import Reply, Turn, apply_limits, parse_script, plan_reply, split_chunks, thinking_text
from .state import STATE, EmulatorState
from .stream import FrameWriter, StreamCut, cut_before_answer
from .tokens import count_tokens, json_tokens

__all__ = [
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_SECRET_ACCESS_KEY",
    "converse_handler",
    "encode_frame",
]

NAME = "bedrock"
DEFAULT_ACCESS_KEY_ID = "AKIALOCKGATEEMULATOR"
DEFAULT_SECRET_ACCESS_KEY = "lockgate-emulator-secret-access-key"
#: AWS refuses a signature dated further than this from its clock.
MAX_SKEW = datetime.timedelta(minutes=5)
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
    r"SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$"
)
_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation "
    "for details."
)
_FAILURES = {
    400: ("ValidationException", "Emulated invalid request."),
    403: (
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    ),
    404: ("ResourceNotFoundException", "Model not found."),
    408: ("ModelTimeoutException", "Model has timed out in processing the request."),
    424: ("ModelErrorException", "The model returned an error."),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: ("InternalServerException", "The server encountered an internal error."),
    503: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
    529: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
}
_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "stop_sequence": "stop_sequence",
}


def key_pairs(state: EmulatorState) -> dict[str, str]:
    """Access key id -> secret, from ``--key bedrock=ID:SECRET`` specs."""
    specs = state.keys.get(NAME)
    if not specs:
        return {DEFAULT_ACCESS_KEY_ID: DEFAULT_SECRET_ACCESS_KEY}
    pairs = {}
    for spec in specs:
        key_id, _, secret = spec.partition(":")
        pairs[key_id] = secret
    return pairs


def verify_signature(
    request: web.Request, body: bytes, state: EmulatorState, scope: str = NAME
) -> str:
    """Checks the request's SigV4 signature for the service ``scope``; returns
    the signing region. Keys are the configured pairs and the sessions the
    emulated STS issued (with their token, until they expire)."""
    header = request.headers.get("Authorization", "")
    if not header:
        raise aws_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    m = _AUTH.match(header.strip())
    if m is None:
        raise aws_error(
            403,
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
        )
    key_id, day, region, service, signed, signature = m.groups()
    invalid = "The security token included in the request is invalid."
    known = key_pairs(state).get(key_id)
    if known is not None:
        secret = known
    else:
        session = state.aws_sessions.get(key_id)
        if session is None:
            raise aws_error(403, "UnrecognizedClientException", invalid)
        secret, token, expires = session
        if not hmac.compare_digest(request.headers.get("X-Amz-Security-Token", ""), token):
            raise aws_error(403, "UnrecognizedClientException", invalid)
        if time.time() >= expires:
            raise aws_error(
                403,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            )
    if service != scope:
        raise aws_error(
            403,
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{scope}'.",
        )
    stamp = request.headers.get("X-Amz-Date", "")
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        raise aws_error(
            403, "IncompleteSignatureException", "Missing or invalid X-Amz-Date header."
        ) from None
    now = datetime.datetime.now(datetime.UTC)
    if abs(now - when) > MAX_SKEW or not stamp.startswith(day):
        raise aws_error(
            403,
            "InvalidSignatureException",
            f"Signature expired: {stamp} is now earlier than "
            f"{(now - MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')} ({now.strftime('%Y%m%dT%H%M%SZ')} - 5 min.)",
        )
    names = signed.split(";")
    if "host" not in names or any(n not in request.headers for n in names):
        raise aws_error(403, "InvalidSignatureException", _BAD_SIGNATURE)
    # The request as the client signed it: the path exactly as sent, the
    # signed headers only, and the body received.
    rebuilt = AWSRequest(
        method=request.method,
        url=f"http://{request.host}{request.raw_path}",
        data=body,
        headers={n: request.headers[n] for n in names},
    )
    rebuilt.context["timestamp"] = stamp
    signer = SigV4Auth(
        Credentials(key_id, secret, request.headers.get("X-Amz-Security-Token")), service, region
    )
    canonical = signer.canonical_request(rebuilt)
    expected = signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt)
    if not hmac.compare_digest(expected, signature):
        raise aws_error(403, "InvalidSignatureException", _BAD_SIGNATURE)
    return region


def failure(status: int) -> ApiError:
    exception, message = _FAILURES.get(
        status, ("InternalServerException", f"Emulated error {status}.")
    )
    return aws_error(503 if status == 529 else status, exception, message)


def _headers() -> dict[str, str]:
    return {"x-amzn-RequestId": secrets.token_hex(16)}


def _texts(content: list[Any]) -> str:
    return "\n".join(str(b["text"]) for b in content if isinstance(b, dict) and "text" in b)


def extract_turn(body: dict[str, Any], model: str) -> tuple[Turn, Any]:
    texts: list[str] = []
    results: list[str] = []
    for message in reversed(body["messages"]):
        if message["role"] == "assistant":
            break
        texts.insert(0, _texts(message["content"]))
        for block in message["content"]:
            if "toolResult" in block:
                results.append(_texts(block["toolResult"].get("content") or []))
    tools = (body.get("toolConfig") or {}).get("tools") or []
    names = {t["toolSpec"]["name"] for t in tools if "toolSpec" in t}
    text = "\n".join(t for t in texts if t)
    return Turn(NAME, model, text, results, names), parse_script(text, NAME, model)


def _usage(state: EmulatorState, body: dict[str, Any], model: str, output: int) -> dict[str, int]:
    """Usage with prompt caching up to each ``cachePoint`` (Bedrock's inputTokens excludes cached input)."""
    segments: list[Any] = []
    breakpoints: list[int] = []
    pieces = [*((body.get("toolConfig") or {}).get("tools") or []), *(body.get("system") or [])]
    for message in body["messages"]:
        pieces += message["content"]
    for piece in pieces:
        if "cachePoint" in piece:
            if segments:
                breakpoints.append(len(segments) - 1)
            continue
        segments.append(piece)
    total = json_tokens(segments) + 3
    hit = state.cache(NAME).explicit(model, segments, breakpoints)
    uncached = total - hit.read - hit.created
    return {
        "inputTokens": uncached,
        "outputTokens": output,
        "totalTokens": uncached + output + hit.read + hit.created,
        "cacheReadInputTokens": hit.read,
        "cacheWriteInputTokens": hit.created,
    }


def _check_context(body: dict[str, Any], model: str, script: Any) -> None:
    """Bedrock's overflow error: a ValidationException that gives no numbers."""
    pieces = [*((body.get("toolConfig") or {}).get("tools") or []), *(body.get("system") or [])]
    for message in body["messages"]:
        pieces += message["content"]
    # Claude models keep Anthropic's window; Bedrock's other models are smaller.
    window = 200_000 if "anthropic." in model else 128_000
    if overflow_tokens(script.overflow, json_tokens(pieces), window) is not None:
        raise aws_error(400, "ValidationException", "Input is too long for requested model.")


def _content(reply: Reply, signature: str | None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.thinking is not None and signature is not None:
        blocks.append(
            {
                "reasoningContent": {
                    "reasoningText": {"text": reply.thinking, "signature": signature}
                }
            }
        )
    if reply.text or not reply.tool_calls:
        blocks.append({"text": reply.text})
    for call in reply.tool_calls:
        blocks.append(
            {"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}}
        )
    return blocks


async def converse_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    model = request.match_info["model_id"]
    stream = request.match_info["operation"] == "converse-stream"
    raw = await request.read()
    try:
        verify_signature(request, raw, state)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise aws_error(
                400, "SerializationException", "Unexpected character in the request body."
            ) from None
        if request.match_info["operation"] == "count-tokens":
            return _count_tokens(body, model, state)
        validate_converse(body, model, state.thinking_secret)
        turn, script = extract_turn(body, model)
        _check_context(body, model, script)
        if script.sleep:
            await asyncio.sleep(script.sleep)
        if script.fail is not None and (script.fail_after is None or not stream):
            raise failure(script.fail)
    except ApiError as err:
        return err.response()
    if script.cut is not None and not stream:
        return cut_before_answer(request)
    reply = plan_reply(turn, script, id_prefix="tooluse_")
    extra = body.get("additionalModelRequestFields") or {}
    thinking = extra.get("thinking") or {}
    signature = None
    if script.think and thinking.get("type") in ("enabled", "adaptive"):
        reply.thinking = thinking_text(script.text)
        signature = sign_thinking(state.thinking_secret, reply.thinking)
    config = body.get("inferenceConfig") or {}
    reply = apply_limits(reply, config.get("maxTokens"), config.get("stopSequences"))
    output = count_tokens(reply.text) + count_tokens(reply.thinking or "")
    output += sum(count_tokens(c.name + c.arguments_json) for c in reply.tool_calls)
    answer: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": _content(reply, signature)}},
        "stopReason": _STOP[reply.finish],
        "usage": _usage(state, body, model, output),
        "metrics": {"latencyMs": 42},
    }
    if reply.stop_sequence is not None and "anthropic." in model:
        answer["additionalModelResponseFields"] = {"stop_sequence": reply.stop_sequence}
    if not stream:
        return json_response(answer, headers=_headers())
    return await _stream(request, answer, script)


def _count_tokens(body: Any, model: str, state: EmulatorState) -> web.Response:
    """CountTokens: the Converse request under ``input.converse``, Claude models only."""
    converse = body.get("input", {}).get("converse") if isinstance(body, dict) else None
    if not isinstance(converse, dict) or set(body) != {"input"}:
        raise aws_error(400, "ValidationException", "The input field must hold a converse request.")
    if "anthropic.claude" not in model:
        raise aws_error(
            400, "ValidationException", "The provided model doesn't support counting tokens."
        )
    validate_converse(converse, model, state.thinking_secret)
    pieces = [
        *((converse.get("toolConfig") or {}).get("tools") or []),
        *(converse.get("system") or []),
    ]
    for message in converse["messages"]:
        pieces += message["content"]
    segments = [p for p in pieces if "cachePoint" not in p]
    return json_response({"inputTokens": json_tokens(segments) + 3}, headers=_headers())


# -- event-stream ---------------------------------------------------------------


def encode_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (total and header lengths, CRC32),
    string-typed headers, the payload, and a CRC32 of everything before it."""
    encoded = b""
    for name, value in headers.items():
        n, v = name.encode(), value.encode()
        encoded += struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _event(kind: str, data: dict[str, Any]) -> bytes:
    # Bedrock pads every event with a "p" field of random length, so that
    # sizes on the wire do not reveal the text.
    payload = orjson.dumps({**data, "p": "abcdefghijklmnopqrstuvwxyz"[: secrets.randbelow(26) + 1]})
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return encode_frame(headers, payload)


def exception_frame(exception: str, message: str) -> bytes:
    name = exception[:1].lower() + exception[1:]
    headers = {
        ":exception-type": name,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_frame(headers, orjson.dumps({"message": message}))


def _block_frames(index: int, block: dict[str, Any], chunks: int | None) -> list[bytes]:
    frames = []
    if "toolUse" in block:
        tool = block["toolUse"]
        start = {"toolUse": {"toolUseId": tool["toolUseId"], "name": tool["name"]}}
        frames.append(_event("contentBlockStart", {"start": start, "contentBlockIndex": index}))
        raw = orjson.dumps(tool["input"]).decode()
        for piece in split_chunks(raw, 3):
            frames.append(
                _event(
                    "contentBlockDelta",
                    {"delta": {"toolUse": {"input": piece}}, "contentBlockIndex": index},
                )
            )
    elif "reasoningContent" in block:
        text = block["reasoningContent"]["reasoningText"]
        for piece in split_chunks(text["text"], None):
            frames.append(
                _event(
                    "contentBlockDelta",
                    {"delta": {"reasoningContent": {"text": piece}}, "contentBlockIndex": index},
                )
            )
        frames.append(
            _event(
                "contentBlockDelta",
                {
                    "delta": {"reasoningContent": {"signature": text["signature"]}},
                    "contentBlockIndex": index,
                },
            )
        )
    else:
        for piece in split_chunks(block["text"], chunks) or [""]:
            frames.append(
                _event("contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": index})
            )
    frames.append(_event("contentBlockStop", {"contentBlockIndex": index}))
    return frames


async def _stream(request: web.Request, answer: dict[str, Any], script: Any) -> web.StreamResponse:
    frames = [_event("messageStart", {"role": "assistant"})]
    for index, block in enumerate(answer["output"]["message"]["content"]):
        frames += _block_frames(index, block, script.chunks)
    stop: dict[str, Any] = {"stopReason": answer["stopReason"]}
    if "additionalModelResponseFields" in answer:
        stop["additionalModelResponseFields"] = answer["additionalModelResponseFields"]
    frames.append(_event("messageStop", stop))
    frames.append(_event("metadata", {"usage": answer["usage"], "metrics": answer["metrics"]}))
    writer = await FrameWriter.open(
        request, "application/vnd.amazon.eventstream", _headers(), script.slow_ms, script.cut
    )
    try:
        for i, frame in enumerate(frames):
            if script.fail is not None and i == script.fail_after:
                err = failure(script.fail)
                exception = err.headers["x-amzn-ErrorType"].split(":", 1)[0]
                await writer.send(exception_frame(exception, err.body["message"]))
                return await writer.finish()
            await writer.send(frame)
        return await writer.finish()
    except StreamCut:
        return writer.response
