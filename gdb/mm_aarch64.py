"""AArch64 stage-1 translation (EL1&0 regime): pure decoding and walking.

Architectural state only (TCR_EL1, MAIR_EL1, TTBRn_EL1 and descriptors, names
as in the Arm ARM): nothing here knows our kernel or gdb, so it works on any
AArch64 kernel and runs under plain python3 against synthetic memory.

Tables are read whole through a `read_table(pa, size) -> bytes` callable that
the caller provides (gdb/mm_target.py reads them in QEMU's physical-memory
mode); each table is read once per walk.

    VA (4 KiB granule, 48-bit)   L0 [47:39]  L1 [38:30]  L2 [29:21]  L3 [20:12]  offset [11:0]
    bit 55 selects TTBR1_EL1 (1) or TTBR0_EL1 (0); with TBI the top byte is ignored.
"""
import struct

GRANULE_NAMES = {12: "4K", 14: "16K", 16: "64K"}
_TG0_SHIFT = {0b00: 12, 0b01: 16, 0b10: 14}
_TG1_SHIFT = {0b10: 12, 0b11: 16, 0b01: 14}
_IPS_BITS = {0: 32, 1: 36, 2: 40, 3: 42, 4: 44, 5: 48, 6: 52}
_SIZE_SUFFIXES = ((40, "T"), (30, "G"), (20, "M"), (10, "K"))


class TranslationError(Exception):
    """Why a translation or walk cannot proceed, in one line."""


class UnreadableTable(TranslationError):
    """What a `read_table` callable raises for a table it cannot read (device
    memory, no RAM there): the walk reports it and goes on, as the hardware
    would take a fault there. Anything else it raises ends the walk."""


def bits(value, high, low):
    return (value >> low) & ((1 << (high - low + 1)) - 1)


def size_text(size):
    for shift, suffix in _SIZE_SUFFIXES:
        if size >= (1 << shift) and size % (1 << shift) == 0:
            return "%d%s" % (size >> shift, suffix)
    return "%d" % size


class TranslationControl:
    """TCR_EL1 decoded (the fields a walk needs)."""

    def __init__(self, tcr):
        self.raw = tcr
        self.t0sz = bits(tcr, 5, 0)
        self.epd0 = bool(bits(tcr, 7, 7))
        self.tg0 = bits(tcr, 15, 14)
        self.t1sz = bits(tcr, 21, 16)
        self.epd1 = bool(bits(tcr, 23, 23))
        self.tg1 = bits(tcr, 31, 30)
        self.ips = bits(tcr, 34, 32)
        self.tbi0 = bool(bits(tcr, 37, 37))
        self.tbi1 = bool(bits(tcr, 38, 38))
        self.ha = bool(bits(tcr, 39, 39))
        self.hd = bool(bits(tcr, 40, 40))
        # FEAT_HPDS: APTable, UXNTable and PXNTable are ignored in that half.
        self.hpd0 = bool(bits(tcr, 41, 41))
        self.hpd1 = bool(bits(tcr, 42, 42))
        # IPS values above 52 bits are reserved; the Arm ARM treats them as the
        # largest implemented size, so fall back to 48 bits.
        self.pa_bits = _IPS_BITS.get(self.ips, 48)

    def describe(self):
        return ("TCR_EL1=0x%x: T0SZ=%d TG0=%s EPD0=%d T1SZ=%d TG1=%s EPD1=%d IPS=%d bits TBI0=%d TBI1=%d HA=%d HD=%d"
                % (self.raw, self.t0sz, GRANULE_NAMES.get(_TG0_SHIFT.get(self.tg0), "?"), self.epd0,
                   self.t1sz, GRANULE_NAMES.get(_TG1_SHIFT.get(self.tg1), "?"), self.epd1, self.pa_bits,
                   self.tbi0, self.tbi1, self.ha, self.hd))


