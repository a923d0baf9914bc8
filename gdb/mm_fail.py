"""Breakpoint-based fail-nth: mm-fail SYMBOL --nth N --return V.

A breakpoint on the first instruction of SYMBOL counts calls; on the Nth it
forces an immediate return with V (x0 = V, pc = x30, the AAPCS64 return
register and link register at entry, before any prologue has run) and lets
the kernel go on, so the caller sees the failure (e.g. get_free_page
returning 0 and the kernel printing its OOM marker).
"""
import gdb

import mm_target

_MASK64 = 2**64 - 1


class FailNthBreakpoint(gdb.Breakpoint):
    """Counts calls of one function and fails the Nth."""

    def __init__(self, symbol, nth, value, stop_after):
        self.symbol, self.nth, self.value, self.stop_after = symbol, nth, value & _MASK64, stop_after
        self.calls = 0
        self.injected_at = None
        # `*ADDRESS`, not `SYMBOL`: gdb would put a symbol breakpoint after the
        # prologue, where x30 may already be saved and clobbered.
        super().__init__("*0x%x" % mm_target.symbol_address(symbol), gdb.BP_BREAKPOINT, internal=False)

    def stop(self):
        self.calls += 1
        if self.calls != self.nth:
            return False
        return_address = mm_target.register("x30")
        mm_target.write_register("x0", self.value)
        mm_target.write_register("pc", return_address)
        self.injected_at = return_address
        gdb.write("[mm-fail] %s call #%d: forced return 0x%x to 0x%x\n"
                  % (self.symbol, self.calls, self.value, return_address))
        # Deleting a breakpoint inside its own stop() is not allowed, and the
        # event loop runs while the target is running: disable it now (the
        # target is stopped here) and let the next mm-fail command delete it.
        self.enabled = False
        return self.stop_after

    def describe(self):
        state = ("injected (returned to 0x%x)" % self.injected_at if self.injected_at is not None
                 else "armed, %d calls so far" % self.calls)
        return "%s --nth %d --return 0x%x: %s" % (self.symbol, self.nth, self.value, state)


_armed = []


def _live():
    return [bp for bp in _armed if bp.is_valid()]


def _delete_injected():
    """Deletes breakpoints whose injection happened; returns their descriptions."""
    done = []
    for bp in _live():
        if bp.injected_at is not None:
            done.append(bp.describe())
            bp.delete()
    _armed[:] = _live()
    return done


class FailCommand(gdb.Command):
    """Fail the Nth call of a kernel function by forcing its return value.

Usage: mm-fail SYMBOL --nth N --return V [--stop]
       mm-fail --list
       mm-fail --clear

Sets a breakpoint at SYMBOL's first instruction. Calls 1..N-1 run normally;
on call N the function returns V at once (x0 = V, pc = x30) and the kernel
continues (with --stop, gdb stops there instead). The breakpoint is then
disabled; --list shows every injection and its state, --clear deletes them.
The options are named as in mmdbg's `inject SYMBOL --nth N --return V`.

Example (then `continue`: the third page allocation fails):
  mm-fail get_free_page --nth 3 --return 0"""

    def __init__(self):
        super().__init__("mm-fail", gdb.COMMAND_RUNNING, gdb.COMPLETE_SYMBOL)

    def invoke(self, argument, from_tty):
        args = gdb.string_to_argv(argument)
        if args == ["--list"]:
            for bp in _live():
                gdb.write(bp.describe() + "\n")
            if not _live():
                gdb.write("no fail-nth injections\n")
            return
        if args == ["--clear"]:
            for bp in _live():
                bp.delete()
            del _armed[:]
            return
        _delete_injected()
        symbol, nth, value, stop_after = None, 1, None, False
        i = 0
        while i < len(args):
            word = args[i]
            if word in ("--nth", "--return"):
                if i + 1 >= len(args):
                    raise gdb.GdbError("%s needs a value" % word)
                number = mm_target.parse_int(args[i + 1], word[2:])
                if word == "--nth":
                    if number < 1:
                        raise gdb.GdbError("--nth counts calls from 1, got %d" % number)
                    nth = number
                else:
                    value = number
                i += 2
                continue
            if word == "--stop":
                stop_after = True
            elif word.startswith("-"):
                raise gdb.GdbError("unknown option %s (see `help mm-fail`)" % word)
            elif symbol is None:
                symbol = word
            else:
                raise gdb.GdbError("more than one symbol: %s and %s" % (symbol, word))
            i += 1
        if symbol is None or value is None:
            raise gdb.GdbError("usage: mm-fail SYMBOL --nth N --return V [--stop]")
        bp = FailNthBreakpoint(symbol, nth, value, stop_after)
        _armed.append(bp)
        gdb.write("[mm-fail] armed: %s\n" % bp.describe())


def register_commands():
    FailCommand()
