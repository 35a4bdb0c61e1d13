#!/usr/bin/env python3
"""Mock of the Anthropic, OpenAI (Responses) and Gemini APIs for agent tests.

Serves all three vendors on one port, told apart by path, so the real agent
CLIs (Claude Code, Codex, Gemini CLI) can run a task end to end with no
internet:

  turn 1 (the request holds no tool result yet): if the user's prompt says
         "create FILE containing TEXT", answer with the CLI's own
         file-writing tool call writing TEXT and a newline to FILE;
  turn 2 (a tool result is present): a short final text, end of turn.

Every request is logged as one JSON line to --log. The credential is never
logged: only the name of the header that carried it and the SHA-256 of its
value (for "Authorization: Bearer X", of X).

Python 3 standard library only (runs with `python3 -I -S`).

usage: mock-api.py --port PORT --log FILE [--bind ADDR] [--workdir DIR]
                   [--dump DIR]
"""

import argparse
import hashlib
import http.server
import json
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
import zlib

MAX_BODY = 64 * 1024 * 1024
FINAL_TEXT = "Done: the file has been written."
NO_TASK_TEXT = "This is a mock API; it only knows 'create FILE containing TEXT'."

OPTS = None
LOG_LOCK = threading.Lock()
DUMP_SEQ = [0]

# ---------------------------------------------------------------- helpers


def new_id(prefix):
    return prefix + os.urandom(12).hex()


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def as_text(value):
    """Flatten a message content (string or list of blocks) into text."""
    if isinstance(value, str):
        return value
    out = []
    if isinstance(value, list):
        for item in value:
            out.append(as_text(item))
    elif isinstance(value, dict):
        for key in ("text", "content", "input_text"):
            if key in value:
                out.append(as_text(value[key]))
    return "\n".join(s for s in out if s)


TASK_RE = re.compile(
    r"\bcreate\s+(?:a\s+)?(?:new\s+)?(?:file\s+)?(?:(?:named|called)\s+)?"
    r"[\"'`]?([^\s\"'`]+?)[\"'`]?\s+(?:containing|with(?:\s+the)?\s+(?:content|text))\s+"
    r"(?:\"([^\"\n]*)\"|'([^'\n]*)'|`([^`\n]*)`|([^\n]*))",
    re.IGNORECASE,
)


def find_task(texts):
    """Return (file, content) from the last 'create FILE containing TEXT'."""
    found = None
    for text in texts:
        for m in TASK_RE.finditer(text or ""):
            name = m.group(1)
            content = next(g for g in m.group(2, 3, 4, 5) if g is not None)
            if m.group(5) is not None:
                content = content.strip()
                if content.endswith(".") and not content.endswith(".."):
                    content = content[:-1]
                content = content.strip()
            found = (name, content)
    return found


CWD_RES = [
    re.compile(r"<cwd>\s*([^<\n]+?)\s*</cwd>"),
    re.compile(r"Primary working directory:\s*(/[^\n]*)"),
    re.compile(r"Working directory:\s*(/[^\n]*)"),
    re.compile(r"Workspace Directories:\**\s*\n\s*-\s*(/[^\n]*)"),
    re.compile(r"I'm currently working in the directory:\s*(/[^\n]*)"),
    re.compile(r"current working directory[^/\n]*?(/[^\s\n]*)", re.IGNORECASE),
]


def find_cwd(texts):
    for rx in CWD_RES:
        for text in texts:
            m = rx.search(text or "")
            if m:
                path = m.group(1).strip().rstrip(".").strip("`'\"")
                if path.startswith("/"):
                    return path
    return None


def target_path(name, texts):
    if name.startswith("/"):
        return name
    cwd = find_cwd(texts) or OPTS.workdir
    return os.path.join(cwd, name)


def schema_example(schema, depth=0):
    """A value that matches a JSON schema (OpenAPI/Gemini or JSON Schema)."""
    if not isinstance(schema, dict) or depth > 20:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return schema_example(schema[key][0], depth + 1)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if str(t).lower() != "null"), typ[0] if typ else None)
    typ = str(typ or "").lower()
    if typ == "object" or (not typ and "properties" in schema):
        props = schema.get("properties") or {}
        out = {}
        for name, sub in props.items():
            out[name] = schema_example(sub, depth + 1)
        return out
    if typ == "array":
        n = schema.get("minItems") or 0
        try:
            n = int(n)
        except (TypeError, ValueError):
            n = 0
        return [schema_example(schema.get("items") or {}, depth + 1) for _ in range(min(n, 5))]
    if typ == "string":
        return "mock"
    if typ in ("integer", "number"):
        value = schema.get("minimum", 1)  # 1 fits "a score from 1-100" too
        if isinstance(schema.get("maximum"), (int, float)) and schema["maximum"] < value:
            value = schema["maximum"]
        return value
    if typ == "boolean":
        return False
    if typ == "null":
        return None
    return "mock"