def memory_type_name(attr):
    """A MAIR_EL1 attribute byte as a short memory-type name."""
    if attr & 0xF0 == 0:
        return {0x0: "device-nGnRnE", 0x4: "device-nGnRE", 0x8: "device-nGRE",
                0xC: "device-GRE"}.get(attr & 0xF, "device-0x%02x" % attr)

    def cacheability(nibble):
        if nibble == 0x4:
            return "NC"
        if nibble == 0:
            return "unpredictable"
        return {0b00: "WTt", 0b01: "WBt", 0b10: "WT", 0b11: "WB"}[nibble >> 2]

    outer, inner = cacheability(attr >> 4), cacheability(attr & 0xF)
    return "normal-" + inner if outer == inner else "normal-o%s-i%s" % (outer, inner)


class AddressSpace:
    """One half of the EL1&0 regime: where its tables start and their geometry.

    `half` is "ttbr0" (user, low VAs) or "ttbr1" (kernel, high VAs). The table
    address comes from a TTBR (ASID bits [63:48] and CnP excluded) or from any
    table address such as a task's mm.pgd. `sctlr` (SCTLR_EL1) matters for
    WXN only: the walker is used with the MMU on.
    """

    def __init__(self, tcr, half, table_pa, mair=0, name=None, sctlr=0):
        self.tcr = tcr if isinstance(tcr, TranslationControl) else TranslationControl(tcr)
        if half not in ("ttbr0", "ttbr1"):
            raise TranslationError("unknown half %r (ttbr0 or ttbr1)" % half)
        self.half = half
        self.mair = mair
        self.wxn = bool(bits(sctlr, 19, 19))
        if half == "ttbr0":
            granule, txsz, self.disabled, self.tbi, self.hpd = (_TG0_SHIFT.get(self.tcr.tg0), self.tcr.t0sz,
                                                                self.tcr.epd0, self.tcr.tbi0, self.tcr.hpd0)
        else:
            granule, txsz, self.disabled, self.tbi, self.hpd = (_TG1_SHIFT.get(self.tcr.tg1), self.tcr.t1sz,
                                                                self.tcr.epd1, self.tcr.tbi1, self.tcr.hpd1)
        if granule is None:
            raise TranslationError("reserved granule size in TCR_EL1=0x%x for %s" % (self.tcr.raw, half))
        self.granule_shift = granule
        self.stride = granule - 3
        # Below 16 (12 bits with small translation tables) or above 39 the
        # regime is misconfigured; clamp like the hardware does.
        self.txsz = min(max(txsz, 16), 39)
        self.va_bits = 64 - self.txsz
        self.levels = -(-(self.va_bits - granule) // self.stride)
        self.start_level = 4 - self.levels
        top_bits = self.va_bits - granule - self.stride * (self.levels - 1)
        self.top_entries = 1 << top_bits
        # BADDR: a starting table of fewer than eight entries is still 64-byte aligned.
        self.table_pa = table_pa & ((1 << 48) - 1) & ~(max(self.top_entries * 8, 64) - 1) & ~1
        self.name = name or ("TTBR1_EL1" if half == "ttbr1" else "TTBR0_EL1")

    @property
    def granule_name(self):
        return GRANULE_NAMES[self.granule_shift]

    def va_range(self):
        """[low, high) of the VAs this half translates."""
        span = 1 << self.va_bits
        if self.half == "ttbr0":
            return 0, span
        return (1 << 64) - span, 1 << 64

    def level_shift(self, level):
        return self.granule_shift + self.stride * (3 - level)

    def block_allowed(self, level):
        # Without FEAT_LPA/LPA2: 4K has 1G (L1) and 2M (L2) blocks, 16K and
        # 64K only L2 blocks (32M, 512M).
        return level == 2 or (level == 1 and self.granule_shift == 12)

    def oa_mask(self):
        return ((1 << 48) - 1) & ~((1 << self.granule_shift) - 1)

    def describe(self):
        return ("%s table 0x%x, %s granule, %d-bit VA, %d-bit PA, start level %d"
                % (self.name, self.table_pa, self.granule_name, self.va_bits, self.tcr.pa_bits,
                   self.start_level))


SHAREABILITY_NAMES = {0: "NSH", 1: "RES", 2: "OSH", 3: "ISH"}


class Attributes:
    """Effective attributes of a leaf, table-descriptor limits applied.

    Permissions follow the Arm ARM stage-1 EL1&0 tables: AP[2:1] sets read
    and write, APTable limits everything below, EL0 execute needs UXN clear,
    EL1 execute needs PXN clear and the region not writable at EL0; with
    SCTLR_EL1.WXN a writable region executes nowhere.
    """

    __slots__ = ("el1_write", "el0_read", "el0_write", "el1_exec", "el0_exec",
                 "attr_index", "memory_attr", "memory", "shareability", "af", "ng", "ns", "contiguous", "dbm")

    def __init__(self, descriptor, limits, mair, wxn=False):
        ap_table_no_el0, ap_table_read_only, uxn_table, pxn_table, ns_table = limits
        ap = bits(descriptor, 7, 6)
        self.el1_write = not (ap & 0b10) and not ap_table_read_only
        self.el0_read = bool(ap & 0b01) and not ap_table_no_el0
        self.el0_write = self.el0_read and self.el1_write
        wxn_blocks = wxn and self.el1_write
        self.el0_exec = not bits(descriptor, 54, 54) and not uxn_table and not wxn_blocks
        self.el1_exec = not bits(descriptor, 53, 53) and not pxn_table and not self.el0_write and not wxn_blocks
        self.attr_index = bits(descriptor, 4, 2)
        self.memory_attr = bits(mair, self.attr_index * 8 + 7, self.attr_index * 8)
        self.memory = memory_type_name(self.memory_attr)
        self.shareability = bits(descriptor, 9, 8)
        self.af = bool(bits(descriptor, 10, 10))
        self.ng = bool(bits(descriptor, 11, 11))
        self.ns = bool(bits(descriptor, 5, 5)) or ns_table
        self.contiguous = bool(bits(descriptor, 52, 52))
        self.dbm = bool(bits(descriptor, 51, 51))

    def key(self):
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other):
        return isinstance(other, Attributes) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    @property
    def writable(self):
        return self.el1_write or self.el0_write

    @property
    def executable(self):
        return self.el1_exec or self.el0_exec

    @property
    def user(self):
        return self.el0_read or self.el0_exec

    def permissions(self):
        """('rwx', 'r-x') style strings for EL1 and EL0."""
        el1 = "r" + ("w" if self.el1_write else "-") + ("x" if self.el1_exec else "-")
        el0 = (("r" if self.el0_read else "-") + ("w" if self.el0_write else "-")
               + ("x" if self.el0_exec else "-"))
        return el1, el0

    def flags(self):
        """Flag words: shareability, AF, nG, NS, contiguous hint, DBM."""
        words = [{0: "NSH", 1: "SH?", 2: "OSH", 3: "ISH"}[self.shareability]]
        if self.af:
            words.append("AF")
        if self.ng:
            words.append("nG")
        if self.ns:
            words.append("NS")
        if self.contiguous:
            words.append("CONT")
        if self.dbm:
            words.append("DBM")
        return words

    def token(self):
        """All attributes as one space-free token (the --raw format)."""
        el1, el0 = self.permissions()
        return ",".join(["k:" + el1, "u:" + el0, self.memory] + self.flags())

    def text(self):
        el1, el0 = self.permissions()
        return "k:%s u:%s %-13s %s" % (el1, el0, self.memory, " ".join(self.flags()))


