"""Target access for the mm- commands: memory (virtual and physical), system
registers, symbols and argument parsing, all failing with gdb.GdbError.

Physical reads use QEMU's physical-memory mode (`Qqemu.PhyMemMode:1`), which
is global and persistent in the stub: `physical_memory()` always sets it
back to 0, whatever happens inside.
"""
import contextlib

import gdb

import mmdbg_layout as L


def inferior():
    """The inferior, or a clear error when gdb is not attached to QEMU."""
    selected = gdb.selected_inferior()
    if selected.pid == 0:
        raise gdb.GdbError("not connected: `target remote HOST:PORT` first (see gdb/connect.gdb)")
    return selected


def parse_int(text, what="value"):
    """An integer from a number or a gdb expression (`0x1000`, `mm_tasks`, `$x0+8`)."""
    try:
        return int(text, 0)
    except ValueError:
        pass
    try:
        value = gdb.parse_and_eval(text)
        if value.type.strip_typedefs().code in (gdb.TYPE_CODE_ARRAY, gdb.TYPE_CODE_FUNC):
            value = value.address
        return int(value.cast(gdb.lookup_type("unsigned long long"))) & (2**64 - 1)
    except gdb.error as error:
        raise gdb.GdbError("cannot read %s %r: %s" % (what, text, error))


def symbol_address(name):
    """The address of a kernel symbol (from the ELF symbol table)."""
    try:
        return int(gdb.parse_and_eval("(unsigned long long)&%s" % name)) & (2**64 - 1)
    except gdb.error:
        raise gdb.GdbError("symbol %s not found: load the kernel's symbols first "
                           "(`file .build-kernel/kernel.elf`)" % name)


def register(name):
    """A register of the selected frame's CPU by NAME (QEMU numbers system registers in hash order)."""
    inferior()
    try:
        return int(gdb.selected_frame().read_register(name)) & (2**64 - 1)
    except (gdb.error, ValueError) as error:
        raise gdb.GdbError("cannot read register %s: %s" % (name, error))


def write_register(name, value):
    try:
        gdb.execute("set var $%s = %d" % (name, value), to_string=True)
    except gdb.error as error:
        raise gdb.GdbError("cannot write register %s: %s" % (name, error))


def monitor(command):
    """Output of a QEMU monitor command (qRcmd)."""
    try:
        return gdb.execute("monitor " + command, to_string=True)
    except gdb.error as error:
        raise gdb.GdbError("monitor %s failed: %s" % (command, error))


_PHYS_ON = "maint packet Qqemu.PhyMemMode:1"
_PHYS_OFF = "maint packet Qqemu.PhyMemMode:0"


@contextlib.contextmanager
def physical_memory():
    """Memory accesses inside the block use physical addresses."""
    reply = gdb.execute(_PHYS_ON, to_string=True)
    if "OK" not in reply:
        gdb.execute(_PHYS_OFF, to_string=True)
        raise gdb.GdbError("the stub refused physical-memory mode (QEMU's gdbstub is needed): %s"
                           % reply.strip().splitlines()[-1:])
    try:
        yield
    finally:
        gdb.execute(_PHYS_OFF, to_string=True)


def read_memory(address, length, what="memory"):
    """Bytes at `address` in the current addressing mode."""
    try:
        return inferior().read_memory(address, length).tobytes()
    except gdb.MemoryError as error:
        raise gdb.GdbError("cannot read %s at 0x%x (%d bytes): %s" % (what, address, length, error))


def write_memory(address, data):
    try:
        inferior().write_memory(address, data)
    except gdb.MemoryError as error:
        raise gdb.GdbError("cannot write memory at 0x%x: %s" % (address, error))


def read_kernel(address, length, what="kernel memory"):
    """Kernel data at a kernel VA: virtually if the MMU maps it, else through
    the linear map's definition (PA = VA - MM_LINEAR_MAP_BASE), so the views
    also work while the MMU is off or the VA is unmapped."""
    try:
        return inferior().read_memory(address, length).tobytes()
    except gdb.MemoryError:
        if address < L.MM_LINEAR_MAP_BASE:
            raise gdb.GdbError("cannot read %s at 0x%x" % (what, address))
    with physical_memory():
        return read_memory(address - L.MM_LINEAR_MAP_BASE, length, what)


def parse_arguments(argument, command, flags=(), valued=()):
    """Splits a command's argument string the way mmdbg's command language does:
    `--name`, `--name VALUE` or `--name=VALUE`, `--` ends the options, any
    other word is positional. Returns (positionals, {option: value or True});
    an unknown or repeated option, or one missing its value, is a GdbError."""
    words = gdb.string_to_argv(argument)
    positionals, options = [], {}
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            positionals += words[i:]
            break
        if not word.startswith("--") or len(word) == 2:
            positionals.append(word)
            continue
        name, equals, value = word[2:].partition("=")
        if name not in flags and name not in valued:
            raise gdb.GdbError("unknown option --%s (see `help %s`)" % (name, command))
        if name in options:
            raise gdb.GdbError("--%s given twice" % name)
        if name in flags:
            if equals:
                raise gdb.GdbError("--%s takes no value" % name)
            options[name] = True
            continue
        if not equals:
            if i >= len(words):
                raise gdb.GdbError("--%s needs a value (see `help %s`)" % (name, command))
            value = words[i]
            i += 1
        options[name] = value
    return positionals, options


def parse_count(text, option):
    """A count for --last and the like: 1 or more, as mmdbg checks it."""
    count = parse_int(text, "--%s count" % option)
    if count < 1 or count >= 2**63:
        raise gdb.GdbError("--%s must be a count from 1 to %d, got %s" % (option, 2**63 - 1, text))
    return count