def sse(events):
    """events: list of (name or None, obj)."""
    out = []
    for name, obj in events:
        if name:
            out.append("event: %s\n" % name)
        out.append("data: %s\n\n" % json.dumps(obj, separators=(",", ":")))
    return "".join(out).encode("utf-8")


# ---------------------------------------------------------------- Anthropic


def anthropic_texts(body):
    texts = []
    for msg in body.get("messages") or []:
        if isinstance(msg, dict) and msg.get("role") == "user":
            texts.append(as_text(msg.get("content")))
    return texts


def anthropic_all_texts(body):
    texts = [as_text(body.get("system"))]
    for msg in body.get("messages") or []:
        if isinstance(msg, dict):
            texts.append(as_text(msg.get("content")))
    return texts


def anthropic_has_tool_result(body):
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict) or not isinstance(msg.get("content"), list):
            continue
        for block in msg["content"]:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                return True
    return False


def anthropic_tool_names(body):
    return [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]


def anthropic_messages(req, body):
    model = body.get("model") or "claude-mock"
    req.info["model"] = model
    tool_result = anthropic_has_tool_result(body)
    req.info["tool_result"] = tool_result
    block = None
    fmt = body.get("output_format") or (body.get("output_config") or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        block = {"type": "text", "text": json.dumps(schema_example(fmt.get("schema")))}
        req.info["reply"] = "json"
    elif not tool_result and "Write" in anthropic_tool_names(body):
        task = find_task(anthropic_texts(body))
        if task:
            path = target_path(task[0], anthropic_all_texts(body))
            block = {
                "type": "tool_use",
                "id": new_id("toolu_mock"),
                "name": "Write",
                "input": {"file_path": path, "content": task[1] + "\n"},
            }
            req.info["reply"] = "tool:Write " + path
    if block is None:
        if "Write" in anthropic_tool_names(body):
            text = FINAL_TEXT if tool_result else NO_TASK_TEXT
        else:
            text = "mock"
        block = {"type": "text", "text": text}
        req.info["reply"] = "text"
    stop = "tool_use" if block["type"] == "tool_use" else "end_turn"
    msg_id = new_id("msg_mock")
    usage = {"input_tokens": 10, "output_tokens": 5,
             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    if not body.get("stream"):
        return req.send_json(200, {
            "id": msg_id, "type": "message", "role": "assistant", "model": model,
            "content": [block], "stop_reason": stop, "stop_sequence": None,
            "usage": usage})
    if block["type"] == "tool_use":
        start = dict(block, input={})
        delta = {"type": "input_json_delta",
                 "partial_json": json.dumps(block["input"])}
    else:
        start = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    events = [
        ("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": dict(usage, output_tokens=1)}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": start}),
        ("ping", {"type": "ping"}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": 5}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return req.send_body(200, "text/event-stream", sse(events))


def anthropic_count_tokens(req, body):
    req.info["model"] = body.get("model")
    n = max(1, len(json.dumps(body)) // 4)
    return req.send_json(200, {"input_tokens": n})


# ---------------------------------------------------------------- OpenAI


def openai_items(body):
    items = body.get("input")
    if isinstance(items, str):
        return [{"type": "message", "role": "user", "content": items}]
    return [i for i in items or [] if isinstance(i, dict)]


def openai_texts(body, role="user"):
    texts = []
    for item in openai_items(body):
        if item.get("type", "message") == "message" and item.get("role") == role:
            texts.append(as_text(item.get("content")))
    return texts


def openai_has_tool_result(body):
    for item in openai_items(body):
        if item.get("type") in ("function_call_output", "custom_tool_call_output",
                                "local_shell_call_output", "mcp_tool_call_output"):
            return True
    return False


def openai_tools(body):
    """name -> type of every tool offered, top level or in additional_tools."""
    tools = {}

    def add(lst, depth=0):
        for t in lst or []:
            if not isinstance(t, dict) or depth > 5:
                continue
            if t.get("type") == "namespace":
                add(t.get("tools"), depth + 1)
                continue
            name = t.get("name") or (t.get("function") or {}).get("name") or t.get("type")
            tools.setdefault(name, t.get("type"))

    add(body.get("tools"))
    for item in openai_items(body):
        if item.get("type") == "additional_tools":
            add(item.get("tools"))
    return tools


def apply_patch_text(name, content):
    lines = content.split("\n")
    return ("*** Begin Patch\n*** Add File: %s\n" % name
            + "".join("+%s\n" % line for line in lines)
            + "*** End Patch\n")


def openai_write_call(tools, path, content):
    """The output item that makes Codex write CONTENT to PATH."""
    patch = apply_patch_text(path, content)
    call_id = new_id("call_mock")
    if tools.get("exec") == "custom":
        # code mode: a freeform JavaScript `exec` calling the nested tools
        return {"type": "custom_tool_call", "id": new_id("ctc_mock"),
                "call_id": call_id, "name": "exec", "status": "completed",
                "input": "await tools.apply_patch(%s);\n" % json.dumps(patch)}
    if tools.get("apply_patch") == "custom":
        return {"type": "custom_tool_call", "id": new_id("ctc_mock"),
                "call_id": call_id, "name": "apply_patch", "status": "completed",
                "input": patch}
    script = "printf '%%s\\n' %s > %s" % (shell_quote(content), shell_quote(path))
    if tools.get("exec_command") == "function":
        name, args = "exec_command", {"cmd": script}
    elif tools.get("shell_command") == "function":
        name, args = "shell_command", {"command": script}
    elif tools.get("shell") == "function":
        name, args = "shell", {"command": ["bash", "-lc", script]}
    else:
        return None
    return {"type": "function_call", "id": new_id("fc_mock"), "call_id": call_id,
            "name": name, "status": "completed", "arguments": json.dumps(args)}


def openai_responses(req, body):
    model = body.get("model") or "gpt-mock"
    req.info["model"] = model
    tool_result = openai_has_tool_result(body)
    req.info["tool_result"] = tool_result
    tools = openai_tools(body)
    item = None
    if not tool_result:
        task = find_task(openai_texts(body))
        if task:
            texts = openai_texts(body) + openai_texts(body, "developer") + [
                as_text(body.get("instructions"))]
            path = target_path(task[0], texts)
            item = openai_write_call(tools, path, task[1])
            if item is not None:
                req.info["reply"] = "tool:%s %s" % (item["name"], path)
    if item is None:
        fmt = body.get("text") if isinstance(body.get("text"), dict) else {}
        fmt = fmt.get("format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            text = json.dumps(schema_example(fmt.get("schema")))  # --output-schema
            req.info["reply"] = "json"
        else:
            text = FINAL_TEXT if tool_result else NO_TASK_TEXT
            req.info["reply"] = "text"
        item = {"type": "message", "id": new_id("msg_mock"), "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}
    resp_id = new_id("resp_mock")
    now = int(time.time())
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 15}
    base = {"id": resp_id, "object": "response", "created_at": now, "model": model}
    if not body.get("stream"):
        return req.send_json(200, dict(base, status="completed", output=[item],
                                       usage=usage))
    seq = [0]

    def ev(name, obj):
        obj = dict(obj, type=name, sequence_number=seq[0])
        seq[0] += 1
        return (name, obj)

    events = [
        ev("response.created", {"response": dict(base, status="in_progress", output=[])}),
        ev("response.in_progress", {"response": dict(base, status="in_progress", output=[])}),
        ev("response.output_item.added", {"output_index": 0,
                                          "item": dict(item, status="in_progress")}),
    ]
    if item["type"] == "message":
        events.append(ev("response.output_text.delta", {
            "item_id": item["id"], "output_index": 0, "content_index": 0,
            "delta": item["content"][0]["text"]}))
    events += [
        ev("response.output_item.done", {"output_index": 0, "item": item}),
        ev("response.completed", {"response": dict(base, status="completed",
                                                   output=[item], usage=usage)}),
    ]
    return req.send_body(200, "text/event-stream", sse(events))


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def openai_models(req):
    return req.send_json(200, {
        "object": "list",
        "data": [{"id": "gpt-mock", "object": "model", "created": 0, "owned_by": "mock"}],
        "models": []})


# ---------------------------------------------------------------- Gemini


def gemini_texts(body, role="user"):
    texts = []
    for c in body.get("contents") or []:
        if isinstance(c, dict) and c.get("role", "user") == role:
            for p in c.get("parts") or []:
                if isinstance(p, dict) and isinstance(p.get("text"), str):
                    texts.append(p["text"])
    return texts


def gemini_has_tool_result(body):
    for c in body.get("contents") or []:
        for p in (c.get("parts") if isinstance(c, dict) else None) or []:
            if isinstance(p, dict) and "functionResponse" in p:
                return True
    return False


def gemini_tool_names(body):
    names = []
    for t in body.get("tools") or []:
        if isinstance(t, dict):
            for f in t.get("functionDeclarations") or []:
                if isinstance(f, dict):
                    names.append(f.get("name"))
    return names


def gemini_schema(body):
    cfg = body.get("generationConfig") or body.get("generation_config") or {}
    for key in ("responseJsonSchema", "responseSchema", "response_json_schema",
                "response_schema"):
        if isinstance(cfg.get(key), dict):
            return cfg[key]
    if cfg.get("responseMimeType") == "application/json":
        return {}
    return None


def gemini_generate(req, body, model, stream):
    req.info["model"] = model
    tool_result = gemini_has_tool_result(body)
    req.info["tool_result"] = tool_result
    schema = gemini_schema(body)
    part = None
    if schema is not None:
        part = {"text": json.dumps(schema_example(schema) if schema else {})}
        req.info["reply"] = "json"
    elif not tool_result and "write_file" in gemini_tool_names(body):
        task = find_task(gemini_texts(body))
        if task:
            texts = gemini_texts(body) + [as_text(
                (body.get("systemInstruction") or {}).get("parts"))]
            path = target_path(task[0], texts)
            part = {"functionCall": {"name": "write_file",
                                     "args": {"file_path": path,
                                              "content": task[1] + "\n"}}}
            req.info["reply"] = "tool:write_file " + path
    if part is None:
        if "write_file" in gemini_tool_names(body):
            text = FINAL_TEXT if tool_result else NO_TASK_TEXT
        else:
            text = "mock"
        part = {"text": text}
        req.info["reply"] = "text"
    resp = {
        "candidates": [{"content": {"role": "model", "parts": [part]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                          "totalTokenCount": 15},
        "modelVersion": model,
        "responseId": new_id("mock"),
    }
    if stream:
        return req.send_body(200, "text/event-stream", sse([(None, resp)]))
    return req.send_json(200, resp)


def gemini_count_tokens(req, body, model):
    req.info["model"] = model
    return req.send_json(200, {"totalTokens": max(1, len(json.dumps(body)) // 4)})


# ---------------------------------------------------------------- server

AUTH_HEADERS = ("x-api-key", "authorization", "x-goog-api-key", "api-key")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300  # idle keep-alive connections are dropped after this

    def version_string(self):
        return "mock-api"

    def log_message(self, fmt, *args):  # the JSON log replaces stderr lines
        pass

    # -- responses
    def send_body(self, status, ctype, data, extra=None):
        self.info["status"] = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status, obj, extra=None):
        data = json.dumps(obj).encode("utf-8")
        self.send_body(status, "application/json", data, extra)

    def send_error_json(self, status, message, vendor=None, extra=None):
        vendor = vendor or self.info.get("vendor")
        if vendor == "anthropic":
            obj = {"type": "error", "error": {"type": "not_found_error"
                                              if status == 404 else "invalid_request_error",
                                              "message": message}}
        elif vendor == "gemini":
            obj = {"error": {"code": status, "message": message,
                             "status": "NOT_FOUND" if status == 404 else "INVALID_ARGUMENT"}}
        else:
            obj = {"error": {"message": message, "type": "invalid_request_error",
                             "code": None}}
        self.info["error"] = message
        self.send_json(status, obj, extra)

    # -- request parsing
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            data = b""
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    raise ConnectionResetError("short body")
                data += chunk
                self.rfile.readline(65537)
                if len(data) > MAX_BODY:
                    raise ValueError("body too large")
        else:
            n = int(self.headers.get("Content-Length") or 0)
            if n < 0 or n > MAX_BODY:
                self.close_connection = True
                raise ValueError("bad Content-Length")
            data = self.rfile.read(n) if n else b""
            if len(data) < n:
                raise ConnectionResetError("short body")
        enc = (self.headers.get("Content-Encoding") or "identity").lower()
        if enc in ("gzip", "x-gzip"):
            data = zlib.decompress(data, 16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            data = zlib.decompress(data)
        elif enc not in ("identity", ""):
            raise ValueError("unsupported Content-Encoding " + enc)
        return data

    def auth_info(self):
        for name in AUTH_HEADERS:
            value = self.headers.get(name)
            if value is not None:
                if name == "authorization":
                    parts = value.split(None, 1)
                    if len(parts) == 2 and parts[0].lower() in ("bearer", "basic"):
                        value = parts[1]
                self.info["auth_header"] = name
                self.info["auth_sha256"] = sha256_hex(value.strip())
                return
        key = urllib.parse.parse_qs(self.query).get("key")
        if key:
            self.info["auth_header"] = "query:key"
            self.info["auth_sha256"] = sha256_hex(key[0])

    def start_info(self, t0):
        """The log record; path split into route and query, key= hidden."""
        self.route, self.query = "", ""
        raw = getattr(self, "path", None) or ""
        path = None
        try:
            split = urllib.parse.urlsplit(raw)
            self.route, self.query = split.path, split.query
            path = self.route
            if self.query:
                q = urllib.parse.parse_qsl(self.query, keep_blank_values=True)
                q = [(k, "REDACTED" if k.lower() in ("key", "api_key", "api-key") else v)
                     for k, v in q]
                path += "?" + urllib.parse.urlencode(q)
        except ValueError:
            path = "(unparsable)"
        self.info = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0))
            + ".%03dZ" % int((t0 % 1) * 1000),
            "method": getattr(self, "command", None),
            "path": path[:2000] if path else path,
            "vendor": vendor_of(self.route),
            "auth_header": None,
            "auth_sha256": None,
            "model": None,
            "tool_result": False,
        }

    def send_error(self, code, message=None, explain=None):
        """Protocol errors found by http.server (bad request line, header
        too long, ...): a JSON answer and a log line like any other."""
        t0 = time.time()
        self.start_info(t0)
        self.info["status"] = code
        # the message may quote the raw request line: hide any key= value
        self.info["error"] = re.sub(r"(?i)(key=)[^&\s'\"]*", r"\1REDACTED",
                                    message or "protocol error")
        self.close_connection = True
        try:
            data = json.dumps({"error": {"code": code, "message": self.info["error"]}}).encode()
            self.send_response(code, self.info["error"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(data)
        except OSError:
            pass
        self.info["ms"] = int((time.time() - t0) * 1000)
        write_log(self.info)

    def handle_any(self):
        t0 = time.time()
        self.start_info(t0)
        try:
            self.auth_info()
            ua = self.headers.get("User-Agent")
            if ua:
                self.info["user_agent"] = ua[:200]
            body = None
            if self.command in ("POST", "PUT", "PATCH"):
                raw = self.read_body()
                self.info["bytes"] = len(raw)
                if raw:
                    try:
                        body = json.loads(raw.decode("utf-8"))
                    except (UnicodeDecodeError, ValueError):
                        body = None
                        self.info["bad_json"] = True
                dump(self, raw)
            self.route_request(body)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
            self.info["error"] = "client went away"
        except Exception as exc:  # never crash on bad input
            self.info["error"] = "%s: %s" % (type(exc).__name__, exc)
            self.close_connection = True
            try:
                if "status" not in self.info:
                    self.send_error_json(400, "bad request: %s: %s"
                                         % (type(exc).__name__, str(exc)[:200]))
            except Exception:
                pass
        self.info["ms"] = int((time.time() - t0) * 1000)
        write_log(self.info)

    def route_request(self, body):
        path, method = self.route, self.command
        if self.headers.get("Upgrade", "").lower() == "websocket":
            # Codex tries a WebSocket first; refuse at once so it uses HTTP.
            self.info["websocket"] = True
            return self.send_error_json(426, "websocket not supported by mock; use HTTP")
        json_ok = isinstance(body, dict)
        if method == "HEAD" or (method == "GET" and path in ("/", "/api/hello")):
            if path in ("/api/hello", "/", "/v1/messages", "/v1/responses"):
                return self.send_body(200, "text/plain", b"")
        if method == "POST" and path in ("/v1/messages", "/messages"):
            return anthropic_messages(self, body) if json_ok else self.bad_json()
        if method == "POST" and path in ("/v1/messages/count_tokens",
                                         "/messages/count_tokens"):
            return anthropic_count_tokens(self, body) if json_ok else self.bad_json()
        if method == "POST" and path in ("/v1/responses", "/responses"):
            return openai_responses(self, body) if json_ok else self.bad_json()
        if method == "GET" and path in ("/v1/models", "/models"):
            return openai_models(self)
        m = re.match(r"^/(v1beta|v1|v1alpha)/models/([^/:]+):([A-Za-z]+)$", path)
        if m and method == "POST":
            model, verb = m.group(2), m.group(3)
            if not json_ok:
                return self.bad_json()
            if verb == "generateContent":
                return gemini_generate(self, body, model, False)
            if verb == "streamGenerateContent":
                return gemini_generate(self, body, model, True)
            if verb == "countTokens":
                return gemini_count_tokens(self, body, model)
        m = re.match(r"^/(v1beta|v1|v1alpha)/models/([^/:]+)$", path)
        if m and method == "GET":
            self.info["model"] = m.group(2)
            return self.send_json(200, {"name": "models/" + m.group(2),
                                        "displayName": m.group(2)})
        return self.send_error_json(404, "mock-api: no such endpoint: %s %s"
                                    % (method, path))

    def bad_json(self):
        self.info["bad_json"] = True
        return self.send_error_json(400, "request body is not a JSON object")

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = handle_any


def vendor_of(path):
    if path.startswith("/api/") or path.startswith("/v1/messages") or path == "/messages":
        return "anthropic"
    if path.startswith("/v1beta/") or path.startswith("/v1alpha/") or ":" in path:
        return "gemini"
    if path.startswith("/v1/responses") or path.startswith("/v1/models") or \
            path.startswith("/v1/") or path in ("/responses", "/models"):
        return "openai"
    return None


def write_log(info):
    line = json.dumps(info, sort_keys=False) + "\n"
    with LOG_LOCK:
        try:
            with open(OPTS.log, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError as exc:
            sys.stderr.write("mock-api: cannot write log: %s\n" % exc)


def dump(handler, raw):
    """Debug: keep request bodies (never headers) in --dump DIR."""
    if not OPTS.dump:
        return
    with LOG_LOCK:
        DUMP_SEQ[0] += 1
        n = DUMP_SEQ[0]
    name = "%03d-%s-%s.json" % (n, handler.command,
                                re.sub(r"[^A-Za-z0-9._-]+", "_", handler.route)[:80])
    try:
        with open(os.path.join(OPTS.dump, name), "wb") as f:
            f.write(raw)
    except OSError:
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        pass  # a broken client must not print tracebacks or stop the server


def main(argv=None):
    global OPTS
    ap = argparse.ArgumentParser(description="Mock Anthropic/OpenAI/Gemini API")
    ap.add_argument("--port", type=int, required=True, help="TCP port (0: any free)")
    ap.add_argument("--log", required=True, help="JSON-lines request log (appended)")
    ap.add_argument("--bind", default="127.0.0.1", help="address (default 127.0.0.1)")
    ap.add_argument("--workdir", default="/workspace",
                    help="directory for relative file names when the CLI's "
                         "cwd is not found in the request (default /workspace)")
    ap.add_argument("--dump", help="debug: save each request body in this directory")
    OPTS = ap.parse_args(argv)
    if OPTS.dump:
        os.makedirs(OPTS.dump, exist_ok=True)
    try:
        open(OPTS.log, "a").close()
    except OSError as exc:
        sys.stderr.write("mock-api: cannot open log %s: %s\n" % (OPTS.log, exc))
        return 1

    def stop(signum, frame):
        raise KeyboardInterrupt

    srv = None
    try:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            srv = Server((OPTS.bind, OPTS.port), Handler)
        except (OSError, OverflowError) as exc:
            sys.stderr.write("mock-api: cannot listen on %s:%d: %s\n"
                             % (OPTS.bind, OPTS.port, exc))
            return 1
        sys.stdout.write("mock-api: listening on %d\n" % srv.server_address[1])
        sys.stdout.flush()
        srv.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        if srv is not None:
            srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