NO_LIMITS = (False, False, False, False, False)

# What decides a leaf's attributes, as Inspect's dump compares them: AttrIndx,
# NS, AP, SH, AF, nG (bits 11:2) and DBM, Contiguous, PXN, UXN (54:51). Two
# leaves merge into one run only when these bits and the table limits above
# them are equal (software bits 58:55 are not attributes).
LEAF_ATTRIBUTE_BITS = 0x0FFC | 0xF << 51


def _limits_below(descriptor, limits, hpd=False):
    """Table-descriptor hierarchical attributes, accumulated (with HPD only NSTable)."""
    no_el0, read_only, uxn, pxn, ns = limits
    ns = ns or bool(bits(descriptor, 63, 63))
    if hpd:
        return no_el0, read_only, uxn, pxn, ns
    return (no_el0 or bool(bits(descriptor, 61, 61)), read_only or bool(bits(descriptor, 62, 62)),
            uxn or bool(bits(descriptor, 60, 60)), pxn or bool(bits(descriptor, 59, 59)), ns)


class Step:
    """One level of a translation: the descriptor and what it means."""

    def __init__(self, level, index, entry_pa, descriptor, kind, next_pa=None, attributes=None, problem=None):
        self.level, self.index, self.entry_pa, self.descriptor = level, index, entry_pa, descriptor
        self.kind, self.next_pa, self.attributes, self.problem = kind, next_pa, attributes, problem


