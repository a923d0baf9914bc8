#!/usr/bin/env python3
"""A second opinion on `mmdbg dap`: one session driven by an independent DAP
client library (PyPI `dap-python`, module `dap`), whose pydantic models parse
and validate every response and event the adapter sends.

    scripts/dap-second-opinion.py MMDBG KERNEL SOURCE LINE

Launches KERNEL through `MMDBG dap`, sets a breakpoint at SOURCE:LINE, runs to
it, reads the stack, continues to the kernel's exit and disconnects. Prints one
`ok …` line per step; exits 1 with one line on the first problem (2: the
library is missing).
"""
import os
import select
import subprocess
import sys
import time

try:
    import dap
    from pydantic import ValidationError
except ImportError as error:
    print(f"error: the DAP client library is missing ({error}): pip install --user dap-python", file=sys.stderr)
    sys.exit(2)


BODYLESS = {"LaunchDone", "ConfigurationDone", "Disconnected"}

# dap-python 0.5 types StoppedEvent.hitBreakpointIds as strings; the specification says
# integers (debugAdapterProtocol.json: "items": {"type": "integer"}). The field is
# retyped to the specification's type, the one disagreement patched here.
import dap.events
from typing import Optional
dap.events.StoppedEvent.model_fields["hitBreakpointIds"].annotation = Optional[list[int]]
dap.events.StoppedEvent.model_rebuild(force=True)


class BodylessResponse:
    def __init__(self, title):
        self.title = title


def main():
    mmdbg, kernel, source, line = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    adapter = subprocess.Popen([mmdbg, "dap"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        return session(adapter, kernel, source, line)
    finally:
        if adapter.poll() is None:
            adapter.kill()  # its QEMU dies with it (mmdbg's watchdog)
            adapter.wait()


def session(adapter, kernel, source, line):
    client = dap.Client("mmdbg", client_id="dap-python", lines_start_at1=True, columns_start_at1=True, path_format="path")
    received = []

    def pump(until, what, timeout=90.0):
        """Sends what the client queued, feeds the adapter's bytes to the library until `until(message)`."""
        deadline = time.monotonic() + timeout
        while True:
            data = client.send()
            if data:
                adapter.stdin.write(data)
                adapter.stdin.flush()
            for message in received:
                if type(message).__name__ == "ErrorResponse":
                    raise SystemExit(f"error: a request failed while waiting for {what}: {message.message}")
                if until(message):
                    received.remove(message)
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"error: no {what} within {timeout} s")
            ready, _, _ = select.select([adapter.stdout], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(adapter.stdout.fileno(), 65536)
                if not chunk:
                    raise SystemExit(f"error: the adapter closed its output while waiting for {what}: {adapter.stderr.read().decode()[-300:]}")
                feed(chunk)

    def feed(chunk):
        # dap-python 0.5 validates the body of a response that has none by the spec (launch,
        # configurationDone, disconnect) as a whole Response, which cannot pass: those (and only
        # those) are noted as `BodylessResponse(title)` and feeding goes on with the next message.
        messages = client.receive(chunk)
        while True:
            try:
                for message in messages:
                    received.append(message)
                return
            except ValidationError as error:
                if error.title not in BODYLESS:
                    raise SystemExit(f"error: the library rejects a message: {error}")
                received.append(BodylessResponse(error.title))
                messages = client.receive(b"")

    def named(name):
        if name in BODYLESS:
            return lambda m: isinstance(m, BodylessResponse) and m.title == name or type(m).__name__ == name
        return lambda m: type(m).__name__ == name

    capabilities = pump(named("Initialized"), "initialize response")
    print(f"ok initialize: supportsConfigurationDoneRequest={capabilities.supportsConfigurationDoneRequest}")
    client.send_request("launch", {"kernel": kernel, "stopOnEntry": False})
    pump(named("LaunchDone"), "launch response")
    pump(named("InitializedEvent"), "initialized event")
    print("ok launch")
    client.set_breakpoints({"path": source}, [{"line": line}])  # the library serializes plain dicts, not its models
    answer = pump(named("SetBreakpointsResponse"), "setBreakpoints response")
    if not answer.breakpoints[0].verified:
        raise SystemExit(f"error: breakpoint not verified: {answer}")
    print(f"ok setBreakpoints: line {answer.breakpoints[0].line}")
    client.configuration_done()
    pump(named("ConfigurationDone"), "configurationDone response")
    stopped = pump(named("StoppedEvent"), "stopped event")
    if stopped.reason != "breakpoint":
        raise SystemExit(f"error: stopped for {stopped.reason}")
    print(f"ok stopped: {stopped.reason} thread {stopped.threadId}")
    client.stack_trace(thread_id=stopped.threadId)
    trace = pump(named("StackTraceResponse"), "stackTrace response")
    top = trace.stackFrames[0]
    print(f"ok stackTrace: {top.name} line {top.line}")
    if top.line != line:
        raise SystemExit(f"error: top frame at line {top.line}, not {line}")
    client.set_breakpoints({"path": source}, [])
    pump(named("SetBreakpointsResponse"), "setBreakpoints response")
    client.continue_(thread_id=stopped.threadId)
    exited = pump(named("ExitedEvent"), "exited event")
    print(f"ok exited: {exited.exitCode}")
    client.disconnect()
    pump(named("Disconnected"), "disconnect response")
    try:
        status = adapter.wait(timeout=20)
    except subprocess.TimeoutExpired:
        adapter.kill()
        raise SystemExit("error: the adapter did not exit after disconnect")
    print(f"ok disconnect: adapter exit status {status}")
    return 0 if status == 0 and exited.exitCode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