class Fault:
    """Why a VA does not translate. `kind` uses Inspect's names: outsideAddressSpace,
    walkDisabled, translation, malformedDescriptor, unreadableTable, accessFlag;
    `level` is None when no table was read."""

    def __init__(self, kind, level, detail):
        self.kind, self.level, self.detail = kind, level, detail

    def text(self):
        where = " at level %d" % self.level if self.level is not None else ""
        return "%s fault%s: %s" % (self.kind, where, self.detail)


class Translation:
    """The answer to one VA: every level's step, the output address when a
    leaf was reached (also with an access-flag fault), and the fault."""

    def __init__(self, va):
        self.va = va
        self.steps = []
        self.pa = self.level = self.size = self.attributes = self.fault = None

    @property
    def mapped(self):
        return self.pa is not None and self.fault is None


class Leaf:
    """A block or page mapping found by a walk."""

    __slots__ = ("va", "size", "pa", "level", "attributes", "descriptor")

    def __init__(self, va, size, pa, level, attributes, descriptor):
        self.va, self.size, self.pa, self.level = va, size, pa, level
        self.attributes, self.descriptor = attributes, descriptor


class Run:
    """Adjacent leaves of one size with equal attribute bits and contiguous
    physical addresses (the same rule as the Inspect library's dump)."""

    __slots__ = ("start", "end", "pa", "attributes", "leaves", "leaf_size", "level")

    def __init__(self, va, size, pa, attributes, level):
        self.start, self.end, self.pa = va, va + size, pa
        self.attributes, self.leaves, self.leaf_size, self.level = attributes, 1, size, level

    def clip(self, va_low, va_high):
        """Cuts the run to [va_low, va_high) (a dump of a VA range shows only that range)."""
        if self.start < va_low:
            self.pa += va_low - self.start
            self.start = va_low
        self.end = min(self.end, va_high)

    def raw_line(self):
        return "0x%x 0x%x 0x%x %s" % (self.start, self.end, self.pa, self.attributes.token())


class Problem:
    """A malformed, reserved, repeated or unreadable table entry: reported, never trusted.

    `kind`: reserved, addressSize, repeatedTable, loop or unreadableTable."""

    def __init__(self, level, va, entry_pa, descriptor, what, kind):
        self.level, self.va, self.entry_pa, self.descriptor, self.what = level, va, entry_pa, descriptor, what
        self.kind = kind

    def text(self):
        return ("L%d entry @0x%x = 0x%016x (VA 0x%x): %s"
                % (self.level, self.entry_pa, self.descriptor, self.va, self.what))


class WalkResult:
    """Everything one walk of an address space found: merged runs, leaf and
    table counts, problem entries, and every leaf when asked for."""

    def __init__(self, keep_leaves):
        self.runs = []
        self.leaves = [] if keep_leaves else None
        self.problems = []
        self.tables = {}        # level -> [table PA]
        self.table_bytes = 0
        self.leaf_counts = {}   # level -> leaves found there

    def add_leaf(self, va, size, pa, level, attributes, descriptor):
        """Leaves must come in VA order. Attributes are interned per walk, so
        `is` compares their descriptor bits and table limits."""
        self.leaf_counts[level] = self.leaf_counts.get(level, 0) + 1
        if self.leaves is not None:
            self.leaves.append(Leaf(va, size, pa, level, attributes, descriptor))
        runs = self.runs
        if runs:
            run = runs[-1]
            if (va == run.end and size == run.leaf_size and pa == run.pa + (run.end - run.start)
                    and attributes is run.attributes):
                run.end += size
                run.leaves += 1
                return
        runs.append(Run(va, size, pa, attributes, level))

    def statistics(self):
        """({level: blocks}, pages)."""
        blocks = {level: count for level, count in self.leaf_counts.items() if level != 3}
        return blocks, self.leaf_counts.get(3, 0)


class TranslationTableWalker:
    """Walks one address space, reading each table once, whole.

    A dump is breadth first, like Inspect's: within one walk a table is
    followed from the first descriptor (in level, then VA order) that names
    it; another descriptor naming it is reported as a repeated table (same
    level) or a loop (another level) and not followed, so hostile tables
    cannot grow the walk to 512^n leaves."""

    def __init__(self, space, read_table):
        self.space = space
        self._read_table = read_table
        self._tables = {}
        # Leaves of one address space share a handful of attribute sets:
        # decode each (attribute bits, table limits) pair once.
        self._attributes = {}

    def attributes(self, descriptor, limits):
        key = (descriptor & LEAF_ATTRIBUTE_BITS, limits)
        found = self._attributes.get(key)
        if found is None:
            found = self._attributes[key] = Attributes(descriptor, limits, self.space.mair, self.space.wxn)
        return found

    def entries(self, level):
        return self.space.top_entries if level == self.space.start_level else 1 << self.space.stride

    def table(self, pa, level):
        """The table's descriptors; raises UnreadableTable when it cannot be read."""
        entries = self.entries(level)
        key = (pa, entries)
        if key not in self._tables:
            data = self._read_table(pa, entries * 8)
            if len(data) != entries * 8:
                raise UnreadableTable("short read of the L%d table at 0x%x (%d of %d bytes)"
                                      % (level, pa, len(data), entries * 8))
            self._tables[key] = struct.unpack("<%dQ" % entries, data)
        return self._tables[key]

    def _classify(self, level, descriptor):
        """('invalid'|'table'|'block'|'page'|'reserved', next/output PA, problem kind, problem)."""
        space = self.space
        if not descriptor & 1:
            return "invalid", None, None, None
        if level == 3 and not descriptor & 2:
            return "reserved", None, "reserved", "reserved descriptor type 0b01 at level 3"
        if level < 3 and not descriptor & 2 and not space.block_allowed(level):
            return "reserved", None, "reserved", "block descriptor not allowed at level %d with a %s granule" % (
                level, space.granule_name)
        oa = descriptor & space.oa_mask()
        if oa >> space.tcr.pa_bits:
            # The architecture raises an Address size fault: the address is not trusted.
            return "reserved", None, "addressSize", (
                "output address 0x%x exceeds the %d-bit PA size (address size fault)" % (oa, space.tcr.pa_bits))
        if descriptor & 2:
            return ("page" if level == 3 else "table"), oa, None, None
        # Bits below the block size are RES0; the hardware ignores them.
        return "block", oa & ~((1 << space.level_shift(level)) - 1), None, None

    def translate(self, va):
        """A Translation: every level's descriptor, decoded, and the fault if any."""
        space = self.space
        result = Translation(va)
        canonical = va
        if space.tbi:
            top = 0xFF if space.half == "ttbr1" else 0x00
            canonical = (va & ((1 << 56) - 1)) | (top << 56)
        low, high = space.va_range()
        if not low <= canonical < high:
            result.fault = Fault("outsideAddressSpace", None, "VA 0x%x is outside %s's range [0x%x, 0x%x)"
                                 % (va, space.name, low, high))
            return result
        if space.disabled:
            result.fault = Fault("walkDisabled", None, "%s walks are disabled (TCR_EL1.EPD%s=1)"
                                 % (space.name, space.half[-1]))
            return result
        table_pa = space.table_pa
        limits = NO_LIMITS
        for level in range(space.start_level, 4):
            shift = space.level_shift(level)
            try:
                entries = self.table(table_pa, level)
            except UnreadableTable as error:
                result.fault = Fault("unreadableTable", level, "table 0x%x cannot be read: %s" % (table_pa, error))
                return result
            index = (canonical >> shift) & (len(entries) - 1)
            descriptor = entries[index]
            kind, next_pa, _, problem = self._classify(level, descriptor)
            step = Step(level, index, table_pa + index * 8, descriptor, kind, next_pa, problem=problem)
            result.steps.append(step)
            if kind == "invalid":
                result.fault = Fault("translation", level, "invalid descriptor 0x%x" % descriptor)
                return result
            if kind == "reserved":
                result.fault = Fault("malformedDescriptor", level, problem)
                return result
            if kind == "table":
                limits = _limits_below(descriptor, limits, space.hpd)
                table_pa = next_pa
                continue
            step.attributes = self.attributes(descriptor, limits)
            result.pa = next_pa | (canonical & ((1 << shift) - 1))
            result.level, result.size, result.attributes = level, 1 << shift, step.attributes
            if not step.attributes.af and not space.tcr.ha:
                result.fault = Fault("accessFlag", level, "AF is clear and TCR_EL1.HA is 0")
            return result
        return result

    def walk(self, va_low=None, va_high=None, accept=None, keep_leaves=False):
        """Walks the address space within [va_low, va_high), breadth first.

        `accept(attributes)` filters leaves before they are merged into runs;
        `keep_leaves` also records every leaf (for checks that need them)."""
        space = self.space
        result = WalkResult(keep_leaves)
        if space.disabled:
            return result
        low, high = space.va_range()
        va_low = low if va_low is None else max(va_low, low)
        va_high = high if va_high is None else min(va_high, high)
        if va_low >= va_high:
            return result
        first_level = {space.table_pa: space.start_level}
        frontier = [(space.table_pa, space.start_level, low, NO_LIMITS)]
        rounds = []
        while frontier:
            # One round is one level: its leaves are all one size and arrive in VA order, so runs
            # form within the round and never continue across rounds (a different leaf size).
            leaves = WalkResult(keep_leaves)
            deeper = []
            for table in frontier:
                self._walk_table(table, va_low, va_high, accept, result, first_level, leaves, deeper)
            rounds.append(leaves)
            frontier = deeper
        result.runs = sorted((run for part in rounds for run in part.runs), key=lambda run: run.start)
        if keep_leaves:
            result.leaves = sorted((leaf for part in rounds for leaf in part.leaves), key=lambda leaf: leaf.va)
        for part in rounds:
            for level, count in part.leaf_counts.items():
                result.leaf_counts[level] = result.leaf_counts.get(level, 0) + count
        return result

    def _walk_table(self, table, va_low, va_high, accept, result, first_level, leaves, deeper):
        """Decodes one table: problems and tables into `result`, leaves into this round's `leaves`,
        the tables to walk next onto `deeper`."""
        table_pa, level, base_va, limits = table
        result.tables.setdefault(level, []).append(table_pa)
        result.table_bytes += self.entries(level) * 8
        try:
            entries = self.table(table_pa, level)
        except UnreadableTable as error:
            result.problems.append(Problem(level, base_va, table_pa, 0, "table cannot be read: %s" % error,
                                           "unreadableTable"))
            return
        span = 1 << self.space.level_shift(level)
        classify, attributes_of, hpd, add_leaf = self._classify, self.attributes, self.space.hpd, leaves.add_leaf
        for index, descriptor in enumerate(entries):
            if not descriptor & 1:
                continue
            va = base_va + index * span
            if va + span <= va_low or va >= va_high:
                continue
            kind, next_pa, problem_kind, problem = classify(level, descriptor)
            if problem:
                result.problems.append(Problem(level, va, table_pa + index * 8, descriptor, problem, problem_kind))
                continue
            if kind == "table":
                seen_at = first_level.get(next_pa)
                if seen_at is not None:
                    if seen_at == level + 1:
                        what, problem_kind = ("L%d table 0x%x is already walked from another descriptor "
                                              "(repeated table, not walked again)" % (level + 1, next_pa)), "repeatedTable"
                    else:
                        what, problem_kind = ("table 0x%x is already an L%d table of this walk (loop, not walked again)"
                                              % (next_pa, seen_at)), "loop"
                    result.problems.append(Problem(level, va, table_pa + index * 8, descriptor, what, problem_kind))
                    continue
                first_level[next_pa] = level + 1
                deeper.append((next_pa, level + 1, va, _limits_below(descriptor, limits, hpd)))
                continue
            attributes = attributes_of(descriptor, limits)
            if accept is None or accept(attributes):
                add_leaf(va, span, next_pa, level, attributes, descriptor)
